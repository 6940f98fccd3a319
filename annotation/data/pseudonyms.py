"""Annotator pseudonyms for exports and stats: stable across exports, meaningless without the key.

A keyed HMAC (not a plain hash) because user ids are small sequential integers: anyone could hash 1..10^6 and
match. Per project: the same person has unrelated pseudonyms in two projects, so that datasets released from
different projects cannot be joined on the annotator. The key is settings.PREFER_PSEUDONYM_KEY, else one
derived from SECRET_KEY (so rotating SECRET_KEY changes every pseudonym; set PREFER_PSEUDONYM_KEY where
pseudonyms must outlive that)."""

import hashlib
import hmac
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings

PSEUDONYM_PREFIX = "ann_"


@lru_cache(maxsize=8)
def _derive_key(configured: str, secret_key: str) -> bytes:
    if configured:
        return configured.encode()
    # Derived rather than SECRET_KEY itself, so that the key signing sessions never serves a second purpose.
    return hmac.new(secret_key.encode(), b"prefer.annotator-pseudonym.v1", hashlib.sha256).digest()


def _pseudonym_key() -> bytes:
    return _derive_key(getattr(settings, "PREFER_PSEUDONYM_KEY", ""), settings.SECRET_KEY)


@lru_cache(maxsize=65536)
def _pseudonym(key: bytes, project_id: int, user_id: int) -> str:
    digest = hmac.new(key, f"project:{project_id}:user:{user_id}".encode(), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:20]


def annotator_pseudonym(user_id: int, *, project_id: int) -> str:
    """The stable pseudonym of a user in a project: `ann_` + 20 hex digits of
    HMAC-SHA256(key, "project:<project id>:user:<user id>")."""
    return _pseudonym(_pseudonym_key(), int(project_id), int(user_id))


def annotator_pseudonymiser(*, project_id: int) -> Callable[[int], str]:
    """annotator_pseudonym for one project with the key looked up once (for exports that call it per row)."""
    key = _pseudonym_key()
    return lambda user_id: _pseudonym(key, int(project_id), int(user_id))
