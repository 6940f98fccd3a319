"""REST endpoints (DESIGN section 7). Thin doors: parse input, call one service or selector, render."""

from typing import Any

from django.contrib.auth import authenticate
from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authtoken.models import Token
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from annotation.api import serializers as s
from annotation.models import Role
from annotation.selectors.access import (
    comparison_for_user,
    is_site_admin,
    project_for_user,
    projects_for_user,
)
from annotation.selectors.tasks import task_payload
from annotation.services.annotations import annotation_submit
from annotation.services.assignment import task_heartbeat, task_lease_next, task_skip
from annotation.services.errors import ApplicationError, PermissionDenied
from annotation.services.imports import prompts_import
from annotation.services.projects import membership_set, project_create, project_update

ERRORS = {
    400: OpenApiResponse(s.ErrorSerializer, description="Invalid input; `field` names the problem"),
    403: OpenApiResponse(s.ErrorSerializer, description="Your role does not allow this"),
    404: OpenApiResponse(s.ErrorSerializer, description="No such object, or not visible to you"),
}


def _parse(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class TokenView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    @extend_schema(request=s.TokenRequestSerializer, responses={200: s.TokenSerializer, 400: ERRORS[400]})
    def post(self, request: Request) -> Response:
        data = _parse(s.TokenRequestSerializer, request.data)
        user = authenticate(request._request, username=data["username"], password=data["password"])
        if user is None or not user.is_active:
            raise ApplicationError(
                "Unable to log in with these credentials.", field="password", code="bad_login"
            )
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class ProjectListView(APIView):
    @extend_schema(responses={200: s.ProjectSerializer(many=True)})
    def get(self, request: Request) -> Response:
        projects = list(projects_for_user(user=request.user).select_related("current_policy"))
        roles = {p.pk: p.my_role for p in projects}
        return Response(s.ProjectSerializer(projects, many=True, context={"roles": roles}).data)

    @extend_schema(request=s.ProjectCreateSerializer, responses={201: s.ProjectSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        if not is_site_admin(request.user):
            raise PermissionDenied("Only site admins create projects.")
        data = _parse(s.ProjectCreateSerializer, request.data)
        project = project_create(created_by=request.user, **data)
        return Response(
            s.ProjectSerializer(project, context={"roles": {project.pk: Role.ADMIN}}).data,
            status=status.HTTP_201_CREATED,
        )


class ProjectDetailView(APIView):
    @extend_schema(responses={200: s.ProjectSerializer, 404: ERRORS[404]})
    def get(self, request: Request, slug: str) -> Response:
        project, role = project_for_user(user=request.user, slug=slug)
        return Response(s.ProjectSerializer(project, context={"roles": {project.pk: role}}).data)

    @extend_schema(request=s.ProjectUpdateSerializer, responses={200: s.ProjectSerializer, **ERRORS})
    def patch(self, request: Request, slug: str) -> Response:
        project, role = project_for_user(user=request.user, slug=slug, min_role=Role.ADMIN)
        data = _parse(s.ProjectUpdateSerializer, request.data)
        project = project_update(project=project, **data)
        return Response(s.ProjectSerializer(project, context={"roles": {project.pk: role}}).data)


class MemberListView(APIView):
    @extend_schema(responses={200: s.MemberSerializer(many=True), **ERRORS})
    def get(self, request: Request, slug: str) -> Response:
        project, _ = project_for_user(user=request.user, slug=slug, min_role=Role.ADMIN)
        members = project.memberships.select_related("user").order_by("user__username")
        return Response(s.MemberSerializer(members, many=True).data)

    @extend_schema(request=s.MemberCreateSerializer, responses={201: s.MemberSerializer, **ERRORS})
    def post(self, request: Request, slug: str) -> Response:
        project, _ = project_for_user(user=request.user, slug=slug, min_role=Role.ADMIN)
        data = _parse(s.MemberCreateSerializer, request.data)
        membership = membership_set(project=project, username=data["username"], role=data["role"])
        return Response(s.MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


class PromptImportView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": s.ImportRequestSerializer},
        responses={
            201: s.ImportResultSerializer,
            400: OpenApiResponse(s.ImportErrorsSerializer, description="Every invalid line; nothing written"),
            403: ERRORS[403],
            404: ERRORS[404],
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        project, _ = project_for_user(user=request.user, slug=slug, min_role=Role.ADMIN)
        upload = _parse(s.ImportRequestSerializer, request.data)["file"]
        result = prompts_import(project=project, lines=upload)
        return Response(
            {"created": result.created, "duplicates": result.duplicates, "comparisons": result.comparisons},
            status=status.HTTP_201_CREATED,
        )


def _task_or_none(project: Any, user: Any) -> dict[str, Any] | None:
    lease = task_lease_next(project=project, user=user)
    if lease is None:
        return None
    return task_payload(comparison_id=lease.comparison_id, leased_until=lease.leased_until, user_id=user.pk)


class TaskNextView(APIView):
    @extend_schema(
        request=None,
        responses={200: s.TaskSerializer, 204: OpenApiResponse(description="Nothing left for you"), **ERRORS},
    )
    def post(self, request: Request, slug: str) -> Response:
        project, _ = project_for_user(user=request.user, slug=slug)
        task = _task_or_none(project, request.user)
        if task is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(task)


class AnnotationCreateView(APIView):
    @extend_schema(
        request=s.AnnotationRequestSerializer,
        parameters=[OpenApiParameter("next", bool, description="Also lease and return the next task")],
        responses={
            201: s.AnnotationResultSerializer,
            200: OpenApiResponse(
                s.AnnotationResultSerializer, description="Same client_token: the first result"
            ),
            409: OpenApiResponse(s.ErrorSerializer, description="Task full and you hold no lease on it"),
            **ERRORS,
        },
    )
    def post(self, request: Request, task_id: int) -> Response:
        comparison = comparison_for_user(user=request.user, comparison_id=task_id)
        data = _parse(s.AnnotationRequestSerializer, request.data)
        want_next = request.query_params.get("next") in {"1", "true", "yes"}
        with transaction.atomic():  # submit and lease the next task in one commit
            result = annotation_submit(comparison_id=comparison.pk, user=request.user, **data)
            body: dict[str, Any] = {"id": result.annotation_id}
            if want_next:
                body["next"] = _task_or_none(comparison.project, request.user)
        if want_next and body["next"] is None:
            # Inside the submission's transaction the lease does not wait for rows others hold for a
            # moment; out of it, it may (this only runs when the queue looked empty).
            body["next"] = _task_or_none(comparison.project, request.user)
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class TaskSkipView(APIView):
    @extend_schema(request=s.SkipRequestSerializer, responses={204: None, 409: ERRORS[400], **ERRORS})
    def post(self, request: Request, task_id: int) -> Response:
        comparison = comparison_for_user(user=request.user, comparison_id=task_id)
        data = _parse(s.SkipRequestSerializer, request.data)
        task_skip(comparison_id=comparison.pk, user=request.user, reason=data["reason"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class TaskHeartbeatView(APIView):
    @extend_schema(request=None, responses={200: s.LeaseSerializer, 409: ERRORS[400], **ERRORS})
    def post(self, request: Request, task_id: int) -> Response:
        comparison = comparison_for_user(user=request.user, comparison_id=task_id)
        lease = task_heartbeat(comparison_id=comparison.pk, user=request.user)
        return Response({"id": comparison.pk, "lease_expires_at": lease.leased_until})
