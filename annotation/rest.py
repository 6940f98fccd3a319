"""What every domain's REST endpoints share: the error body (every 4xx says what was wrong and, for bad
input, names the field), its schema, and the input-parsing step of a thin door."""

import logging
from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import exception_handler as drf_exception_handler

from annotation.errors import ApplicationError

log = logging.getLogger(__name__)


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


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(required=False)
    field = serializers.CharField(required=False)


def parse(serializer_class: type, data: Any) -> dict[str, Any]:
    """The validated input of a request body or query (a 400 naming the field otherwise)."""
    serializer = serializer_class(data=data)
    if hasattr(data, "keys"):
        # A field the API does not know is an error, never silently dropped (a typo'd setting, a client
        # sending data this version cannot store). Form posts carry Django's CSRF field: not data.
        unknown = sorted(set(data.keys()) - set(serializer.fields) - {"csrfmiddlewaretoken"})
        if unknown:
            known = ", ".join(sorted(serializer.fields))
            raise exceptions.ValidationError({unknown[0]: [f"unknown field; this endpoint takes {known}"]})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# The error responses most endpoints document (their schema entries).
ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid input; `field` names the problem"),
    403: OpenApiResponse(ErrorSerializer, description="Your role does not allow this"),
    404: OpenApiResponse(ErrorSerializer, description="No such object, or not visible to you"),
}


class ScopedThrottle(ScopedRateThrottle):
    """DRF's scoped rate limit (the view's `throttle_scope`, its rate in REST_FRAMEWORK's rates), failing
    open: its counters live in the Redis cache, and nothing an annotator does may depend on Redis (DESIGN
    section 2). With the cache down a request is let through (and logged), never answered 500."""

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception:  # the cache client's connection errors vary by backend; any of them: let it in
            log.warning("rate limit %r not checked: the cache is unavailable", view.throttle_scope)
            return True
