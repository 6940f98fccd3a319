"""Configuration dataclasses for every long-running training function.

Each config is plain data: JSON-serialisable through `to_dict` / `from_dict`, which rejects unknown keys with
an error naming them (so a typo in a round's config fails loudly instead of being ignored). Each has a
`smoke()` preset: the smallest budgets that still exercise every stage for real. Every field carries its
help text in its metadata; `training.cli` builds its flags from the fields, so the two cannot drift.
"""

from training.config.base import ConfigError, option
from training.config.dpo import DPOConfig
from training.config.generation import GenerationConfig
from training.config.ppo import PPOConfig
from training.config.reward import RewardConfig

CONFIGS = (GenerationConfig, RewardConfig, PPOConfig, DPOConfig)

__all__ = ["CONFIGS", "ConfigError", "DPOConfig", "GenerationConfig", "PPOConfig", "RewardConfig", "option"]
