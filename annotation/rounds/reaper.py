"""The reaper (beat, every minute): a round is never left running without a live worker, nor queued forever
behind a lost message."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotation.models import RoundStatus, TrainingRound
from annotation.rounds.dispatch import round_run_send
from annotation.rounds.protocol import heartbeat_stale_after
from annotation.rounds.summary import Dispatch, read_dispatch, write_dispatch

logger = logging.getLogger(__name__)


def requeue_after() -> timedelta:
    """A round still queued this long after its last dispatch gets its task again (the wait then doubles)."""
    return timedelta(seconds=getattr(settings, "PREFER_ROUND_REQUEUE_SECONDS", 300))


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
            dispatch = read_dispatch(training_round.metrics)
            last = dispatch.at or training_round.created_at
            if now - last < base * 2**dispatch.requeued:
                continue
            write_dispatch(training_round.metrics, Dispatch(requeued=dispatch.requeued + 1, at=now))
            training_round.save(update_fields=["metrics"])
            round_run_send(round_id=training_round.pk)
        logger.warning("round %s still queued since %s: task sent again", round_id, training_round.created_at)
        sent.append(round_id)
    return sent
