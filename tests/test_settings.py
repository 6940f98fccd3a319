"""Production settings are safe: `check --deploy` is clean, and they refuse to start without a secret."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "PREFER_ENV", "PREFER_PSEUDONYM_KEY"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True
    )


PRODUCTION = {
    "PREFER_ENV": "production",
    "DJANGO_SECRET_KEY": "a-long-random-test-secret-" + "k" * 40,
    "DJANGO_ALLOWED_HOSTS": "prefer.example.org",
}


def test_production_settings_pass_check_deploy():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **PRODUCTION,
        PREFER_PSEUDONYM_KEY="pseudonym-test-key-" + "Qz7" * 12,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_when_pseudonyms_hang_on_the_secret_key():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode != 0
    assert "prefer.W001" in result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage("check", PREFER_ENV="production", DJANGO_ALLOWED_HOSTS="prefer.example.org")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_refuses_published_or_weak_keys():
    hosts = {"PREFER_ENV": "production", "DJANGO_ALLOWED_HOSTS": "prefer.example.org"}
    for key, why in (
        ("change-me-to-a-long-random-string", "is a published placeholder"),  # .env.example's
        ("dev-insecure-key-do-not-use-in-production-" + "x" * 20, "is a published placeholder"),
        ("short-but-random-Qx81", "is too weak"),
        ("a" * 64, "is too weak"),
    ):
        result = run_manage("check", **hosts, DJANGO_SECRET_KEY=key)
        assert result.returncode != 0 and f"DJANGO_SECRET_KEY {why}" in result.stderr
    weak_pseudonyms = run_manage("check", **PRODUCTION, PREFER_PSEUDONYM_KEY="change-me")
    assert weak_pseudonyms.returncode != 0 and "PREFER_PSEUDONYM_KEY is too weak" in weak_pseudonyms.stderr


def test_the_image_runs_production_settings_by_default():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "PREFER_ENV=production" in dockerfile.split("RUN", 1)[0]  # an ENV of the image, not one build step
