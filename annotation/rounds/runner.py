"""Executing a training round inside a worker: claim it, keep a heartbeat, run the stages in order, report
progress and honour cancellation between steps, and always leave the round in a final state."""

import logging
import threading
import time
import traceback
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection

from annotation.models import RoundStage, RoundStatus, TrainingRound
from annotation.rounds.protocol import (
    round_claim,
    round_finish,
    round_heartbeat,
    round_progress,
    round_record,
    round_still_owned,
)
from annotation.rounds.stages import STAGES, StageContext, StageError
from annotation.rounds.summary import StageSeconds
from training import TrainingCancelled

logger = logging.getLogger(__name__)


class _Heartbeat(threading.Thread):
    """Refreshes the round's heartbeat while a long step (model conversion, a big batch) runs."""

    def __init__(self, round_id: int, runner: str, interval: float) -> None:
        super().__init__(daemon=True, name=f"round-{round_id}-heartbeat")
        self.round_id, self.runner, self.interval = round_id, runner, interval
        self.stopped = threading.Event()
        self.cancel_requested = False

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.interval):
                try:
                    self.cancel_requested = round_heartbeat(round_id=self.round_id, runner=self.runner)
                except Exception:  # a database blip must not stop the heartbeat (the round would be reaped)
                    logger.warning("round %s: heartbeat failed, retrying", self.round_id, exc_info=True)
                    close_old_connections()
                    connection.close()  # a broken connection is reopened on the next query
        finally:
            connection.close()


class _Reporter:
    """progress/should_stop callbacks for the training library, with database writes throttled."""

    def __init__(self, round_id: int, runner: str, min_interval: float = 1.0) -> None:
        self.round_id, self.runner, self.min_interval = round_id, runner, min_interval
        self.stage: str = RoundStage.SNAPSHOT
        self.pending: list[dict[str, Any]] = []
        self.last_write = 0.0
        self.last_check = 0.0
        self.cancelled = False
        self.fraction = 0.0

    def progress(self, fraction: float, metrics: dict[str, Any]) -> None:
        self.fraction = fraction
        if metrics:
            self.pending.append(metrics)
        if time.monotonic() - self.last_write >= self.min_interval or fraction >= 1.0:
            self.flush()

    def flush(self) -> None:
        round_progress(
            round_id=self.round_id,
            runner=self.runner,
            stage=self.stage,
            fraction=self.fraction,
            points=self.pending,
        )
        self.pending = []
        self.last_write = time.monotonic()

    def should_stop(self) -> bool:
        if not self.cancelled and time.monotonic() - self.last_check >= self.min_interval:
            self.last_check = time.monotonic()
            self.cancelled = (
                TrainingRound.objects.filter(pk=self.round_id)
                .exclude(runner=self.runner, status=RoundStatus.RUNNING, cancel_requested=False)
                .exists()
            )
        return self.cancelled


def round_execute(*, round_id: int) -> str:
    """Run (or resume) a round; returns its final status, 'skipped' when it is already finished, or 'busy'
    when another worker holds it with a fresh heartbeat."""
    runner = round_claim(round_id=round_id)
    if runner is None:
        return "skipped"
    if not runner:
        return "busy"
    heartbeat = _Heartbeat(round_id, runner, float(getattr(settings, "PREFER_ROUND_HEARTBEAT_SECONDS", 10)))
    heartbeat.start()
    reporter = _Reporter(round_id, runner)
    status, error = RoundStatus.SUCCEEDED, ""
    try:
        ctx = StageContext(
            round_id=round_id, runner=runner, progress=reporter.progress, should_stop=reporter.should_stop
        )
        for stage, run in STAGES:
            if reporter.should_stop():
                raise TrainingCancelled(f"cancelled before the {stage} stage")
            reporter.stage, reporter.fraction = stage, 0.0
            reporter.flush()
            started = time.monotonic()
            run(ctx)
            reporter.fraction = 1.0
            reporter.flush()
            round_record(
                round_id=round_id,
                runner=runner,
                summary=StageSeconds(stage, round(time.monotonic() - started, 1)),
            )
    except TrainingCancelled:
        status = RoundStatus.CANCELLED
        error = f"Cancelled during the {reporter.stage} stage; nothing from that stage was registered."
    except StageError as exc:
        status, error = RoundStatus.FAILED, f"{reporter.stage} stage: {exc.message}"
    except Exception as exc:  # any other failure: record it readably, keep the traceback for the admin
        logger.exception("round %s failed in %s", round_id, reporter.stage)
        status = RoundStatus.FAILED
        error = (
            f"{reporter.stage} stage failed: {type(exc).__name__}: {exc}\n\n{traceback.format_exc(limit=8)}"
        )
    finally:
        heartbeat.stopped.set()
        heartbeat.join(timeout=30)
    close_old_connections()
    if not round_still_owned(round_id=round_id, runner=runner):
        return "lost"  # reaped meanwhile: the reaper's verdict stands
    round_finish(round_id=round_id, runner=runner, status=status, error=error)
    return status
