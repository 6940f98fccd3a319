"""The export page's list of dataset snapshots: each frozen file with its hash, and what trained on it (the
rounds that took it as input, the reward models fitted on it, the policies those rounds produced)."""

from typing import Any

from annotation.models import DatasetSnapshot, Project, RewardModelVersion, TrainingRound

MAX_SNAPSHOTS = 100


def snapshots_with_use(*, project: Project) -> list[dict[str, Any]]:
    """The project's newest snapshots (at most MAX_SNAPSHOTS) with the rounds and reward models that used
    each."""
    snapshots = list(DatasetSnapshot.objects.filter(project=project).order_by("-id")[:MAX_SNAPSHOTS])
    ids = [s.pk for s in snapshots]
    rounds: dict[int, list[TrainingRound]] = {}
    for training_round in (
        TrainingRound.objects.filter(snapshot_id__in=ids)
        .select_related("policy", "reward_model")
        .order_by("id")
    ):
        rounds.setdefault(training_round.snapshot_id, []).append(training_round)  # type: ignore[arg-type]
    reward_models: dict[int, list[RewardModelVersion]] = {}
    for reward_model in RewardModelVersion.objects.filter(snapshot_id__in=ids).order_by("version"):
        reward_models.setdefault(reward_model.snapshot_id, []).append(reward_model)  # type: ignore[arg-type]
    return [
        {"snapshot": s, "rounds": rounds.get(s.pk, []), "reward_models": reward_models.get(s.pk, [])}
        for s in snapshots
    ]
