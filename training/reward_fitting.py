"""The mechanics of reward-model training: batches, label smoothing, the score head's learning rate, the
prompt-disjoint validation slice and early stopping. `training.reward` runs the training."""

from __future__ import annotations

import hashlib
import json
import math
import random
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from training.config import RewardConfig
from training.scoring import encode_conversation


def pair_smoothing(pair: dict[str, Any], config: RewardConfig) -> float:
    """Label smoothing of one pair: `weak_label_smoothing` for weak pairs, else `label_smoothing`."""
    weak = pair.get("agreement") is not None and pair["agreement"] < config.weak_agreement_below
    if config.weak_margin_below is not None and pair.get("margin", 0.0) < config.weak_margin_below:
        weak = True
    return max(config.weak_label_smoothing, config.label_smoothing) if weak else config.label_smoothing


def length_grouped_batches(
    lengths: list[int], batch_size: int, *, seed: int, group: bool = True, shuffle: bool = True
) -> list[list[int]]:
    """Index batches; with `group`, indices are shuffled, sorted by length within windows of 50 batches, cut
    into batches, and the batches shuffled (random order, little padding)."""
    order = list(range(len(lengths)))
    rng = random.Random(seed)
    if shuffle:
        rng.shuffle(order)
    if group:
        window = batch_size * 50
        order = [
            i
            for start in range(0, len(order), window)
            for i in sorted(order[start : start + window], key=lambda i: lengths[i])
        ]
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if shuffle and group:
        rng.shuffle(batches)
    return batches


def micro_batches(batch: list[int], size: int | None) -> list[list[int]]:
    """A batch cut into forward/backward passes of `size` (None: one pass)."""
    if not size or size >= len(batch):
        return [batch]
    return [batch[i : i + size] for i in range(0, len(batch), size)]


def disable_dropout(model: torch.nn.Module) -> None:
    """Sets every dropout probability to 0 (a few hundred pairs need every bit of signal, not noise)."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0


def encode_pairs(
    pairs: list[dict[str, Any]], tokenizer: PreTrainedTokenizerBase, max_length: int
) -> list[tuple[list[int], list[int]]]:
    """Token ids of each pair's chosen and rejected conversations."""
    return [
        (
            encode_conversation(tokenizer, pair["prompt"] + pair["chosen"], max_length),
            encode_conversation(tokenizer, pair["prompt"] + pair["rejected"], max_length),
        )
        for pair in pairs
    ]


HEAD_PREFIXES = ("score.", "classifier.")


def head_parameter_groups(
    model: PreTrainedModel, *, learning_rate: float, head_learning_rate: float | None
) -> list[dict[str, Any]]:
    """AdamW parameter groups: the scalar head (`score` / `classifier`) at `head_learning_rate`, the rest at
    `learning_rate`. Each group carries its peak rate as `initial_lr` for the schedule."""
    head: list[torch.nn.Parameter] = []
    body: list[torch.nn.Parameter] = []
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            (head if name.startswith(HEAD_PREFIXES) else body).append(parameter)
    head_lr = head_learning_rate if head_learning_rate is not None else learning_rate
    groups = [{"params": body, "lr": learning_rate}, {"params": head, "lr": head_lr}]
    return [group for group in groups if group["params"]]


def prompt_key(pair: dict[str, Any]) -> str:
    """A stable key of a pair's prompt (pairs of one prompt share it)."""
    return hashlib.sha256(
        json.dumps(pair["prompt"], sort_keys=True, ensure_ascii=False).encode("utf-8")
    ).hexdigest()


def validation_split(
    pairs: list[dict[str, Any]], fraction: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Splits pairs prompt-disjointly by a hash of the prompt: `(train, validation)`.

    Returns all pairs as train and no validation pairs when the split would leave either side without at
    least 8 pairs (too few to stop early on)."""
    if fraction <= 0:
        return pairs, []
    threshold = int(fraction * 10_000)
    held = [p for p in pairs if int(prompt_key(p)[:8], 16) % 10_000 < threshold]
    if len(held) < 8 or len(pairs) - len(held) < 8:
        return pairs, []
    kept = [p for p in pairs if int(prompt_key(p)[:8], 16) % 10_000 >= threshold]
    return kept, held


class EarlyStopping:
    """Keeps the weights of the lowest validation loss; `stop` turns true after `patience` passes without a
    new low."""

    def __init__(self, patience: int) -> None:
        self.patience = patience
        self.best_loss = math.inf
        self.best_step = 0
        self.best_state: dict[str, torch.Tensor] | None = None
        self.passes_since_best = 0
        self.stop = False

    def observe(self, model: PreTrainedModel, step: int, loss: float) -> None:
        """Records a validation pass: keeps the weights when the loss is a new low."""
        if loss < self.best_loss - 1e-4:
            self.best_loss, self.best_step, self.passes_since_best = loss, step, 0
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            self.passes_since_best += 1
            self.stop = self.passes_since_best >= self.patience

    def restore_best(self, model: PreTrainedModel, step: int) -> int:
        """Loads the best weights when they are not the current ones; returns the step they come from."""
        if self.best_state is None or self.best_step == step:
            return step
        model.load_state_dict(self.best_state)
        return self.best_step
