"""REST endpoints for API tokens (DESIGN section 7): sign in for one, list and revoke your own."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.accounts import serializers as s
from annotation.accounts.tokens import token_create, token_revoke, tokens_for_user
from annotation.errors import ApplicationError
from annotation.models import ApiToken
from annotation.parsers import JSONParser
from annotation.rest import ERRORS, THROTTLED, ScopedThrottle, parse


def _current_token_id(request: Request) -> int | None:
    return request.auth.pk if isinstance(request.auth, ApiToken) else None


class TokenView(APIView):
    """POST: sign in for a new token. DELETE: revoke the token this request carries (a script's logout)."""

    throttle_classes = [ScopedThrottle]
    throttle_scope = "token"
    # Scripts sign in with JSON or with a form post (`curl -d username=...` or `curl -F username=...`).
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def _signing_in(self) -> bool:
        # Everything but DELETE: signing in, and methods the endpoint lacks (a 405, not a 401).
        return getattr(self.request, "method", None) != "DELETE"

    def get_authenticators(self):  # type: ignore[no-untyped-def]
        # Signing in needs no credentials but the body's; revoking needs the token itself.
        return [] if self._signing_in() else super().get_authenticators()

    def get_permissions(self):  # type: ignore[no-untyped-def]
        return [AllowAny()] if self._signing_in() else super().get_permissions()

    @extend_schema(
        request=s.TokenRequestSerializer, responses={200: s.TokenSerializer, 400: ERRORS[400], **THROTTLED}
    )
    def post(self, request: Request) -> Response:
        data = parse(s.TokenRequestSerializer, request.data)
        # The Django request, so that the lockout (django-axes) sees the client and counts the failure.
        user = authenticate(request._request, username=data["username"], password=data["password"])
        if user is None or not user.is_active:
            raise ApplicationError(
                "Unable to log in with these credentials.", field="password", code="bad_login"
            )
        issued = token_create(user=user, name=data["name"], days=data.get("expires_in_days"))
        token = issued.token
        return Response(
            {"token": issued.key, "id": token.pk, "name": token.name, "expires_at": token.expires_at}
        )

    @extend_schema(request=None, responses={204: None, 400: ERRORS[400], **THROTTLED})
    def delete(self, request: Request) -> Response:
        current = _current_token_id(request)
        if current is None:
            raise ApplicationError("This request carries no API token to revoke.", code="no_token")
        token_revoke(user=request.user, token_id=current)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenListView(APIView):
    @extend_schema(responses={200: s.ApiTokenSerializer(many=True)})
    def get(self, request: Request) -> Response:
        tokens = tokens_for_user(user=request.user)
        context = {"current_id": _current_token_id(request)}
        return Response(s.ApiTokenSerializer(tokens, many=True, context=context).data)


class TokenDetailView(APIView):
    @extend_schema(request=None, responses={204: None, 404: ERRORS[404]})
    def delete(self, request: Request, token_id: int) -> Response:
        token_revoke(user=request.user, token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
