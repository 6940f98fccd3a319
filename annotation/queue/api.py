"""REST endpoints of the annotator's loop (DESIGN section 7): next task, submit (optionally with the next
task), skip, heartbeat. Thin doors: parse input, call one service or selector, render."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.access import comparison_for_user, project_for_user
from annotation.queue import serializers as s
from annotation.queue.leasing import task_heartbeat, task_next, task_skip
from annotation.queue.submission import annotation_submit_and_next
from annotation.rest import ERRORS, ErrorSerializer, ScopedThrottle, parse


class TaskNextView(APIView):
    @extend_schema(
        request=None,
        responses={200: s.TaskSerializer, 204: OpenApiResponse(description="Nothing left for you"), **ERRORS},
    )
    def post(self, request: Request, slug: str) -> Response:
        project, _ = project_for_user(user=request.user, slug=slug)
        task = task_next(project=project, user=request.user)
        if task is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(task)


class AnnotationCreateView(APIView):
    # Per user (REST_FRAMEWORK's "submit" rate, PREFER_SUBMIT_RATE): far above a person's pace, far below a
    # script's.
    throttle_classes = [ScopedThrottle]
    throttle_scope = "submit"

    @extend_schema(
        request=s.AnnotationRequestSerializer,
        parameters=[OpenApiParameter("next", bool, description="Also lease and return the next task")],
        responses={
            201: s.AnnotationResultSerializer,
            200: OpenApiResponse(
                s.AnnotationResultSerializer, description="Same client_token: the first result"
            ),
            409: OpenApiResponse(
                ErrorSerializer,
                description="`no_lease`: you hold no lease on this task; `task_full`: your lease expired "
                "and the task is complete",
            ),
            429: OpenApiResponse(ErrorSerializer, description="Too many submissions: wait and retry"),
            **ERRORS,
        },
    )
    def post(self, request: Request, task_id: int) -> Response:
        comparison = comparison_for_user(user=request.user, comparison_id=task_id)
        data = parse(s.AnnotationRequestSerializer, request.data)
        want_next = request.query_params.get("next") in {"1", "true", "yes"}
        outcome = annotation_submit_and_next(
            comparison_id=comparison.pk,
            project=comparison.project,
            user=request.user,
            want_next=want_next,
            **data,
        )
        body: dict[str, Any] = {"id": outcome.result.annotation_id}
        if outcome.result.gold is not None:
            body["gold"] = outcome.result.gold
        if want_next:
            body["next"] = outcome.next_task
        return Response(
            body, status=status.HTTP_201_CREATED if outcome.result.created else status.HTTP_200_OK
        )


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
