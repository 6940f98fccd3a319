"""REST endpoints for projects and members (DESIGN section 7). Thin doors: parse input, call one
service or selector, render."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.access import is_site_admin, project_for_user, projects_for_user
from annotation.errors import PermissionDenied
from annotation.models import Role
from annotation.projects import serializers as s
from annotation.projects.services import membership_remove, membership_set, project_create, project_update
from annotation.rest import ERRORS, THROTTLED, ScopedThrottle, parse


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
        data = parse(s.ProjectCreateSerializer, request.data)
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
        data = parse(s.ProjectUpdateSerializer, request.data)
        project = project_update(project=project, **data)
        return Response(s.ProjectSerializer(project, context={"roles": {project.pk: role}}).data)


class MemberListView(APIView):
    # Adding by username tells an admin whether a name exists: bounded, so that it is no way to list users.
    throttle_classes = [ScopedThrottle]
    throttle_scope = "members"

    @extend_schema(responses={200: s.MemberSerializer(many=True), **ERRORS, **THROTTLED})
    def get(self, request: Request, slug: str) -> Response:
        project, _ = project_for_user(user=request.user, slug=slug, min_role=Role.ADMIN)
        members = project.memberships.select_related("user").order_by("user__username")
        return Response(s.MemberSerializer(members, many=True).data)

    @extend_schema(
        request=s.MemberCreateSerializer, responses={201: s.MemberSerializer, **ERRORS, **THROTTLED}
    )
    def post(self, request: Request, slug: str) -> Response:
        project, _ = project_for_user(user=request.user, slug=slug, min_role=Role.ADMIN)
        data = parse(s.MemberCreateSerializer, request.data)
        membership = membership_set(
            project=project, username=data["username"], role=data["role"], by=request.user
        )
        return Response(s.MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


class MemberDetailView(APIView):
    @extend_schema(request=None, responses={204: None, **ERRORS})
    def delete(self, request: Request, slug: str, username: str) -> Response:
        project, _ = project_for_user(user=request.user, slug=slug, min_role=Role.ADMIN)
        membership_remove(project=project, username=username, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
