"""When Postgres is unreachable (a restart, a failover), a request answers a clear 503 with Retry-After
instead of a 500: JSON in the API's error shape for API paths (the annotate page and scripts retry after the
delay with the same client_token, so nothing is lost or counted twice), and for pages a short page that
reloads itself. It is the site's handler500 (config/urls.py), so an outage met anywhere, a view or a
middleware such as the session's, is caught; every other error stays a 500."""

import logging
import sys

from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views.defaults import server_error as django_server_error

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


def _database_down(exception: BaseException | None) -> bool:
    # OperationalError: "connection refused", "server closed the connection unexpectedly", "the database
    # system is starting up"; InterfaceError: a connection already closed under us. psycopg also raises
    # OperationalError for a few statement-level failures (a cancelled query): a usable connection tells
    # those apart from an outage.
    if not isinstance(exception, (OperationalError, InterfaceError)):
        return False
    try:
        return not connections["default"].is_usable()
    except Exception:
        return True


def unavailable_response(request: HttpRequest) -> HttpResponse:
    message = "The database is briefly unavailable; retry in a few seconds. Nothing you sent was lost."
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message, "code": "unavailable"}, status=503)
    else:
        html = render_to_string("unavailable.html", {"retry_after": RETRY_AFTER_SECONDS}, request=None)
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: the exception being handled decides between a 503 (the database is down) and a 500."""
    exception = sys.exc_info()[1]
    if _database_down(exception):
        log.warning("database unavailable for %s %s: %s", request.method, request.path, exception)
        for connection in connections.all(initialized_only=True):
            connection.close_if_unusable_or_obsolete()
        return unavailable_response(request)
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Server error.", "code": "server_error"}, status=500)
    return django_server_error(request)
