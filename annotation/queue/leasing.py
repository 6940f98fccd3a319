"""Leases: which comparison an annotator works on next (the hot path), heartbeat and skip.

The next comparison for user U in project P is an open comparison of P that U has not annotated or
skipped, whose live leases plus received annotations are fewer than it wants: those of the newest training
round first (judging its policy is what closes the loop), then the rest oldest first, with gold items
mixed in at the project's rate. It is taken with SELECT ... FOR UPDATE SKIP LOCKED so that concurrent
annotators pass each other instead of queueing, and every lease is written while its comparison row is
locked: the capacity re-check after locking (a fresh statement, so a fresh snapshot under READ COMMITTED)
sees every lease committed before, which is what keeps the overlap exact under concurrency.
"""

import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from annotation.errors import Conflict, NotFound
from annotation.models import Assignment, AssignmentState, Comparison, Project
from annotation.prepared import fetchone
from annotation.queue.payload import task_payload

MAX_CANDIDATES = 25
LOCKED_RETRIES = 20  # up to ~1 s in all: locks are held for milliseconds, but a busy machine stretches them

# Ordinary items: capacity-limited by overlap. Gold items: every annotator gets each once.
_CANDIDATE_SQL = """
SELECT c.id FROM annotation_comparison c
WHERE c.project_id = %(project)s AND c.status = 'open' AND c.is_gold = %(gold)s
  AND NOT (c.id = ANY(%(excluded)s::bigint[]))
  AND NOT EXISTS (
      SELECT 1 FROM annotation_assignment a
      WHERE a.comparison_id = c.id AND a.annotator_id = %(user)s AND a.state IN ('submitted', 'skipped'))
  AND (c.is_gold OR c.annotations_received + (
      SELECT count(*) FROM annotation_assignment l
      WHERE l.comparison_id = c.id AND l.state = 'leased' AND l.leased_until > %(now)s
        AND l.annotator_id <> %(user)s) < c.annotations_wanted)
ORDER BY c.round_id DESC NULLS LAST, c.id
LIMIT 1
FOR UPDATE OF c SKIP LOCKED
"""
_CANDIDATE_PEEK_SQL = _CANDIDATE_SQL.replace("FOR UPDATE OF c SKIP LOCKED", "")

_HAS_ROOM_SQL = """
SELECT c.status = 'open' AND (c.is_gold OR c.annotations_received + (
    SELECT count(*) FROM annotation_assignment l
    WHERE l.comparison_id = c.id AND l.state = 'leased' AND l.leased_until > %(now)s
      AND l.annotator_id <> %(user)s) < c.annotations_wanted)
FROM annotation_comparison c WHERE c.id = %(comparison)s
"""

_LEASE_SQL = """
INSERT INTO annotation_assignment
    (comparison_id, annotator_id, project_id, state, leased_until, skip_reason, created_at, updated_at)
VALUES (%(comparison)s, %(user)s, %(project)s, 'leased', %(until)s, '', %(now)s, %(now)s)
ON CONFLICT (comparison_id, annotator_id) DO UPDATE
    SET state = 'leased', leased_until = EXCLUDED.leased_until, updated_at = EXCLUDED.updated_at
    WHERE annotation_assignment.state IN ('leased', 'expired')
RETURNING id
"""


@dataclass(frozen=True)
class Lease:
    assignment_id: int
    comparison_id: int
    leased_until: datetime


_LIVE_LEASE_SQL = """
SELECT id, comparison_id, leased_until FROM annotation_assignment
WHERE annotator_id = %(user)s AND project_id = %(project)s AND state = 'leased' AND leased_until > %(now)s
ORDER BY id LIMIT 1
"""


# One lease decision at a time per (project, user): two tabs asking at the same moment would otherwise both
# find no live lease and take two comparisons, one of which blocks a slot until it expires.
_SERIALISE_SQL = (
    "SELECT pg_advisory_xact_lock(hashtextextended('prefer-lease:' || %(project)s || ':' || %(user)s, 0))"
)


def _live_lease(*, user_id: int, project_id: int, now: datetime) -> Lease | None:
    fetchone(_SERIALISE_SQL, {"user": str(user_id), "project": str(project_id)})
    row = fetchone(_LIVE_LEASE_SQL, {"user": user_id, "project": project_id, "now": now})
    return Lease(*row) if row else None


def comparison_has_room(*, comparison_id: int, user_id: int, now: datetime) -> bool:
    """Whether user may still add an annotation to the comparison. Call with the comparison row locked."""
    row = fetchone(_HAS_ROOM_SQL, {"comparison": comparison_id, "user": user_id, "now": now})
    return bool(row and row[0])


def _relax_durability() -> None:
    """A lease is cheap to lose (a crash just hands the task out again), so a transaction that only leases
    does not wait for the WAL flush. Annotations never take this path: their commits stay synchronous."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _take(*, project: Project, user_id: int, gold: bool, now: datetime, wait: bool) -> Lease | None:
    until = now + timedelta(seconds=project.lease_seconds)
    excluded: list[int] = []
    params = {"project": project.pk, "gold": gold, "user": user_id, "now": now}
    locked_retries = 0
    for _ in range(MAX_CANDIDATES):
        row = fetchone(_CANDIDATE_SQL, {**params, "excluded": excluded})
        if row is None:
            # Nothing unlocked. A candidate locked for a moment by another annotator's lease or submission
            # is not "nothing left": look without locking and, if one is there, try again shortly. (No
            # blocking wait, and no wait at all inside a caller's transaction: a submission holds its own
            # comparison's row, and two of those waiting on each other's rows would both come back empty.)
            if (
                wait
                and locked_retries < LOCKED_RETRIES
                and fetchone(_CANDIDATE_PEEK_SQL, {**params, "excluded": excluded})
            ):
                locked_retries += 1
                time.sleep(0.005 * locked_retries)
                continue
            return None
        comparison_id = row[0]
        if not comparison_has_room(comparison_id=comparison_id, user_id=user_id, now=now):
            excluded.append(comparison_id)  # filled by a lease committed after our snapshot
            continue
        leased = fetchone(_LEASE_SQL, {**params, "comparison": comparison_id, "until": until})
        if leased is None:  # submitted or skipped meanwhile by this same user in another tab
            excluded.append(comparison_id)
            continue
        return Lease(assignment_id=leased[0], comparison_id=comparison_id, leased_until=until)
    return None


def task_lease_next(*, project: Project, user: AbstractBaseUser) -> Lease | None:
    """The user's live lease in the project if any, else a newly leased comparison, else None.

    Runs inside the caller's transaction when there is one (submit-and-next shares one commit); there it
    does not wait for candidates that other transactions hold locked, so None may mean "try again after
    your commit" (the caller does)."""
    now = timezone.now()
    lease_only = not connection.in_atomic_block
    with transaction.atomic(savepoint=False):
        if lease_only:
            _relax_durability()
        current = _live_lease(user_id=user.pk, project_id=project.pk, now=now)
        if current is not None:
            return current
        gold_first = project.gold_rate > 0 and random.random() < project.gold_rate
        for gold in (True, False) if gold_first else (False,):
            lease = _take(project=project, user_id=user.pk, gold=gold, now=now, wait=lease_only)
            if lease is not None:
                return lease
    return None


def task_next(*, project: Project, user: AbstractBaseUser) -> dict[str, Any] | None:
    """The user's next task (task_lease_next) as the annotator is shown it, or None when nothing is left."""
    lease = task_lease_next(project=project, user=user)
    if lease is None:
        return None
    return task_payload(comparison_id=lease.comparison_id, leased_until=lease.leased_until, user_id=user.pk)


def _lock_assignment(*, comparison_id: int, user: AbstractBaseUser) -> Assignment:
    assignment = (
        Assignment.objects.select_for_update()
        .select_related("project")
        .filter(comparison_id=comparison_id, annotator_id=user.pk)
        .first()
    )
    if assignment is None:
        raise NotFound("You hold no lease on this task.", code="no_lease")
    return assignment


@transaction.atomic
def task_heartbeat(*, comparison_id: int, user: AbstractBaseUser) -> Lease:
    """Extend the user's lease. An expired lease is renewed only while the task still has room."""
    _relax_durability()
    now = timezone.now()
    Comparison.objects.select_for_update().filter(pk=comparison_id).values_list("id").first()
    assignment = _lock_assignment(comparison_id=comparison_id, user=user)
    if assignment.state != AssignmentState.LEASED and assignment.state != AssignmentState.EXPIRED:
        raise Conflict(f"This task is already {assignment.state}.", code=f"task_{assignment.state}")
    if assignment.leased_until <= now and not comparison_has_room(
        comparison_id=comparison_id, user_id=user.pk, now=now
    ):
        raise Conflict("Your lease expired and the task went to someone else.", code="lease_lost")
    assignment.state = AssignmentState.LEASED
    assignment.leased_until = now + timedelta(seconds=assignment.project.lease_seconds)
    assignment.save(update_fields=["state", "leased_until", "updated_at"])
    return Lease(assignment.pk, comparison_id, assignment.leased_until)


@transaction.atomic
def task_skip(*, comparison_id: int, user: AbstractBaseUser, reason: str = "") -> None:
    """Give the task back; the user is not offered it again."""
    assignment = _lock_assignment(comparison_id=comparison_id, user=user)
    if assignment.state == AssignmentState.SUBMITTED:
        raise Conflict("This task is already submitted.", code="task_submitted")
    assignment.state = AssignmentState.SKIPPED
    assignment.skip_reason = reason[:500]
    assignment.save(update_fields=["state", "skip_reason", "updated_at"])


def leases_expire(*, now: datetime | None = None) -> int:
    """Mark leases past their time as expired (bookkeeping only: the hot path already ignores them)."""
    now = now or timezone.now()
    return Assignment.objects.filter(state=AssignmentState.LEASED, leased_until__lte=now).update(
        state=AssignmentState.EXPIRED, updated_at=now
    )
