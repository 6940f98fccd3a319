"""DPO settings."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Self

from training.config.base import ConfigError, _ConfigBase, option


@dataclass
class DPOConfig(_ConfigBase):
    """DPO through TRL's `DPOTrainer`.

    Each field carries its help in its metadata (`python -m training <command> --help` prints it).
    """

    steps: int = option(50, "optimizer steps")
    batch_size: int = option(4, "pairs per step")
    learning_rate: float = option(5e-6, "AdamW learning rate")
    max_epochs: float = option(
        0.0,
        "at most this many passes over the pairs (0: no cap): with few pairs, `steps` would replay each one "
        "many times and drive the policy far from its reference for no more signal",
    )
    beta: float = option(0.1, "DPO temperature")
    label_smoothing: float = option(0.0, "conservative-DPO smoothing of the preference labels")
    max_length: int = option(512, "prompt + response tokens (truncated beyond)")
    lora: bool = option(
        False, "train LoRA adapters (merged on save); the reference is then the adapter-disabled model"
    )
    train_layers: int | None = option(
        None,
        "full fine-tune of the top N transformer layers and the final norm only, everything below frozen "
        "(None: the whole model). Backpropagation stops at the lowest trained layer: on a CPU most of a "
        "step's cost is the backward pass through every layer and the weight gradients of each",
    )
    lora_r: int = option(16, "LoRA rank")
    lora_alpha: int = option(32, "LoRA alpha")
    seed: int = option(0, "data order and dropout seed")
    earlier_checkpoint: float = option(
        0.0,
        "also save the policy after this fraction of the steps, in <output>/earlier (0: not); a round falls "
        "back to it when the final policy has drifted past the KL budget",
    )

    @classmethod
    def smoke(cls) -> Self:
        return cls(steps=2, batch_size=2, max_length=256)

    def validate(self) -> None:
        super().validate()
        self._require_positive("steps", "batch_size", "learning_rate", "beta", "max_length")
        if self.max_epochs < 0:
            raise ConfigError(f"DPOConfig.max_epochs: must be >= 0, got {self.max_epochs!r}")
        if self.train_layers is not None and (self.train_layers < 1 or self.lora):
            raise ConfigError(
                "DPOConfig.train_layers: must be >= 1 or null, and is for full fine-tunes (not with lora), "
                f"got {self.train_layers!r}"
            )
        if not 0 <= self.earlier_checkpoint < 1:
            raise ConfigError(
                f"DPOConfig.earlier_checkpoint: must be in [0, 1), got {self.earlier_checkpoint!r}"
            )

    def steps_for(self, pairs: int) -> int:
        """The optimizer steps to run on `pairs` training pairs: `steps`, capped at `max_epochs` passes.

        Args:
            pairs (`int`): number of preference pairs in the training set.
        """
        if self.max_epochs <= 0:
            return self.steps
        return max(1, min(self.steps, math.ceil(self.max_epochs * pairs / self.batch_size)))
