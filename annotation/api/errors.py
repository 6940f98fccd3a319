"""Error bodies of the API: every 4xx says what was wrong and, for bad input, names the field."""

from typing import Any

from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from annotation.services.errors import ApplicationError


def _first_error(detail: Any, path: str = "") -> tuple[str, str]:
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        return _first_error(value, f"{path}.{key}" if path else str(key))
    if isinstance(detail, list) and detail:
        return _first_error(detail[0], path)
    return path or "non_field_errors", str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        body: dict[str, Any] = {"detail": exc.message, "code": exc.code}
        if exc.field:
            body["field"] = exc.field
        body.update(exc.extra)
        return Response(body, status=exc.status)
    if isinstance(exc, exceptions.ValidationError):
        field, message = _first_error(exc.detail)
        return Response(
            {"detail": f"{field}: {message}", "code": "invalid", "field": field, "errors": exc.detail},
            status=400,
        )
    return drf_exception_handler(exc, context)
