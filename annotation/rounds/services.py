"""TrainingRound lifecycle: launch, claim by a worker, progress, cancel, finish, and the stale-worker reaper.

State machine: queued -> running -> succeeded | failed | cancelled (queued -> cancelled directly). Stages
run in order snapshot -> reward_model -> policy -> generate; each stage's product is recorded on the round
as soon as it exists, which is what makes a re-delivered task resume instead of training twice. Postgres
holds all of this; Celery only carries the round id.
"""

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from annotation.errors import ApplicationError, Conflict
from annotation.models import Annotation, Project, RoundKind, RoundStatus, TrainingRound
from annotation.rounds.config import RoundConfig
from annotation.rounds.dispatch import round_run_send
from training.config import ConfigError

# Overall progress is the stage's share of the round plus its own fraction within that share.
STAGE_SPANS = {
    "snapshot": (0.0, 0.05),
    "reward_model": (0.05, 0.35),
    "policy": (0.35, 0.85),
    "generate": (0.85, 1.0),
}
MAX_SERIES_POINTS = 400

logger = logging.getLogger(__name__)


def heartbeat_stale_after() -> timedelta:
    return timedelta(seconds=getattr(settings, "PREFER_ROUND_STALE_SECONDS", 120))


def max_resumes() -> int:
    """How often a round may be taken over from a lost worker before it is failed: a stage that kills its
    worker every time (out of memory, a segfault) must not be resumed forever."""
    return int(getattr(settings, "PREFER_ROUND_MAX_RESUMES", 2))


def requeue_after() -> timedelta:
    """A round still queued this long after its last dispatch gets its task again (the wait then doubles)."""
    return timedelta(seconds=getattr(settings, "PREFER_ROUND_REQUEUE_SECONDS", 300))


def _resume_count(training_round: TrainingRound) -> int:
    return sum(1 for event in training_round.metrics.get("events", []) if event.get("kind") == "resume")


def round_launch(
    *,
    project: Project,
    kind: str = RoundKind.PPO,
    config: dict[str, Any] | None = None,
    trigger: str = "manual",
    user: AbstractBaseUser | None = None,
    enqueue: bool = True,
) -> TrainingRound:
    """Validate the config, create a queued round and enqueue it on commit (enqueue=False: the caller runs
    it in-process). One active round per project: a second launch while one is queued or running is
    refused (409), by the database's constraint."""
    if kind not in RoundKind.values:
        raise ApplicationError(f"must be one of {', '.join(RoundKind.values)}", field="kind")
    try:
        parsed = RoundConfig.from_dict(config)
    except (ConfigError, TypeError) as exc:
        raise ApplicationError(str(exc), field="config") from exc
    watermark = Annotation.objects.filter(project=project).aggregate(m=Max("id"))["m"] or 0
    try:
        with transaction.atomic():
            training_round = TrainingRound.objects.create(
                project=project,
                kind=kind,
                config={**(config or {}), "resolved": parsed.to_dict()},
                trigger=trigger,
                triggered_by=user if user is not None and user.is_authenticated else None,
                annotations_up_to=watermark,
            )
            if enqueue:
                round_run_send(round_id=training_round.pk)
    except IntegrityError as exc:
        if _constraint_name(exc) != "round_one_active":
            raise
        active = TrainingRound.objects.filter(project=project, status__in=["queued", "running"]).first()
        raise Conflict(
            f"Round {active.pk if active else '?'} is still {active.status if active else 'active'} for this "
            "project; wait for it or cancel it first.",
            code="round_active",
        ) from exc
    return training_round


def _constraint_name(exc: IntegrityError) -> str | None:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


@transaction.atomic
def round_cancel(*, training_round: TrainingRound) -> TrainingRound:
    """Ask a running round to stop between steps; a queued round is cancelled at once."""
    locked = TrainingRound.objects.select_for_update().get(pk=training_round.pk)
    if locked.status == RoundStatus.QUEUED:
        locked.status = RoundStatus.CANCELLED
        locked.finished_at = timezone.now()
        locked.error = "cancelled before it started"
    elif locked.status == RoundStatus.RUNNING:
        locked.cancel_requested = True
    else:
        raise Conflict(f"Round {locked.pk} already {locked.status}.", code="round_finished")
    locked.save()
    return locked


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
        if resumed and _resume_count(training_round) >= max_resumes():
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
            events = training_round.metrics.setdefault("events", [])
            events.append(
                {
                    "at": now.isoformat(),
                    "kind": "resume",
                    "event": f"resumed after a lost worker at the {stage} stage",
                }
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
            series = training_round.metrics.setdefault("series", {}).setdefault(stage, [])
            for metrics in points:
                numeric = {
                    k: v for k, v in metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)
                }
                series.append({"step": len(series), **numeric})
            while len(series) > MAX_SERIES_POINTS:  # keep every other point: bounded size, whole curve shape
                series[:] = series[::2]
        training_round.heartbeat_at = timezone.now()
        training_round.save(update_fields=["stage", "progress", "metrics", "heartbeat_at"])


def round_record(*, round_id: int, runner: str, summary: dict[str, Any] | None = None, **fields: Any) -> None:
    """Store a stage's products (snapshot, reward_model, policy) and its summary metrics."""
    with transaction.atomic():
        training_round = TrainingRound.objects.select_for_update().filter(pk=round_id, runner=runner).first()
        if training_round is None:
            raise Conflict("This worker no longer owns the round.", code="round_lost")
        for key, value in fields.items():
            setattr(training_round, key, value)
        if summary:
            training_round.metrics.setdefault("summary", {}).update(summary)
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


def rounds_reap_stale() -> list[int]:
    """Fail running rounds whose worker stopped sending heartbeats (killed, lost, out of memory): a round
    is never left 'running' forever. A later redelivery of the same task finds it finished and stops.
    Also re-send the task of rounds queued for long (a lost message would block the project for good)."""
    rounds_requeue_stuck()
    limit = timezone.now() - 3 * heartbeat_stale_after()
    reaped = []
    for training_round in TrainingRound.objects.filter(status=RoundStatus.RUNNING, heartbeat_at__lt=limit):
        seconds = int((timezone.now() - training_round.heartbeat_at).total_seconds())
        updated = TrainingRound.objects.filter(
            pk=training_round.pk, status=RoundStatus.RUNNING, heartbeat_at=training_round.heartbeat_at
        ).update(
            status=RoundStatus.FAILED,
            finished_at=timezone.now(),
            error=(
                f"The worker stopped responding during the {training_round.stage or 'first'} stage "
                f"(no heartbeat for {seconds} s); nothing partial was registered. Launch a new round."
            ),
        )
        if updated:
            reaped.append(training_round.pk)
    return reaped


def rounds_requeue_stuck() -> list[int]:
    """Send `training_round_run` again for rounds still queued `requeue_after()` after their last dispatch,
    doubling the wait after each re-send (a busy gpu queue gets a few duplicates, not one a minute).
    Claiming is idempotent: whichever copy arrives first runs the round, the others find it taken."""
    now = timezone.now()
    base = requeue_after()
    sent = []
    for round_id in TrainingRound.objects.filter(
        status=RoundStatus.QUEUED, created_at__lt=now - base
    ).values_list("pk", flat=True):
        with transaction.atomic():
            training_round = (
                TrainingRound.objects.select_for_update(skip_locked=True)
                .filter(pk=round_id, status=RoundStatus.QUEUED)
                .first()
            )
            if training_round is None:
                continue
            dispatch = training_round.metrics.get("dispatch", {})
            count = int(dispatch.get("requeued", 0))
            last = datetime.fromisoformat(dispatch["at"]) if "at" in dispatch else training_round.created_at
            if now - last < base * 2**count:
                continue
            training_round.metrics["dispatch"] = {"requeued": count + 1, "at": now.isoformat()}
            training_round.save(update_fields=["metrics"])
            round_run_send(round_id=training_round.pk)
        logger.warning("round %s still queued since %s: task sent again", round_id, training_round.created_at)
        sent.append(round_id)
    return sent


def new_preferences_since_last_round(*, project: Project) -> int:
    last = (
        TrainingRound.objects.filter(project=project)
        .order_by("-created_at")
        .values("annotations_up_to")
        .first()
    )
    watermark = last["annotations_up_to"] if last else 0
    return Annotation.objects.filter(project=project, is_live=True, id__gt=watermark).count()


def rounds_schedule() -> list[int]:
    """Launch a round for every project with auto rounds on and enough new preferences since its last
    round. The watermark recorded at launch means the same data never triggers twice."""
    launched = []
    for project in Project.objects.filter(auto_round_enabled=True):
        if TrainingRound.objects.filter(project=project, status__in=["queued", "running"]).exists():
            continue
        if new_preferences_since_last_round(project=project) < project.auto_round_min_new_preferences:
            continue
        try:
            launched.append(
                round_launch(project=project, trigger="schedule", config=project.auto_round_config).pk
            )
        except Conflict:
            continue
        except ApplicationError as exc:  # one project's bad auto-round config must not stop the others
            logger.error("auto round for project %s not launched: %s", project.slug, exc.text)
            continue
    return launched
