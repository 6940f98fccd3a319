"""What a PPO run is built from: the reward it optimises, the policy and critic it trains (LoRA on all or
only the top layers), the layer split that lets passes skip the frozen layers, and GAE's lambda."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from training.config import PPOConfig
from training.critic import ValueHead, disable_dropout
from training.layer_split import LayerSplit, supports_split
from training.models import load_reward_model
from training.optimizers import adamw
from training.rows import Conversation
from training.scoring import score_with_model

RewardFunction = Callable[[list[Conversation], list[str]], list[float]]


class Scorer:
    """The reward: a reward-model reference (loaded once) or a function `(prompts, texts) -> scores`."""

    def __init__(
        self, reward_ref: str | Path | RewardFunction, *, models_dir: Path | str, device: Any
    ) -> None:
        self.function: RewardFunction | None = None
        self.model: PreTrainedModel | None = None
        self.tokenizer: PreTrainedTokenizerBase | None = None
        if callable(reward_ref):
            self.function = reward_ref
        else:
            self.model, self.tokenizer = load_reward_model(reward_ref, models_dir=models_dir, device=device)
            self.model.requires_grad_(False)

    def __call__(self, conversations: list[Conversation], texts: list[str], batch_size: int) -> torch.Tensor:
        if self.function is not None:
            return torch.tensor(self.function(conversations, texts), dtype=torch.float32)
        assert self.model is not None and self.tokenizer is not None
        judged = [
            [*c, {"role": "assistant", "content": t}] for c, t in zip(conversations, texts, strict=True)
        ]
        return torch.tensor(score_with_model(self.model, self.tokenizer, judged, batch_size=batch_size))


@dataclass
class Learner:
    """What PPO trains: the policy (LoRA-wrapped or not) and the critic, with their optimizers."""

    policy: PreTrainedModel
    frozen_reference: nn.Module | None
    critic: nn.Module
    value_head: ValueHead | None
    actor_params: list[nn.Parameter]
    critic_params: list[nn.Parameter]
    actor_optimizer: torch.optim.Optimizer
    critic_optimizer: torch.optim.Optimizer


def build_learner(config: PPOConfig, policy: PreTrainedModel, critic: nn.Module) -> Learner:
    disable_dropout(policy)
    frozen_reference: nn.Module | None = None
    if config.lora:
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules="all-linear" if config.lora_layers is None else linear_module_names(policy),
            task_type="CAUSAL_LM",
            layers_to_transform=top_layers(policy, config.lora_layers),
        )
        policy = cast(PreTrainedModel, get_peft_model(policy, lora))  # forwards the model's API
        disable_dropout(policy)  # LoRA's own dropout would make the first ratio differ from 1
    else:
        frozen_reference = copy.deepcopy(policy).requires_grad_(False).eval()
    actor_params = [p for p in policy.parameters() if p.requires_grad]
    critic_params = [p for p in critic.parameters() if p.requires_grad]
    return Learner(
        policy=policy,
        frozen_reference=frozen_reference,
        critic=critic,
        value_head=critic if isinstance(critic, ValueHead) else None,
        actor_params=actor_params,
        critic_params=critic_params,
        actor_optimizer=adamw(actor_params, lr=config.learning_rate),
        critic_optimizer=adamw(critic_params, lr=config.critic_learning_rate),
    )


def linear_module_names(model: nn.Module) -> list[str]:
    """The names (last component) of the transformer layers' linear modules: what "all-linear" means in
    peft, spelled out, since peft only takes a list together with `layers_to_transform`."""
    return sorted(
        {
            name.rsplit(".", 1)[-1]
            for name, module in model.named_modules()
            if isinstance(module, nn.Linear) and ".layers." in f".{name}"
        }
    )


def top_layers(model: nn.Module, count: int | None) -> list[int] | None:
    """Indices of the model's top `count` transformer layers (None: every layer, peft's default)."""
    if count is None:
        return None
    total = int(model.config.get_text_config().num_hidden_layers)  # type: ignore[union-attr, operator]
    return list(range(max(0, total - count), total))


def layer_split(config: PPOConfig, policy: nn.Module) -> LayerSplit | None:
    """With adapters on the top layers of a decoder that allows it, the split that lets every pass over a
    rollout run those layers only (`training.layer_split`)."""
    if not config.lora or config.lora_layers is None or not supports_split(policy):
        return None
    layers = top_layers(policy, config.lora_layers)
    return LayerSplit(policy, layers[0]) if layers and layers[0] > 0 else None


def gae_lambda(config: PPOConfig, critic_source: str) -> float:
    """`config.lam`, or by default 0.95 with a critic copied from the reward model and 1.0 otherwise: a
    critic that starts at zero gives GAE(0.95) almost nothing to bootstrap from, so the early tokens of a
    response would get a vanishing share of the final reward (16% for the first half of 64 tokens)."""
    if config.lam is not None:
        return config.lam
    return 0.95 if critic_source == "reward" else 1.0
