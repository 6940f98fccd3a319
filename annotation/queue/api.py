"""REST endpoints of the annotator's loop (DESIGN section 7): next task, submit (optionally with the next
task), skip, heartbeat. Thin doors: parse input, call one service or selector, render."""

from typing import Any

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.access import comparison_for_user, project_for_user
from annotation.queue import serializers as s
from annotation.queue.leasing import task_heartbeat, task_lease_next, task_skip
from annotation.queue.payload import task_payload
from annotation.queue.submission import annotation_submit
from annotation.rest import ERRORS, ErrorSerializer, parse


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
            409: OpenApiResponse(ErrorSerializer, description="Task full and you hold no lease on it"),
            **ERRORS,
        },
    )
    def post(self, request: Request, task_id: int) -> Response:
        comparison = comparison_for_user(user=request.user, comparison_id=task_id)
        data = parse(s.AnnotationRequestSerializer, request.data)
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
        data = parse(s.SkipRequestSerializer, request.data)
        task_skip(comparison_id=comparison.pk, user=request.user, reason=data["reason"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class TaskHeartbeatView(APIView):
    @extend_schema(request=None, responses={200: s.LeaseSerializer, 409: ERRORS[400], **ERRORS})
    def post(self, request: Request, task_id: int) -> Response:
        comparison = comparison_for_user(user=request.user, comparison_id=task_id)
        lease = task_heartbeat(comparison_id=comparison.pk, user=request.user)
        return Response({"id": comparison.pk, "lease_expires_at": lease.leased_until})
