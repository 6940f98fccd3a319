"""Submitting annotations: validated against the comparison, idempotent by client token, counted once."""

import uuid
from dataclasses import dataclass, replace
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from psycopg.errors import UniqueViolation
from psycopg.types.json import Jsonb

from annotation.data.gold import gold_feedback_of, gold_score
from annotation.errors import ApplicationError, Conflict, NotFound
from annotation.feedback.submission import (
    FeedbackRules,
    clean_edits,
    clean_harmless_ranking,
    clean_safety,
    edits_record,
    original_texts,
    scoring_ranking,
)
from annotation.models import Project, Strength
from annotation.prepared import fetchone, json_value
from annotation.queue.leasing import comparison_has_room, task_next

MAX_RATIONALE = 20_000
MAX_TIME_SPENT_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class SubmitResult:
    annotation_id: int
    created: bool
    gold: dict[str, Any] | None = None  # gold items with gold_feedback on: {correct, expected, explanation}


def _parse_ranking(
    ranking: Any, public_to_id: dict[str, int], all_bad: bool, field: str = "ranking"
) -> list[list[int]]:
    if ranking is None or ranking == []:
        # "All bad" is a judgement too: it says how the bad ones compare (all tied, or an order), never
        # a blank vote that stands for a tie nobody chose.
        hint = " (with all_bad too: all responses in one group for a tie)" if all_bad is True else ""
        raise ApplicationError(f"is required: groups of response ids, best first{hint}", field=field)
    if not isinstance(ranking, list) or not all(isinstance(group, list) and group for group in ranking):
        raise ApplicationError("must be a list of non-empty lists of response ids", field=field)
    seen: list[str] = [str(rid) for group in ranking for rid in group]
    unknown = [rid for rid in seen if rid not in public_to_id]
    if unknown:
        raise ApplicationError(f"unknown response id {unknown[0]!r} for this task", field=field)
    if len(seen) != len(set(seen)):
        raise ApplicationError("each response may appear only once", field=field)
    if set(seen) != set(public_to_id):
        raise ApplicationError("must rank every response of the task", field=field)
    return [[public_to_id[str(rid)] for rid in group] for group in ranking]


def _parse_ratings(
    ratings: Any, public_to_id: dict[str, int], axes: set[str], scale_max: int
) -> dict[str, dict[str, int]]:
    if ratings in (None, {}):
        return {}
    if not isinstance(ratings, dict):
        raise ApplicationError("must be an object {response_id: {axis: score}}", field="ratings")
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
            if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= scale_max:
                raise ApplicationError(f"score for {axis} must be an integer 1..{scale_max}", field="ratings")
            clean[axis] = score
        if clean:
            parsed[str(public_to_id[str(rid)])] = clean
    return parsed


def _validate(
    *,
    public_to_id: dict[str, int],
    axes: set[str],
    scale_max: int,
    rules: FeedbackRules,
    ranking: Any,
    strength: Any,
    all_bad: Any,
    ratings: Any,
    rationale: Any,
    time_spent_ms: Any,
    edits: Any,
    safety: Any,
    harmless_ranking: Any,
) -> dict[str, Any]:
    if not isinstance(all_bad, bool):
        raise ApplicationError("must be true or false", field="all_bad")
    parsed_ratings = _parse_ratings(ratings, public_to_id, axes, scale_max)
    if rules.scoring:
        groups = scoring_ranking(
            ranking=ranking, strength=strength, all_bad=all_bad, ratings=parsed_ratings, axes=axes,
            response_id=next(iter(public_to_id.values())),
        )  # fmt: skip
    else:
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
        "ratings": parsed_ratings,
        "rationale": rationale.strip(),
        "time_spent_ms": time_spent_ms,
        "harmless_ranking": clean_harmless_ranking(
            harmless_ranking, rules, lambda value, field: _parse_ranking(value, public_to_id, False, field)
        ),
        "safety": clean_safety(safety, rules, public_to_id),
        "edits": clean_edits(edits, rules, public_to_id, original_texts(list(public_to_id.values()))),
    }


# The submit path runs once per comparison an annotator finishes: a handful of prepared statements.
# 1. Lock the comparison (every capacity change happens under this lock) and read what validation needs.
_LOCK_SQL = """
SELECT c.project_id, c.is_gold, c.annotations_wanted, p.rating_axes, p.rating_scale_max,
       (SELECT json_agg(json_build_array(r.public_id, r.id)) FROM annotation_comparisonitem ci
          JOIN annotation_response r ON r.id = ci.response_id WHERE ci.comparison_id = c.id),
       c.prompt_id, p.responses_per_task, p.allow_edits, p.safety_categories, p.dual_preference
FROM annotation_comparison c JOIN annotation_project p ON p.id = c.project_id
WHERE c.id = %(comparison)s
FOR UPDATE OF c
"""
# 2. A fresh statement after the lock, so that a retry racing its original sees the original's commit.
_STATE_SQL = """
SELECT (SELECT json_build_array(a.id, a.comparison_id) FROM annotation_annotation a
         WHERE a.annotator_id = %(user)s AND a.client_token = %(token)s),
       (SELECT a.id FROM annotation_annotation a
         WHERE a.comparison_id = %(comparison)s AND a.annotator_id = %(user)s AND a.is_live),
       (SELECT json_build_array(s.state, s.leased_until > %(now)s) FROM annotation_assignment s
         WHERE s.comparison_id = %(comparison)s AND s.annotator_id = %(user)s)
"""
_SUPERSEDE_SQL = "UPDATE annotation_annotation SET is_live = false WHERE id = %(id)s RETURNING id"
_INSERT_SQL = """
INSERT INTO annotation_annotation
    (comparison_id, annotator_id, project_id, ranking, strength, all_bad, ratings, rationale, time_spent_ms,
     client_token, supersedes_id, is_live, created_at, edits, safety, harmless_ranking)
VALUES (%(comparison)s, %(user)s, %(project)s, %(ranking)s, %(strength)s, %(all_bad)s, %(ratings)s,
        %(rationale)s, %(time_spent_ms)s, %(token)s, %(supersedes)s, true, %(now)s, '[]'::jsonb, %(safety)s,
        %(harmless_ranking)s)
RETURNING id
"""
_EDITS_SQL = "UPDATE annotation_annotation SET edits = %(edits)s WHERE id = %(id)s RETURNING id"
_SUBMITTED_SQL = """
INSERT INTO annotation_assignment
    (comparison_id, annotator_id, project_id, state, leased_until, skip_reason, created_at, updated_at)
VALUES (%(comparison)s, %(user)s, %(project)s, 'submitted', %(now)s, '', %(now)s, %(now)s)
ON CONFLICT (comparison_id, annotator_id) DO UPDATE
    SET state = 'submitted', leased_until = EXCLUDED.leased_until, updated_at = EXCLUDED.updated_at
RETURNING id
"""
_COUNT_SQL = """
UPDATE annotation_comparison SET
    annotations_received = annotations_received + 1,
    status = CASE WHEN NOT is_gold AND annotations_received + 1 >= annotations_wanted THEN 'complete'
                  ELSE status END,
    completed_at = CASE WHEN NOT is_gold AND annotations_received + 1 >= annotations_wanted THEN %(now)s
                        ELSE completed_at END
WHERE id = %(comparison)s
RETURNING id
"""


def _previous(found: Any, comparison_id: int) -> SubmitResult | None:
    if found is None:
        return None
    annotation_id, found_comparison = json_value(found)
    if found_comparison != comparison_id:
        raise Conflict("This client_token was already used for another task.", field="client_token")
    return SubmitResult(annotation_id=annotation_id, created=False)


def _check_lease(lease: Any, *, comparison_id: int, user_id: int, now: Any) -> None:
    """A first judgement needs this user's lease on the task (DESIGN section 7): live, or expired while
    the task still has room (a slow annotator whose slot nobody took is not turned away). Without one it
    is 409 `no_lease`, whatever the body says: nobody votes on tasks they were never served."""
    state, live = json_value(lease) if lease is not None else (None, False)
    if state == "leased" and live:
        return
    if state not in ("leased", "expired"):
        raise Conflict(
            "You hold no lease on this task: ask for your next task and answer that one.", code="no_lease"
        )
    if not comparison_has_room(comparison_id=comparison_id, user_id=user_id, now=now):
        raise Conflict("This task is already complete and your lease on it has expired.", code="task_full")


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
    edits: Any = None,
    safety: Any = None,
    harmless_ranking: Any = None,
) -> SubmitResult:
    """Record the user's judgement of a comparison. The same client_token returns the first result; a
    second judgement of the same task with a new token is a correction that supersedes the first. A first
    judgement needs the user's lease on the task (409 `no_lease` otherwise, checked before the body)."""
    if not isinstance(client_token, str) or not 1 <= len(client_token) <= 64:
        raise ApplicationError(
            "is required: a string of 1..64 characters, unique per submission", field="client_token"
        )
    with transaction.atomic():
        locked = fetchone(_LOCK_SQL, {"comparison": comparison_id})
        if locked is None:
            raise NotFound("No such task.")
        project_id, is_gold, _wanted, axes, scale_max, items, prompt_id, *feedback = locked
        per_task, allow_edits, categories, dual = feedback
        rules = FeedbackRules(
            responses_per_task=per_task,
            allow_edits=allow_edits,
            categories=frozenset(c["slug"] for c in json_value(categories) or []),
            dual_preference=dual,
        )
        now = timezone.now()
        keys = {"comparison": comparison_id, "user": user.pk, "token": client_token, "now": now}
        found, live_id, lease = fetchone(_STATE_SQL, keys) or (None, None, None)
        previous = _previous(found, comparison_id)
        if previous is not None:
            if is_gold:
                return replace(previous, gold=gold_feedback_of(annotation_id=previous.annotation_id))
            return previous
        if live_id is None:  # a first judgement (a correction replaces the user's own live one)
            _check_lease(lease, comparison_id=comparison_id, user_id=user.pk, now=now)
        fields = _validate(
            public_to_id={str(public): rid for public, rid in json_value(items) or []},
            axes=set(json_value(axes)),
            scale_max=scale_max,
            rules=rules,
            ranking=ranking,
            strength=strength,
            all_bad=all_bad,
            ratings=ratings,
            rationale=rationale,
            time_spent_ms=time_spent_ms,
            edits=edits,
            safety=safety,
            harmless_ranking=harmless_ranking,
        )
        if live_id is not None:
            fetchone(_SUPERSEDE_SQL, {"id": live_id})
        try:
            row = fetchone(
                _INSERT_SQL,
                {
                    **keys,
                    **fields,
                    "project": project_id,
                    "ranking": Jsonb(fields["ranking"]),
                    "ratings": Jsonb(fields["ratings"]),
                    "safety": Jsonb(fields["safety"]),
                    "harmless_ranking": None
                    if fields["harmless_ranking"] is None
                    else Jsonb(fields["harmless_ranking"]),
                    "supersedes": live_id,
                },
            )
        except UniqueViolation as exc:
            raise Conflict("This client_token was already used.", field="client_token") from exc
        assert row is not None
        if fields["edits"]:
            kept = edits_record(
                edits=fields["edits"], annotation_id=row[0], prompt_id=prompt_id, author_id=user.pk
            )
            fetchone(_EDITS_SQL, {"id": row[0], "edits": Jsonb(kept)})
        if live_id is None:  # a correction is not a second vote
            fetchone(_SUBMITTED_SQL, {**keys, "project": project_id})
            fetchone(_COUNT_SQL, keys)
        gold = gold_score(annotation_id=row[0], ranking=fields["ranking"]) if is_gold else None
    return SubmitResult(annotation_id=row[0], created=True, gold=gold)


@dataclass(frozen=True)
class SubmitAndNext:
    result: SubmitResult
    next_task: dict[str, Any] | None  # None: not asked for, or nothing left for this user


def annotation_submit_and_next(
    *,
    comparison_id: int,
    project: Project,
    user: AbstractBaseUser,
    client_token: str,
    want_next: bool,
    ranking: Any = None,
    strength: Any = "",
    all_bad: Any = False,
    ratings: Any = None,
    rationale: Any = "",
    time_spent_ms: Any = 0,
    edits: Any = None,
    safety: Any = None,
    harmless_ranking: Any = None,
) -> SubmitAndNext:
    """Submit the judgement (annotation_submit) and, with want_next, lease the user's next task of the
    project in the same commit: one round trip and one commit fewer per comparison."""
    next_task = None
    with transaction.atomic():
        result = annotation_submit(
            comparison_id=comparison_id,
            user=user,
            client_token=client_token,
            ranking=ranking,
            strength=strength,
            all_bad=all_bad,
            ratings=ratings,
            rationale=rationale,
            time_spent_ms=time_spent_ms,
            edits=edits,
            safety=safety,
            harmless_ranking=harmless_ranking,
        )
        if want_next:
            next_task = task_next(project=project, user=user)
    if want_next and next_task is None:
        # Inside the submission's transaction the lease does not wait for rows others hold for a moment;
        # out of it, it may (this only runs when the queue looked empty).
        next_task = task_next(project=project, user=user)
    return SubmitAndNext(result=result, next_task=next_task)


def new_client_token() -> str:
    return uuid.uuid4().hex
