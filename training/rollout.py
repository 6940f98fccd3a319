"""A PPO rollout and the passes over it: the sampled batch's tensors, the log-prob / value forwards over
its response tokens, GAE on it, the frozen reference, and the PPO-ptx demonstration batches. `training.ppo`
runs the loop."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from transformers import PreTrainedTokenizerBase

from training.config import PPOConfig
from training.critic import ValueHead
from training.generation import SampledBatch
from training.ppo_math import generalized_advantage_estimation, masked_whiten
from training.rows import Conversation


def position_ids(attention_mask: torch.Tensor) -> torch.Tensor:
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


class Rollout:
    """One iteration's experience; every tensor is `[B, ...]` on the training device."""

    def __init__(self, sampled: SampledBatch) -> None:
        # Trim columns that are padding in every row (common left padding, trailing after every EOS).
        first = int(sampled.query_mask.any(dim=0).float().argmax())
        width = max(int(sampled.response_mask.sum(dim=1).max()), 1)
        self.query_ids = sampled.query_ids[:, first:]
        self.query_mask = sampled.query_mask[:, first:]
        self.response_ids = sampled.response_ids[:, :width]
        self.mask = sampled.response_mask[:, :width]
        assert sampled.logits is not None and sampled.hidden is not None, "sample with with_details=True"
        self.generation_logits = sampled.logits[:, :width]
        self.generation_hidden = sampled.hidden[:, :width]
        self.logprobs = torch.empty(0)
        self.ref_logprobs = torch.empty(0)
        self.values = torch.empty(0)
        self.advantages = torch.empty(0)
        self.returns = torch.empty(0)

    def inputs(self, rows: torch.Tensor | slice) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
        """Full ids, attention mask, position ids and query length for some rows (common padding trimmed)."""
        query_mask = self.query_mask[rows]
        first = int(query_mask.any(dim=0).float().argmax())
        query_ids = self.query_ids[rows][:, first:]
        query_mask = query_mask[:, first:]
        mask = self.mask[rows]
        ids = torch.cat([query_ids, self.response_ids[rows]], dim=1)
        attention = torch.cat([query_mask, mask.to(query_mask.dtype)], dim=1)
        return ids, attention, position_ids(attention), query_ids.shape[1]


def response_forward(
    model: nn.Module, batch: Rollout, rows: torch.Tensor | slice, temperature: float, *, hidden: bool = False
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Temperature-scaled logits `[b, T, V]` predicting each response token, the labels `[b, T]`, and with
    `hidden` the last-layer states `[b, T, H]` those logits were read from."""
    ids, attention, positions, query_len = batch.inputs(rows)
    output = model(
        input_ids=ids,
        attention_mask=attention,
        position_ids=positions,
        use_cache=False,
        output_hidden_states=hidden,
    )
    width = batch.response_ids.shape[1]
    window = slice(query_len - 1, query_len - 1 + width)
    logits = output.logits[:, window].float() / temperature
    states = output.hidden_states[-1][:, window] if hidden else None
    return logits, batch.response_ids[rows], states


def response_values(critic: nn.Module, batch: Rollout, rows: torch.Tensor | slice) -> torch.Tensor:
    ids, attention, positions, query_len = batch.inputs(rows)
    values = critic(ids, attention, positions)
    width = batch.response_ids.shape[1]
    return values[:, query_len - 1 : query_len - 1 + width]


@torch.no_grad()
def estimate_advantages(batch: Rollout, rewards: torch.Tensor, config: PPOConfig) -> None:
    """GAE advantages (whitened when configured) and returns from the rollout's current values."""
    batch.advantages, batch.returns = generalized_advantage_estimation(
        rewards, batch.values, batch.mask, config.gamma, config.lam
    )
    if config.whiten_advantages:
        batch.advantages = masked_whiten(batch.advantages, batch.mask)


def rollout_values(
    critic: nn.Module, value_head: ValueHead | None, batch: Rollout, mini_batch_size: int
) -> torch.Tensor:
    """The critic's values `[B, T]` for a whole rollout (after the critic warm-up changed them)."""
    if value_head is not None:
        return value_head(batch.generation_hidden).float()
    size = batch.response_ids.shape[0]
    return torch.cat(
        [
            response_values(critic, batch, slice(i, i + mini_batch_size))
            for i in range(0, size, mini_batch_size)
        ]
    ).float()


@contextmanager
def reference_model(policy: nn.Module, frozen_reference: nn.Module | None) -> Iterator[nn.Module]:
    if frozen_reference is not None:
        yield frozen_reference
    else:  # LoRA: the reference is the same weights with the adapter switched off
        with policy.disable_adapter():  # type: ignore[operator]  # PeftModel method behind nn.Module.__getattr__
            yield policy


def ptx_batches(
    tokenizer: PreTrainedTokenizerBase,
    conversations: list[Conversation],
    size: int,
    max_length: int,
    seed: int,
) -> Iterator[list[list[int]]]:
    encoded = []
    for conversation in conversations:
        text = tokenizer.apply_chat_template(conversation, tokenize=False)
        encoded.append(tokenizer(text, add_special_tokens=False)["input_ids"][:max_length])
    rng = random.Random(seed)
    while True:
        rng.shuffle(encoded)
        for start in range(0, len(encoded), size):
            yield encoded[start : start + size]


def ptx_loss(model: nn.Module, sequences: list[list[int]], pad_id: int, device: torch.device) -> torch.Tensor:
    length = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), length), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, : len(seq)] = 1
    ids, mask = ids.to(device), mask.to(device)
    labels = ids.masked_fill(mask == 0, -100)
    return model(input_ids=ids, attention_mask=mask, labels=labels, use_cache=False).loss
