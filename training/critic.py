"""PPO critics (value functions) and how they are initialised.

- `reward`: a copy of the reward model's backbone and scalar head, trained as the critic (MOSS-RLHF's
  choice). Needs a decoder reward model that scores every position (a `score` head) and the policy's
  tokenizer, since the critic reads the policy's tokens.
- `policy`: a copy of the policy's backbone with a new value head (one more full model to run and train).
- `head`: a value head on the policy's own last-layer hidden states, detached, so value training never moves
  the policy. It costs no extra forward pass: the hidden states come from the generation and training passes
  that run anyway. The cheapest option: `auto` picks it on a CPU when the reward model cannot seed a critic
  (on an accelerator `auto` picks `policy` then).
"""

from __future__ import annotations

import copy
from typing import cast

import torch
from torch import nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from training.config import PPOConfig


class ValueModel(nn.Module):
    """A transformer backbone with a scalar head: one value per position.

    Args:
        backbone: a base transformer (no LM / classification head) returning `last_hidden_state`.
        head: `Linear(hidden, 1)`.
    """

    def __init__(self, backbone: nn.Module, head: nn.Linear) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, position_ids: torch.Tensor
    ) -> torch.Tensor:
        """Values `[B, L]` for ids `[B, L]`."""
        hidden = self.backbone(
            input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=False
        ).last_hidden_state
        return self.head(hidden).squeeze(-1).float()


class ValueHead(nn.Module):
    """A value head on (detached) policy hidden states: `[B, T, H]` -> `[B, T]`."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.linear = nn.Linear(hidden_size, 1)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """Values for hidden states (gradients never reach the policy)."""
        return self.linear(hidden.detach().float()).squeeze(-1)


def rescale_to_normalised_rewards(critic: nn.Module, mean: float, std: float) -> None:
    """Maps a critic copied from the reward model onto the normalised reward scale PPO trains with.

    The copy predicts raw reward-model scores; the rewards it must predict are `(score - mean) / std`
    (PPO-max's reward normalisation), so its head becomes `(w x + b - mean) / std`. Without this its first
    values are off by the mean and the scale, and the advantages of the first iterations are mostly that
    error.
    """
    if not isinstance(critic, ValueModel):
        return
    with torch.no_grad():
        critic.head.weight.div_(std)
        if critic.head.bias is not None:
            critic.head.bias.sub_(mean).div_(std)


def disable_dropout(model: nn.Module) -> None:
    """Sets every dropout probability to 0 (PPO's ratios need deterministic forward passes)."""
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0


def _same_vocabulary(a: PreTrainedTokenizerBase, b: PreTrainedTokenizerBase) -> bool:
    return len(a) == len(b) and a.get_vocab() == b.get_vocab()


def build_critic(
    config: PPOConfig,
    policy: PreTrainedModel,
    policy_tokenizer: PreTrainedTokenizerBase,
    reward_model: PreTrainedModel | None,
    reward_tokenizer: PreTrainedTokenizerBase | None,
) -> tuple[nn.Module, str]:
    """Builds the critic named by `config.critic_init` (before LoRA is applied to the policy).

    Returns:
        The critic (`ValueModel` or `ValueHead`) and its kind: `"reward"`, `"policy"` or `"head"`.
    """
    per_token_rm = (
        reward_model is not None
        and reward_tokenizer is not None
        and isinstance(getattr(reward_model, "score", None), nn.Linear)
        and _same_vocabulary(policy_tokenizer, reward_tokenizer)
    )
    kind = config.critic_init
    device = next(policy.parameters()).device
    if kind == "auto":
        # MOSS-RLHF's order: the reward model when it can read the policy's tokens, else a copy of the
        # policy with a value head; on a CPU that second full model doubles the cost of every step, so there
        # the value head rides on the policy's own hidden states instead.
        kind = "reward" if per_token_rm else ("head" if device.type == "cpu" else "policy")
    if kind == "reward" and not per_token_rm:
        raise ValueError(
            "critic_init='reward' needs a decoder reward model with a per-token score head and the policy's "
            "tokenizer; use critic_init='auto', 'policy' or 'head'"
        )
    hidden_size = policy.config.get_text_config().hidden_size
    if kind == "head":
        return ValueHead(hidden_size).to(device), kind
    if kind == "reward":
        assert reward_model is not None
        score = cast(nn.Linear, reward_model.score)  # checked by per_token_rm above
        critic = ValueModel(copy.deepcopy(reward_model.base_model), copy.deepcopy(score))
    else:
        head = nn.Linear(hidden_size, 1, bias=True)
        nn.init.zeros_(head.weight)
        nn.init.zeros_(head.bias)
        critic = ValueModel(copy.deepcopy(policy.base_model), head)
    critic.to(device)
    critic.requires_grad_(True)  # the reward model was frozen before its copy was taken
    if config.lora:
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules="all-linear",
        )
        critic.backbone = get_peft_model(critic.backbone, lora)
    disable_dropout(critic)
    return critic, kind
