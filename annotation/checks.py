"""Deployment checks of Prefer's own settings (run by `manage.py check --deploy`)."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register

W001 = Warning(
    "PREFER_PSEUDONYM_KEY is not set, so annotator pseudonyms are derived from SECRET_KEY: rotating "
    "SECRET_KEY would silently change every pseudonym in exports and stats.",
    hint="Set PREFER_PSEUDONYM_KEY to a long random value and keep it when SECRET_KEY is rotated.",
    id="prefer.W001",
)


@register(Tags.security, deploy=True)
def check_pseudonym_key(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Warn when pseudonyms would follow SECRET_KEY (annotation/data/pseudonyms.py)."""
    return [] if getattr(settings, "PREFER_PSEUDONYM_KEY", "") else [W001]
