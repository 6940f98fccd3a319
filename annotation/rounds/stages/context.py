"""What every stage of a round shares: its context (round id, runner token, progress and cancel callbacks,
the parsed config), the error a stage raises for the admin, and the round's train/eval preference rows."""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from annotation.data.snapshots import snapshot_rows
from annotation.errors import ApplicationError
from annotation.models import TrainingRound
from annotation.rounds.config import RoundConfig
from annotation.rounds.summary import read_summary

Progress = Callable[[float, dict[str, Any]], None]
ShouldStop = Callable[[], bool]


class StageError(ApplicationError):
    """A stage cannot go on for a reason the admin can act on (too little data, no reward model, ...)."""


@dataclass
class StageContext:
    """What a stage runs with. The round's config and project slug are read once, at construction (they do
    not change while it runs); the round itself is read with `load_round()` where a stage needs it, since
    each stage records its products on it."""

    round_id: int
    runner: str
    progress: Progress
    should_stop: ShouldStop
    config: RoundConfig = field(init=False)
    project_slug: str = field(init=False)

    def __post_init__(self) -> None:
        training_round = self.load_round()
        self.config = RoundConfig.from_dict(training_round.config.get("resolved") or {})
        self.project_slug = training_round.project.slug

    def load_round(self) -> TrainingRound:
        """The round as the database has it now, with its project and that project's current policy (one
        query; what the earlier stages recorded included)."""
        return TrainingRound.objects.select_related("project", "project__current_policy").get(
            pk=self.round_id
        )

    @property
    def models_dir(self) -> Path:
        return Path(settings.PREFER_DATA_DIR) / "models"

    def artifact_dir(self, kind: str) -> Path:
        return (
            Path(settings.PREFER_DATA_DIR)
            / "projects"
            / self.project_slug
            / kind
            / f"round{self.round_id}-{self.runner[:8]}"
        )


def _prompt_key(messages: list[dict[str, str]]) -> str:
    return hashlib.sha256(json.dumps(messages, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass
class RoundRows:
    train: list[dict[str, Any]]
    eval: list[dict[str, Any]]
    eval_is_train: bool  # too few prompts to hold any out: "eval" accuracy is train accuracy


def round_rows(ctx: StageContext, training_round: TrainingRound) -> RoundRows:
    """The round's train and eval preference rows. Eval = the eval split's pairs, or, when that split has
    too few, a prompt-disjoint share of the train pairs (deterministic, so a resumed round sees the same)."""
    train = list(snapshot_rows(training_round.snapshot))
    eval_id = read_summary(training_round.metrics).eval_snapshot_id
    eval_rows = list(snapshot_rows(type(training_round.snapshot).objects.get(pk=eval_id))) if eval_id else []
    if len(eval_rows) >= 2:
        return RoundRows(train, eval_rows, eval_is_train=False)
    threshold = int(ctx.config.eval_fraction * 1000)
    held_out = [row for row in train if int(_prompt_key(row["prompt"])[:8], 16) % 1000 < threshold]
    if not held_out or len(held_out) == len(train):  # too few prompts to split: evaluate on the train pairs
        return RoundRows(train, train, eval_is_train=True)
    kept = [row for row in train if row not in held_out]
    return RoundRows(kept, held_out, eval_is_train=False)


def numbers(metrics: dict[str, Any]) -> dict[str, Any]:
    """The flat, JSON-safe values of a training library metrics dict (what a version record keeps)."""
    return {k: v for k, v in metrics.items() if isinstance(v, int | float | str | bool) or v is None}
