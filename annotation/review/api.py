"""REST doors of issue 12 (DESIGN section 7): the review queue and verdicts (reviewers and admins), making a
comparison a gold item and clearing an annotator's gold flag (admins). Thin: parse, call one service,
render."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.access import ROLE_RANK, comparison_for_user, project_for_user
from annotation.data.gold import gold_create_from_comparison, gold_flag_clear_by_pseudonym
from annotation.errors import PermissionDenied
from annotation.models import Role
from annotation.rest import ERRORS, ErrorSerializer, parse
from annotation.review import serializers as s
from annotation.review.services import review_next, review_submit


class ReviewNextView(APIView):
    @extend_schema(
        request=None,
        responses={
            200: s.ReviewItemSerializer,
            204: OpenApiResponse(description="Nothing to review"),
            **ERRORS,
        },
        description="Lease the next comparison that needs review. Reviewers and admins.",
    )
    def post(self, request: Request, slug: str) -> Response:
        project, _ = project_for_user(user=request.user, slug=slug, min_role=Role.REVIEWER)
        item = review_next(project=project, reviewer=request.user)
        if item is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(item)


class ReviewCreateView(APIView):
    @extend_schema(
        request=s.ReviewRequestSerializer,
        responses={
            201: s.ReviewResultSerializer,
            200: OpenApiResponse(s.ReviewResultSerializer, description="Same client_token: the first result"),
            409: OpenApiResponse(ErrorSerializer, description="`review_leased`: another reviewer holds it"),
            **ERRORS,
        },
        description="Record a verdict on a comparison (immutable; the latest review decides).",
    )
    def post(self, request: Request, comparison_id: int) -> Response:
        access = comparison_for_user(user=request.user, comparison_id=comparison_id)
        if ROLE_RANK[Role(access.role)] < ROLE_RANK[Role.REVIEWER]:
            raise PermissionDenied("This needs the reviewer role.")
        data = parse(s.ReviewRequestSerializer, request.data)
        result = review_submit(comparison_id=access.pk, reviewer=request.user, **data)
        return Response(
            {"id": result.review_id}, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        )


class GoldCreateView(APIView):
    @extend_schema(
        request=s.GoldRequestSerializer,
        responses={200: s.GoldResultSerializer, **ERRORS},
        description="Make an existing comparison a gold item with this expected answer. Project admins.",
    )
    def post(self, request: Request, comparison_id: int) -> Response:
        access = comparison_for_user(user=request.user, comparison_id=comparison_id)
        if access.role != Role.ADMIN:
            raise PermissionDenied("This needs the admin role.")
        data = parse(s.GoldRequestSerializer, request.data)
        comparison = gold_create_from_comparison(project=access.project, comparison_id=access.pk, **data)
        return Response({"id": comparison.pk, "is_gold": comparison.is_gold})


class AnnotatorFlagClearView(APIView):
    @extend_schema(
        request=None,
        responses={204: None, **ERRORS},
        description="Clear an annotator's gold flag (by pseudonym): their gold record starts again. Admins.",
    )
    def post(self, request: Request, slug: str, annotator: str) -> Response:
        project, _ = project_for_user(user=request.user, slug=slug, min_role=Role.ADMIN)
        gold_flag_clear_by_pseudonym(project=project, pseudonym=annotator, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
