"""Error bodies of the API: every 4xx names what was wrong."""

from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from annotation.services.errors import ApplicationError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        body: dict[str, Any] = {"detail": exc.message, "code": exc.code}
        if exc.field:
            body["field"] = exc.field
        if exc.extra:
            body.update(exc.extra)
        return Response(body, status=exc.status)
    return drf_exception_handler(exc, context)
