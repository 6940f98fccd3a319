"""What an admin starts on the gpu workers: a training round's lifecycle (launch: validated, one active round
per project, enqueued on commit; cancel), and filling the queue from the current policy without training.

State machine: queued -> running -> succeeded | failed | cancelled (queued -> cancelled directly). A worker
then takes the round through annotation/rounds/protocol.py; the reaper (reaper.py) fails rounds whose
worker was lost and re-sends lost messages; the scheduler (schedule.py) launches rounds by itself. Postgres
holds all of this; Celery only carries the round id.
"""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from annotation.errors import ApplicationError, Conflict
from annotation.models import (
    ACTIVE_ROUND_STATUSES,
    Annotation,
    GenerationJob,
    Project,
    Response,
    RoundKind,
    RoundStatus,
    TrainingRound,
)
from annotation.rounds.config import RoundConfig
from annotation.rounds.dispatch import generate_responses_send, round_run_send
from annotation.rounds.limits import round_config_check
from training.config import ConfigError


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
    round_config_check(project=project, config=parsed)
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
        active = TrainingRound.objects.filter(project=project, status__in=ACTIVE_ROUND_STATUSES).first()
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


@transaction.atomic
def project_fill_queue(*, project: Project, limit: int = 32, once: bool = False) -> GenerationJob | None:
    """Have a gpu worker sample responses from the current policy for `limit` fresh prompts (a job, sent on
    commit); with `once`, not when the policy has already written responses. Returns the job, if sent."""
    if once and Response.objects.filter(prompt__project=project, policy_version__isnull=False).exists():
        return None
    with transaction.atomic():
        job = GenerationJob.objects.create(project=project, limit=limit)
        generate_responses_send(project_id=project.pk, limit=limit, job_id=job.pk)
    return job
