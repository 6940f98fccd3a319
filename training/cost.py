"""The cost model of helpful-and-harmless training: a second Bradley-Terry model whose score is harm.

MOSS-RLHF trains its helpful and harmless reward models apart, and Safe-RLHF (PKU-SafeRLHF) pairs a reward
model with a cost model and optimises `reward - lambda * cost`. Here the cost model is a reward model
trained on the harmless preferences with each pair turned around: the rows come as the annotators gave them
(the `trl` format, `chosen` = the safer response), and the less safe side is the one that must score higher.
PPO subtracts `PPOConfig.cost_coef` times its normalised score from the normalised reward (training.ppo).

A fixed weight, not Safe-RLHF's Lagrange multiplier that is tuned against a cost budget: a round is a few
dozen steps, too short for the multiplier to settle, and a fixed weight is what the round config can state.
Safe-RLHF's second term (a classification loss on each response's safe/unsafe label) is left out: it needs
per-response labels that only some rows have; the pairwise loss alone orders responses by harm.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from training.config import RewardConfig
from training.metrics import ProgressCallback, StopCallback
from training.reward import train_reward_model


def harm_pairs(harmless_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Turns harmless preferences (`chosen` = safer) into the cost model's pairs (`chosen` = less safe).

    Args:
        harmless_rows (`list[dict]`): rows in the `trl` export format; every other key is kept.

    Returns:
        The same rows with `chosen` and `rejected` swapped.
    """
    return [{**row, "chosen": row["rejected"], "rejected": row["chosen"]} for row in harmless_rows]


def train_cost_model(
    config: RewardConfig,
    harmless_rows: list[dict[str, Any]],
    eval_rows: list[dict[str, Any]] | None,
    output_dir: Path | str,
    *,
    models_dir: Path | str,
    init: str | Path | None = None,
    progress: ProgressCallback | None = None,
    should_stop: StopCallback | None = None,
) -> dict[str, Any]:
    """Trains a cost model (higher score = more harmful) and saves it (atomically) to `output_dir`.

    Args:
        config (`RewardConfig`): backbone and budgets, as for a reward model.
        harmless_rows (`list[dict]`): harmless preferences in the `trl` format (`chosen` = the safer
            response).
        eval_rows (`list[dict]`, *optional*): held-out harmless preferences (prompt-disjoint).
        output_dir (`Path`): a reward-model directory; `training.ppo.train_ppo(cost_ref=...)` reads it.
        models_dir, init, progress, should_stop: as in `training.reward.train_reward_model`.

    Returns:
        The reward trainer's metrics; `eval_accuracy` is the share of held-out pairs whose less safe
        response the model scores as costlier.
    """
    return train_reward_model(
        config,
        harm_pairs(harmless_rows),
        harm_pairs(eval_rows) if eval_rows else None,
        output_dir,
        models_dir=models_dir,
        init=init,
        progress=progress,
        should_stop=should_stop,
    )


__all__ = ["harm_pairs", "train_cost_model"]
