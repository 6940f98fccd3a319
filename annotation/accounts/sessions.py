"""How long a sign-in lasts: it ends after PREFER_SESSION_IDLE_SECONDS without a request (SESSION_COOKIE_AGE,
pushed forward while the user is active) and PREFER_SESSION_SECONDS after it began, however busy.

Django's SESSION_SAVE_EVERY_REQUEST would give the idle timeout too, at the cost of a session write on every
request (every heartbeat and submission of the annotate page); this writes at most once a minute a user."""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponseBase

SIGNED_IN_AT = "prefer_signed_in_at"
SEEN_AT = "prefer_seen_at"
# How stale the idle clock may get: a session ends idle - this to idle seconds after its last request.
REFRESH_SECONDS = 60.0


def refresh_seconds() -> float:
    # A tenth of a short idle time (tests, strict sites) keeps it accurate to 10%.
    return min(REFRESH_SECONDS, settings.SESSION_COOKIE_AGE / 10)


class SessionIdleMiddleware:
    """Ends a session past its total lifetime; otherwise saves it again (a fresh expiry) once a minute."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        # Only requests that bring a session cookie: token-authenticated API calls load no session here.
        if settings.SESSION_COOKIE_NAME in request.COOKIES and SESSION_KEY in request.session:
            session = request.session
            now = time.time()
            signed_in_at = float(session.setdefault(SIGNED_IN_AT, now))
            if now - signed_in_at > settings.PREFER_SESSION_SECONDS:
                logout(request)  # the session row is deleted; the view sees an anonymous user
            elif now - float(session.get(SEEN_AT, 0.0)) >= refresh_seconds():
                session[SEEN_AT] = now  # modified: SessionMiddleware saves it with a new expiry and cookie
        return self.get_response(request)
