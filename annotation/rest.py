"""What every domain's REST endpoints share: the error body (every 4xx says what was wrong and, for bad
input, names the field), its schema, and the input-parsing step of a thin door."""

import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
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
# For the endpoints with a rate limit (their throttle_scope) or the login lockout.
THROTTLED = {
    429: OpenApiResponse(ErrorSerializer, description="Too many requests (a rate limit or a login lockout)")
}

_ERROR_BODY = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def document_common_errors(result: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: what every endpoint may answer whatever its view says. 401 where
    the operation needs a login (no credentials, or a token expired or revoked), 404 where the path names an
    object, 415 where it takes a body, all in the error shape (an API path's not-found page is JSON too:
    `api_not_found`); and optional query parameters may be empty."""
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in _HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            if any(requirement for requirement in operation.get("security", [])):
                responses.setdefault(
                    "401", {"content": _ERROR_BODY, "description": "Not signed in, or the token is not valid"}
                )
            if "{" in path:
                responses.setdefault("404", {"content": _ERROR_BODY, "description": "No such object"})
            for parameter in operation.get("parameters", []):
                # DRF reads an empty optional query value (`?since=`, what an HTML form sends) as unset.
                if parameter.get("in") == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
            if "requestBody" in operation:
                responses.setdefault(
                    "415", {"content": _ERROR_BODY, "description": "A body in a media type not listed here"}
                )
    return result


def api_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: an API path that matches no route (`/api/v1/tasks/abc/`) answers in the API's error shape,
    as its clients parse it; every other path gets the site's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return page_not_found(request, exception or Http404())


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
