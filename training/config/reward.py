"""Reward-model training settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from training.config.base import PRECISION_HELP, ConfigError, _ConfigBase, option


@dataclass
class RewardConfig(_ConfigBase):
    """Bradley-Terry reward-model training.

    The loss for a pair with score difference `d = r_chosen - r_rejected`, margin `m` and smoothing `eps` is
    `-(1 - eps) * log sigmoid(d - m) - eps * log sigmoid(-(d - m))`, plus
    `center_rewards_coefficient * mean((r_chosen + r_rejected) ** 2)` when that coefficient is > 0.

    Each field carries its help in its metadata (`python -m training <command> --help` prints it).
    """

    model: str = option(
        "minilm-l6", "backbone model reference (ignored when training warm-starts from `init`)"
    )
    epochs: int = option(1, "passes over the training pairs")
    max_steps: int | None = option(
        None, "if set, stop after this many optimizer steps (overrides `epochs` and `min_steps`)"
    )
    min_steps: int = option(
        40,
        "at least this many optimizer steps whatever the data size (more epochs over small data): a few "
        "hundred pairs are only a dozen steps an epoch, far too few to move a new score head",
    )
    batch_size: int = option(16, "pairs per optimizer step")
    micro_batch_size: int | None = option(
        8,
        "pairs per forward/backward pass (gradients are accumulated up to `batch_size`); None runs the "
        "whole batch at once. Smaller passes keep activations in cache: on a CPU, 8 pairs a pass train "
        "SmolLM2 ~15% faster than 16",
    )
    eval_batch_size: int = option(64, "pairs per forward pass during evaluation")
    learning_rate: float = option(
        5e-5, "peak AdamW learning rate of the backbone (linear warm-up then linear decay)"
    )
    head_learning_rate: float | None = option(
        1e-3,
        "peak learning rate of the newly initialised score head (None: `learning_rate`). A fresh head "
        "needs a far larger step than the pretrained backbone",
    )
    eval_every: int = option(
        10, "optimizer steps between validation passes (early stopping); 0 disables early stopping"
    )
    early_stopping_patience: int = option(
        2,
        "stop after this many validation passes without a lower validation loss; the weights of the best"
        " pass are the ones saved",
    )
    validation_fraction: float = option(
        0.15,
        "share of the training prompts (prompt-disjoint, chosen by hash) held out for early stopping, so"
        " that the eval pairs stay untouched for the acceptance check",
    )
    weight_decay: float = option(0.0, "AdamW weight decay")
    warmup_ratio: float = option(0.05, "share of the steps spent warming up the learning rate")
    max_grad_norm: float = option(1.0, "global gradient-norm clip")
    max_length: int = option(
        512, "tokens per side; longer sequences keep their first token and their last tokens"
    )
    use_margin: bool = option(True, "subtract each row's `margin` (default 0) inside the sigmoid")
    label_smoothing: float = option(0.0, "smoothing applied to every pair")
    weak_label_smoothing: float = option(
        0.1, "smoothing applied instead to weak pairs (see the next two fields)"
    )
    weak_agreement_below: float = option(0.75, "a row with `agreement` below this is weak")
    weak_margin_below: float | None = option(None, "if set, a row with `margin` below this is weak")
    center_rewards_coefficient: float = option(
        0.0, "reward centering (Eisenstein et al. 2023); 0 disables it"
    )
    length_grouping: bool = option(
        True, "batch pairs of similar length together (less padding, same gradient in expectation)"
    )
    wide: bool = option(
        True,
        "fit the wide half first: a linear model over the response's hashed unigrams, bigrams and line "
        "starts and its shape (length, lines, a finished sentence); the transformer then learns the rest "
        "(see training.wide)",
    )
    wide_features: int = option(8192, "hashed n-gram buckets of the wide half")
    wide_ngram_l2: float = option(0.03, "L2 penalty on the wide half's n-gram weights")
    wide_shape_l2: float = option(0.001, "L2 penalty on the wide half's shape weights")
    precision: str = option(
        "auto", PRECISION_HELP + "; scoring and evaluation stay in float32, the training passes are cast"
    )
    seed: int = option(0, "shuffling and head initialisation seed")

    @classmethod
    def smoke(cls) -> Self:
        return cls(epochs=1, max_steps=4, batch_size=4, eval_batch_size=16, max_length=256, eval_every=0)

    def validate(self) -> None:
        super().validate()
        self._require_precision(self.precision)
        self._require_positive(
            "epochs", "batch_size", "eval_batch_size", "learning_rate", "max_length", "wide_features"
        )
        if self.wide_ngram_l2 < 0 or self.wide_shape_l2 < 0:
            raise ConfigError("RewardConfig.wide_ngram_l2 and wide_shape_l2: must be >= 0")
        if self.head_learning_rate is not None and self.head_learning_rate <= 0:
            raise ConfigError("RewardConfig.head_learning_rate: must be > 0 or null")
        if self.min_steps < 0 or self.eval_every < 0 or self.early_stopping_patience < 1:
            raise ConfigError(
                "RewardConfig.min_steps and eval_every: must be >= 0; early_stopping_patience: >= 1"
            )
        if not 0.0 <= self.validation_fraction < 0.5:
            raise ConfigError("RewardConfig.validation_fraction: must be in [0, 0.5)")
        if self.micro_batch_size is not None and self.micro_batch_size <= 0:
            raise ConfigError("RewardConfig.micro_batch_size: must be > 0 or null")
        for name in ("label_smoothing", "weak_label_smoothing"):
            if not 0.0 <= getattr(self, name) < 0.5:
                raise ConfigError(f"RewardConfig.{name}: must be in [0, 0.5)")
