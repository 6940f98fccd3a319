"""Submitting annotations: validated against the comparison, idempotent by client token, counted once."""

import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from annotation.models import (
    Annotation,
    Assignment,
    AssignmentState,
    Comparison,
    ComparisonItem,
    ComparisonStatus,
    Project,
    Strength,
)
from annotation.services.assignment import comparison_has_room
from annotation.services.errors import ApplicationError, Conflict, NotFound

MAX_RATIONALE = 20_000
MAX_TIME_SPENT_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class SubmitResult:
    annotation_id: int
    created: bool


def _parse_ranking(ranking: Any, public_to_id: dict[str, int], all_bad: bool) -> list[list[int]]:
    if ranking is None or ranking == []:
        if all_bad:
            return [sorted(public_to_id.values())]
        raise ApplicationError("is required: groups of response ids, best first", field="ranking")
    if not isinstance(ranking, list) or not all(isinstance(group, list) and group for group in ranking):
        raise ApplicationError("must be a list of non-empty lists of response ids", field="ranking")
    seen: list[str] = [str(rid) for group in ranking for rid in group]
    unknown = [rid for rid in seen if rid not in public_to_id]
    if unknown:
        raise ApplicationError(f"unknown response id {unknown[0]!r} for this task", field="ranking")
    if len(seen) != len(set(seen)):
        raise ApplicationError("each response may appear only once", field="ranking")
    if set(seen) != set(public_to_id):
        raise ApplicationError("must rank every response of the task", field="ranking")
    return [[public_to_id[str(rid)] for rid in group] for group in ranking]


def _parse_ratings(ratings: Any, public_to_id: dict[str, int], project: Project) -> dict[str, dict[str, int]]:
    if ratings in (None, {}):
        return {}
    if not isinstance(ratings, dict):
        raise ApplicationError("must be an object {response_id: {axis: score}}", field="ratings")
    axes = set(project.rating_axes)
    parsed: dict[str, dict[str, int]] = {}
    for rid, scores in ratings.items():
        if str(rid) not in public_to_id:
            raise ApplicationError(f"unknown response id {rid!r} for this task", field="ratings")
        if not isinstance(scores, dict):
            raise ApplicationError(f"ratings for {rid} must be an object {{axis: score}}", field="ratings")
        clean: dict[str, int] = {}
        for axis, score in scores.items():
            if axis not in axes:
                raise ApplicationError(
                    f"unknown axis {axis!r}; this project rates {sorted(axes)}", field="ratings"
                )
            if (
                isinstance(score, bool)
                or not isinstance(score, int)
                or not 1 <= score <= project.rating_scale_max
            ):
                raise ApplicationError(
                    f"score for {axis} must be an integer 1..{project.rating_scale_max}", field="ratings"
                )
            clean[axis] = score
        if clean:
            parsed[str(public_to_id[str(rid)])] = clean
    return parsed


def _validate(
    *,
    comparison: Comparison,
    ranking: Any,
    strength: Any,
    all_bad: Any,
    ratings: Any,
    rationale: Any,
    time_spent_ms: Any,
) -> dict[str, Any]:
    if not isinstance(all_bad, bool):
        raise ApplicationError("must be true or false", field="all_bad")
    items = list(
        ComparisonItem.objects.filter(comparison=comparison).values_list("response__public_id", "response_id")
    )
    public_to_id = {str(public): rid for public, rid in items}
    groups = _parse_ranking(ranking, public_to_id, all_bad)
    strength = strength or ""
    if strength not in ("", *Strength.values):
        raise ApplicationError(f"must be one of {', '.join(Strength.values)}", field="strength")
    if strength and len(groups[0]) != 1:
        raise ApplicationError("only applies when one response is ranked best (not a tie)", field="strength")
    if not isinstance(rationale, str) or len(rationale) > MAX_RATIONALE or "\x00" in rationale:
        raise ApplicationError(f"must be text of at most {MAX_RATIONALE} characters", field="rationale")
    if (
        isinstance(time_spent_ms, bool)
        or not isinstance(time_spent_ms, int)
        or not 0 <= time_spent_ms <= MAX_TIME_SPENT_MS
    ):
        raise ApplicationError("must be a non-negative integer of milliseconds", field="time_spent_ms")
    return {
        "ranking": groups,
        "strength": strength,
        "all_bad": all_bad,
        "ratings": _parse_ratings(ratings, public_to_id, comparison.project),
        "rationale": rationale.strip(),
        "time_spent_ms": time_spent_ms,
    }


def _existing(user: AbstractBaseUser, client_token: str, comparison_id: int) -> SubmitResult | None:
    found = (
        Annotation.objects.filter(annotator_id=user.pk, client_token=client_token)
        .values_list("id", "comparison_id")
        .first()
    )
    if found is None:
        return None
    if found[1] != comparison_id:
        raise Conflict("This client_token was already used for another task.", field="client_token")
    return SubmitResult(annotation_id=found[0], created=False)


def annotation_submit(
    *,
    comparison_id: int,
    user: AbstractBaseUser,
    client_token: str,
    ranking: Any = None,
    strength: Any = "",
    all_bad: Any = False,
    ratings: Any = None,
    rationale: Any = "",
    time_spent_ms: Any = 0,
) -> SubmitResult:
    """Record the user's judgement of a comparison. The same client_token returns the first result; a
    second judgement of the same task with a new token is a correction that supersedes the first."""
    if not isinstance(client_token, str) or not 1 <= len(client_token) <= 64:
        raise ApplicationError(
            "is required: a string of 1..64 characters, unique per submission", field="client_token"
        )
    with transaction.atomic():
        # Every write that changes a comparison's capacity happens under this row lock.
        comparison = (
            Comparison.objects.select_for_update(of=("self",))
            .select_related("project")
            .filter(pk=comparison_id)
            .first()
        )
        if comparison is None:
            raise NotFound("No such task.")
        # Checked under the lock, so a retry racing its original sees the original's commit.
        previous = _existing(user, client_token, comparison_id)
        if previous is not None:
            return previous
        fields = _validate(
            comparison=comparison,
            ranking=ranking,
            strength=strength,
            all_bad=all_bad,
            ratings=ratings,
            rationale=rationale,
            time_spent_ms=time_spent_ms,
        )
        live = (
            Annotation.objects.select_for_update()
            .filter(comparison=comparison, annotator_id=user.pk, is_live=True)
            .first()
        )
        now = timezone.now()
        if live is None:
            assignment = Assignment.objects.filter(comparison=comparison, annotator_id=user.pk).first()
            holds_live_lease = (
                assignment is not None
                and assignment.state == AssignmentState.LEASED
                and assignment.leased_until > now
            )
            if not holds_live_lease and not comparison_has_room(
                comparison_id=comparison.pk, user_id=user.pk, now=now
            ):
                raise Conflict("This task is already complete and you hold no lease on it.", code="task_full")
        try:
            with transaction.atomic(savepoint=False):
                if live is not None:
                    live.is_live = False
                    live.save(update_fields=["is_live"])
                annotation = Annotation.objects.create(
                    comparison=comparison,
                    annotator_id=user.pk,
                    project_id=comparison.project_id,
                    client_token=client_token,
                    supersedes=live,
                    is_live=True,
                    **fields,
                )
        except IntegrityError as exc:
            raise Conflict("This client_token was already used.", field="client_token") from exc
        if live is None:
            Assignment.objects.update_or_create(
                comparison=comparison,
                annotator_id=user.pk,
                defaults={
                    "state": AssignmentState.SUBMITTED,
                    "project_id": comparison.project_id,
                    "leased_until": now,
                },
            )
            received = comparison.annotations_received + 1
            complete = not comparison.is_gold and received >= comparison.annotations_wanted
            Comparison.objects.filter(pk=comparison.pk).update(
                annotations_received=F("annotations_received") + 1,
                status=ComparisonStatus.COMPLETE if complete else comparison.status,
                completed_at=now if complete else comparison.completed_at,
            )
    return SubmitResult(annotation_id=annotation.pk, created=True)


def new_client_token() -> str:
    return uuid.uuid4().hex
