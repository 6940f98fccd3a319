"""API tokens: made by signing in, hashed at rest, expiring, revoked by their owner or by a password change.

The keys are 256 random bits, so a fast digest (SHA-256) is as safe as a slow password hasher here and costs
nothing per request; lookups are by digest, never by the key itself."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from annotation.errors import ApplicationError, NotFound
from annotation.models import ApiToken

KEY_PREFIX = "prf_"
# How stale `last_used_at` may get: a write per request would put the token row on every API call's path.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    key: str  # shown once, at creation; only its digest is kept


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _auth_hashes(user: AbstractBaseUser) -> list[str]:
    # The current hash and those under SECRET_KEY_FALLBACKS: rotating the key keeps tokens working until the
    # old key is dropped from the fallbacks, as for sessions.
    return [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]


def token_create(*, user: AbstractBaseUser, name: str = "", days: int | None = None) -> IssuedToken:
    """A new token for this user, valid for `days` (at most PREFER_TOKEN_DAYS)."""
    longest = settings.PREFER_TOKEN_DAYS
    days = longest if days is None else days
    if not 1 <= days <= longest:
        raise ApplicationError(f"must be between 1 and {longest} days.", field="expires_in_days")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=key[: len(KEY_PREFIX) + 4],
            digest=token_digest(key),
            auth_hash=user.get_session_auth_hash(),
            expires_at=timezone.now() + timedelta(days=days),
        )
    return IssuedToken(token=token, key=key)


def token_check(*, key: str) -> ApiToken:
    """The live token with this key, or an ApplicationError (401) saying why it is not."""
    token = ApiToken.objects.select_related("user").filter(digest=token_digest(key)).first()
    if token is None:
        raise ApplicationError("Invalid token.", code="bad_token", status=401)
    now = timezone.now()
    if token.expires_at <= now:
        token.delete()
        raise ApplicationError("Token expired: ask for a new one.", code="token_expired", status=401)
    if not token.user.is_active:
        raise ApplicationError("User inactive or deleted.", code="bad_token", status=401)
    if not any(constant_time_compare(token.auth_hash, h) for h in _auth_hashes(token.user)):
        token.delete()
        raise ApplicationError(
            "Token revoked by a password change: ask for a new one.", code="token_revoked", status=401
        )
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def tokens_for_user(*, user: AbstractBaseUser) -> QuerySet[ApiToken]:
    """This user's tokens that still work, newest first."""
    tokens = ApiToken.objects.filter(user=user, expires_at__gt=timezone.now()).order_by("-created_at")
    return tokens.filter(auth_hash__in=_auth_hashes(user))


def token_revoke(*, user: AbstractBaseUser, token_id: int) -> None:
    """Revoke one of this user's own tokens (another's is not found)."""
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    if not deleted:
        raise NotFound("No such token.")


def tokens_purge(*, before: datetime | None = None) -> int:
    """Delete tokens that expired (before `before`, default now); the reaper's housekeeping."""
    deleted, _ = ApiToken.objects.filter(expires_at__lte=before or timezone.now()).delete()
    return deleted
