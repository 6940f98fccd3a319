"""Sampling settings (generation, the acceptance checks, the generate stage)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from training.config.base import ConfigError, _ConfigBase, option


@dataclass
class GenerationConfig(_ConfigBase):
    """Sampling settings.

    Each field carries its help in its metadata (`python -m training <command> --help` prints it).
    """

    per_prompt: int = option(2, "responses sampled per conversation (K)")
    max_new_tokens: int = option(64, "cap on generated tokens per response")
    temperature: float = option(0.7, "sampling temperature; 0 means greedy decoding")
    top_p: float = option(
        1.0, "nucleus sampling mass (1.0 keeps PPO's log-probabilities exact; rounds share one setting)"
    )
    seed: int = option(
        0, "random seed; the same seed, model and prompts give the same responses on the same device"
    )
    batch_size: int = option(
        16, "sequences generated together (prompts x K are packed into batches of this size)"
    )
    max_prompt_tokens: int = option(
        512, "prompts longer than this are truncated from the left (the latest turns are kept)"
    )

    @classmethod
    def smoke(cls) -> Self:
        return cls(per_prompt=2, max_new_tokens=16, batch_size=8)

    def validate(self) -> None:
        super().validate()
        self._require_positive("per_prompt", "max_new_tokens", "batch_size", "max_prompt_tokens")
        if not 0.0 < self.top_p <= 1.0:
            raise ConfigError(f"GenerationConfig.top_p: must be in (0, 1], got {self.top_p}")
        if self.temperature < 0:
            raise ConfigError(f"GenerationConfig.temperature: must be >= 0, got {self.temperature}")
