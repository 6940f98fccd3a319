"""API tokens (issue 14, M5): hashed at rest, expiring, listable and revocable by their owner, revoked by a
password change."""

from datetime import timedelta

from django.utils import timezone
from rest_framework.test import APIClient

from annotation.accounts.tokens import token_create, token_digest, tokens_purge
from annotation.models import ApiToken
from tests.factories import PASSWORD, UserFactory


def sign_in(user, **extra):
    return APIClient().post(
        "/api/v1/auth/token/", {"username": user.username, "password": PASSWORD, **extra}, format="json"
    )


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_the_key_is_shown_once_and_only_its_digest_is_stored(annotator):
    response = sign_in(annotator, name="laptop")
    assert response.status_code == 200, response.json()
    body = response.json()
    key = body["token"]
    assert body["name"] == "laptop" and body["expires_at"]
    stored = ApiToken.objects.get(pk=body["id"])
    assert stored.digest == token_digest(key) and key not in stored.digest
    assert not ApiToken.objects.filter(digest=key).exists()
    assert key.startswith(stored.prefix) and len(stored.prefix) < len(key) // 3
    assert with_token(key).get("/api/v1/projects/").status_code == 200


def test_tokens_expire(annotator, settings):
    settings.PREFER_TOKEN_DAYS = 7
    assert sign_in(annotator, expires_in_days=8).json()["field"] == "expires_in_days"
    issued = token_create(user=annotator, days=1)
    assert with_token(issued.key).get("/api/v1/projects/").status_code == 200
    ApiToken.objects.filter(pk=issued.token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = with_token(issued.key).get("/api/v1/projects/")
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    assert expired["WWW-Authenticate"] == "Token"
    # The reaper's purge removes what expired and nothing else.
    live = token_create(user=annotator, days=1)
    ApiToken.objects.create(
        user=annotator, prefix="x", digest="0" * 64, auth_hash="x", expires_at=timezone.now() - timedelta(1)
    )
    assert tokens_purge() == 1
    assert list(ApiToken.objects.values_list("pk", flat=True)) == [live.token.pk]


def test_a_password_change_revokes_every_older_token(annotator):
    old = token_create(user=annotator)
    annotator.set_password("a-new-long-password")
    annotator.save()
    response = with_token(old.key).get("/api/v1/projects/")
    assert response.status_code == 401 and "password change" in response.json()["detail"]
    assert not ApiToken.objects.filter(pk=old.token.pk).exists()
    fresh = token_create(user=annotator)
    assert with_token(fresh.key).get("/api/v1/projects/").status_code == 200


def test_owners_list_and_revoke_their_own_tokens_only(annotator):
    first = token_create(user=annotator, name="first")
    second = token_create(user=annotator, name="second")
    other = token_create(user=UserFactory(), name="someone else's")
    client = with_token(second.key)
    listed = client.get("/api/v1/auth/tokens/").json()
    assert [(t["name"], t["current"]) for t in listed] == [("second", True), ("first", False)]
    assert all("token" not in t and "digest" not in t for t in listed)

    assert client.delete(f"/api/v1/auth/tokens/{other.token.pk}/").status_code == 404
    assert with_token(other.key).get("/api/v1/projects/").status_code == 200
    assert client.delete(f"/api/v1/auth/tokens/{first.token.pk}/").status_code == 204
    assert with_token(first.key).get("/api/v1/projects/").status_code == 401

    # Logout of a script: the token it carries stops working.
    assert client.delete("/api/v1/auth/token/").status_code == 204
    assert client.get("/api/v1/projects/").status_code == 401
    assert APIClient().get("/api/v1/auth/tokens/").status_code == 401


def test_malformed_headers_are_refused_with_a_reason(annotator):
    for header in ("Token", "Token a b", "Token nope"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        response = client.get("/api/v1/projects/")
        assert response.status_code == 401, header
        assert response.json()["detail"]
