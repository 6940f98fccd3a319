"""Housekeeping of the training artifacts on disk (PREFER_DATA_DIR/projects/<slug>/<kind>/): what a killed
worker left half-written (`.<name>.tmp-*`, `.<name>.old-*` of training.checkpoints.atomic_directory), and
the checkpoints that no policy or reward-model version refers to (a rejected policy, a round that failed
after training) once their round has finished and a grace period has passed, so that they can still be looked
at for a while. A policy is hundreds of MB: a project with a round an hour fills a disk in weeks otherwise."""

import logging
import re
import shutil
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings

from annotation.models import ACTIVE_ROUND_STATUSES, PolicyVersion, RewardModelVersion, TrainingRound

log = logging.getLogger(__name__)

KINDS = ("policies", "reward_models")
HALF_WRITTEN = re.compile(r"^\..+\.(tmp|old)-[0-9a-f]+$")
ROUND_DIR = re.compile(r"^round(\d+)-")


def _referenced() -> set[str]:
    paths = set(PolicyVersion.objects.exclude(artifact_path="").values_list("artifact_path", flat=True))
    paths |= set(RewardModelVersion.objects.values_list("artifact_path", flat=True))
    return {str(Path(p).absolute()) for p in paths if p}


def artifacts_sweep(*, grace: timedelta | None = None, now: float | None = None) -> list[Path]:
    """Delete half-written directories older than the training time limit, and unreferenced checkpoints of
    finished rounds older than `grace` (PREFER_ARTIFACT_GRACE_HOURS). Returns what was deleted."""
    now = time.time() if now is None else now
    grace = grace or timedelta(hours=settings.PREFER_ARTIFACT_GRACE_HOURS)
    root = Path(settings.PREFER_DATA_DIR).absolute() / "projects"
    candidates = [entry for kind in KINDS for entry in root.glob(f"*/{kind}/*") if entry.is_dir()]
    if not candidates:
        return []
    referenced = _referenced()
    active = set(TrainingRound.objects.filter(status__in=ACTIVE_ROUND_STATUSES).values_list("pk", flat=True))
    deleted = []
    for entry in candidates:
        age = now - entry.stat().st_mtime
        if HALF_WRITTEN.match(entry.name):
            # No writer lives longer than the training time limit; younger ones may still be in use.
            if age <= settings.PREFER_TRAINING_TIME_LIMIT:
                continue
        else:
            round_of = ROUND_DIR.match(entry.name)
            if str(entry) in referenced or age <= grace.total_seconds():
                continue
            if round_of is None or int(round_of.group(1)) in active:
                continue  # not ours to judge, or its round may still register it
        shutil.rmtree(entry, ignore_errors=True)
        log.info("deleted unused training artifact %s", entry)
        deleted.append(entry)
    return deleted
