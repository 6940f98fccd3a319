"""DPO settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from training.config.base import _ConfigBase, option


@dataclass
class DPOConfig(_ConfigBase):
    """DPO through TRL's `DPOTrainer`.

    Each field carries its help in its metadata (`python -m training <command> --help` prints it).
    """

    steps: int = option(50, "optimizer steps")
    batch_size: int = option(4, "pairs per step")
    learning_rate: float = option(5e-6, "AdamW learning rate")
    beta: float = option(0.1, "DPO temperature")
    label_smoothing: float = option(0.0, "conservative-DPO smoothing of the preference labels")
    max_length: int = option(512, "prompt + response tokens (truncated beyond)")
    lora: bool = option(
        False, "train LoRA adapters (merged on save); the reference is then the adapter-disabled model"
    )
    lora_r: int = option(16, "LoRA rank")
    lora_alpha: int = option(32, "LoRA alpha")
    seed: int = option(0, "data order and dropout seed")

    @classmethod
    def smoke(cls) -> Self:
        return cls(steps=2, batch_size=2, max_length=256)

    def validate(self) -> None:
        super().validate()
        self._require_positive("steps", "batch_size", "learning_rate", "beta", "max_length")
