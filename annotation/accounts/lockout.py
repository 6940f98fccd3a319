"""Brute-force protection for every login path (the login page, the admin's, the token endpoint), through
django-axes: a limit per username and a more generous one per client address (a whole office may sit behind
one address), counted over a cool-off window, with a lockout answer that says the same whether or not the user
exists (axes counts failures for any name typed, so a made-up name locks like a real one).

Axes compares one number against one limit: the most failures of any lockout parameter against
AXES_FAILURE_LIMIT. This handler makes that number 1 when any parameter has reached its own limit
(settings PREFER_LOGIN_FAILURES_PER_USERNAME / _PER_ADDRESS) and 0 otherwise, with AXES_FAILURE_LIMIT = 1."""

from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from rest_framework.throttling import BaseThrottle

# The order of AXES_LOCKOUT_PARAMETERS in settings, which `get_user_attempts` follows.
LOCKOUT_PARAMETERS = ["username", "ip_address"]


def failure_limits() -> list[int]:
    return [settings.PREFER_LOGIN_FAILURES_PER_USERNAME, settings.PREFER_LOGIN_FAILURES_PER_ADDRESS]


class LoginLockoutHandler(AxesDatabaseHandler):
    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        counts = [
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        ]
        return int(any(count >= limit for count, limit in zip(counts, failure_limits(), strict=True)))


def client_address(request: HttpRequest) -> str | None:
    """The client's address as the API throttles see it: REMOTE_ADDR, or with NUM_PROXIES trusted proxies
    the address the outermost of them saw (X-Forwarded-For is only believed that far)."""
    return BaseThrottle().get_ident(request) or None  # type: ignore[arg-type]


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """429 with Retry-After; JSON in the API's error shape for API paths, the login page otherwise."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    message = _("Too many failed sign-in attempts. Try again in %(minutes)d minutes.") % {
        "minutes": max(1, seconds // 60)
    }
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message, "code": "locked_out"}, status=429)
    else:
        response = render(request, "login.html", {"lockout_message": message}, status=429)
    response["Retry-After"] = str(seconds)
    return response
