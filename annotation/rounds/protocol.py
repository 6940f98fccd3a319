"""The worker protocol: how the worker running a round (annotation/rounds/runner.py) claims it, proves it is
alive, reports progress, records each stage's products and finishes it.

A claim is a random runner token stored on the round; every later call names it, so a worker that lost the
round (reaped, or taken over after its heartbeat went stale) can no longer write to it. Stages run in order
snapshot -> reward_model -> policy -> generate; each stage's product is recorded as soon as it exists, which
is what makes a re-delivered task resume instead of training twice.
"""

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotation.errors import Conflict
from annotation.models import RoundStage, RoundStatus, TrainingRound
from annotation.rounds.summary import (
    RESUME,
    StageRecord,
    event_add,
    resume_count,
    series_append,
    summary_update,
)

# Overall progress is the stage's share of the round plus its own fraction within that share.
STAGE_SPANS = {
    RoundStage.SNAPSHOT: (0.0, 0.05),
    RoundStage.REWARD_MODEL: (0.05, 0.35),
    RoundStage.POLICY: (0.35, 0.85),
    RoundStage.GENERATE: (0.85, 1.0),
}


def heartbeat_stale_after() -> timedelta:
    return timedelta(seconds=getattr(settings, "PREFER_ROUND_STALE_SECONDS", 120))


def max_resumes() -> int:
    """How often a round may be taken over from a lost worker before it is failed: a stage that kills its
    worker every time (out of memory, a segfault) must not be resumed forever."""
    return int(getattr(settings, "PREFER_ROUND_MAX_RESUMES", 2))


def round_claim(*, round_id: int) -> str | None:
    """Take the round for this worker: returns a runner token, None when the round is finished, or "" when
    another worker holds it with a fresh heartbeat (a duplicate delivery must not train twice)."""
    token = secrets.token_hex(16)
    now = timezone.now()
    with transaction.atomic():
        training_round = TrainingRound.objects.select_for_update().filter(pk=round_id).first()
        if training_round is None or training_round.status not in (RoundStatus.QUEUED, RoundStatus.RUNNING):
            return None
        if (
            training_round.runner
            and training_round.heartbeat_at
            and now - training_round.heartbeat_at < (heartbeat_stale_after())
        ):
            return ""
        resumed = bool(training_round.runner)
        stage = training_round.stage or "first"
        if resumed and resume_count(training_round.metrics) >= max_resumes():
            training_round.status = RoundStatus.FAILED
            training_round.finished_at = now
            training_round.error = (
                f"The worker running this round was lost {max_resumes() + 1} times (last during the {stage} "
                "stage): the stage probably kills its worker (out of memory, a crash), so it was not resumed "
                "again. Nothing partial was registered. Check the worker's log, lower the batch sizes or "
                "model size in the round config, and launch a new round."
            )
            training_round.save(update_fields=["status", "finished_at", "error"])
            return None
        training_round.runner = token
        training_round.heartbeat_at = now
        training_round.status = RoundStatus.RUNNING
        training_round.started_at = training_round.started_at or now
        if resumed:
            event_add(
                training_round.metrics,
                kind=RESUME,
                at=now,
                text=f"resumed after a lost worker at the {stage} stage",
            )
        training_round.save()
    return token


def round_heartbeat(*, round_id: int, runner: str) -> bool:
    """Refresh liveness; returns whether a cancel was requested (False also when we lost the claim)."""
    row = (
        TrainingRound.objects.filter(pk=round_id, runner=runner)
        .values_list("cancel_requested", flat=True)
        .first()
    )
    TrainingRound.objects.filter(pk=round_id, runner=runner).update(heartbeat_at=timezone.now())
    return bool(row)


def round_still_owned(*, round_id: int, runner: str) -> bool:
    return TrainingRound.objects.filter(pk=round_id, runner=runner, status=RoundStatus.RUNNING).exists()


def round_progress(
    *, round_id: int, runner: str, stage: str, fraction: float, points: list[dict[str, Any]] | None = None
) -> None:
    """Record the stage, overall progress and new step metrics (a bounded time series per stage)."""
    start, end = STAGE_SPANS[stage]
    overall = min(1.0, max(0.0, start + (end - start) * min(1.0, max(0.0, fraction))))
    with transaction.atomic():
        training_round = TrainingRound.objects.select_for_update().filter(pk=round_id, runner=runner).first()
        if training_round is None:
            return
        training_round.stage = stage
        training_round.progress = overall
        if points:
            series_append(training_round.metrics, stage, points)
        training_round.heartbeat_at = timezone.now()
        training_round.save(update_fields=["stage", "progress", "metrics", "heartbeat_at"])


def round_record(*, round_id: int, runner: str, summary: StageRecord | None = None, **fields: Any) -> None:
    """Store a stage's products (snapshot, reward_model, policy) and its record in the summary."""
    with transaction.atomic():
        training_round = TrainingRound.objects.select_for_update().filter(pk=round_id, runner=runner).first()
        if training_round is None:
            raise Conflict("This worker no longer owns the round.", code="round_lost")
        for key, value in fields.items():
            setattr(training_round, key, value)
        if summary is not None:
            summary_update(training_round.metrics, summary)
        training_round.save()


def round_finish(*, round_id: int, runner: str, status: str, error: str = "") -> None:
    """Move the round to a final status (only the owning worker may)."""
    now = timezone.now()
    updates: dict[str, Any] = {
        "status": status,
        "finished_at": now,
        "heartbeat_at": now,
        "error": error[:5000],
    }
    if status == RoundStatus.SUCCEEDED:
        updates["progress"] = 1.0
    TrainingRound.objects.filter(pk=round_id, runner=runner, status=RoundStatus.RUNNING).update(**updates)
