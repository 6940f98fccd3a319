"""The artifacts sweep: half-written directories and unreferenced checkpoints of finished rounds go, once
old enough; everything a version refers to, or an active round may still register, stays."""

import os
import time
from datetime import timedelta

from annotation.models import PolicyVersion, RoundStatus, TrainingRound
from annotation.rounds.artifacts import artifacts_sweep

HOUR = 3600


def artifact(root, project, kind, name, age_s):
    path = root / "projects" / project.slug / kind / name
    path.mkdir(parents=True)
    (path / "model.safetensors").write_bytes(b"x")
    stamp = time.time() - age_s
    os.utime(path, (stamp, stamp))
    return path


def test_the_sweep_deletes_only_what_nothing_needs(project, settings, tmp_path):
    settings.PREFER_DATA_DIR = str(tmp_path)
    settings.PREFER_TRAINING_TIME_LIMIT = 6 * HOUR
    finished = TrainingRound.objects.create(project=project, status=RoundStatus.SUCCEEDED)
    active = TrainingRound.objects.create(project=project, status=RoundStatus.RUNNING)
    registered = artifact(tmp_path, project, "policies", f"round{finished.pk}-aaaa1111", 48 * HOUR)
    PolicyVersion.objects.create(
        project=project, version=2, model_ref=str(registered), artifact_path=str(registered)
    )
    rejected = artifact(tmp_path, project, "policies", f"round{finished.pk}-bbbb2222", 48 * HOUR)
    recent_rejected = artifact(tmp_path, project, "policies", f"round{finished.pk}-cccc3333", 2 * HOUR)
    of_active_round = artifact(tmp_path, project, "policies", f"round{active.pk}-dddd4444", 48 * HOUR)
    stale_tmp = artifact(tmp_path, project, "reward_models", ".round9-x.tmp-0123456789ab", 7 * HOUR)
    live_tmp = artifact(tmp_path, project, "policies", ".round9-x.tmp-ba9876543210", 1 * HOUR)
    stale_old = artifact(tmp_path, project, "policies", ".round9-y.old-00aa11bb22cc", 7 * HOUR)
    foreign = artifact(tmp_path, project, "policies", "my-own-model", 48 * HOUR)

    deleted = set(artifacts_sweep(grace=timedelta(hours=24)))

    assert deleted == {rejected, stale_tmp, stale_old}
    for kept in (registered, recent_rejected, of_active_round, live_tmp, foreign):
        assert kept.exists(), kept
    assert not any(path.exists() for path in deleted)
    assert artifacts_sweep(grace=timedelta(hours=24)) == []  # nothing left to do


def test_the_sweep_of_an_empty_data_dir_does_nothing(db, settings, tmp_path):
    settings.PREFER_DATA_DIR = str(tmp_path / "absent")
    assert artifacts_sweep() == []
