"""Scoring with a scalar reward model: the chat rendering of a conversation, batched forward passes, the
Bradley-Terry loss and pairwise evaluation. Shared by reward-model training, PPO and the acceptance checks.

Each conversation (prompt + response) is rendered with the reward tokenizer's chat template and scored by a
`num_labels=1` sequence-classification model (score of the last non-pad token for decoders, the pooled
`[CLS]` for BERT-style encoders). Chosen and rejected sides of a batch go through one forward pass.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from training.models import max_model_length
from training.rows import Conversation
from training.wide import wide_head_of


def response_text(conversation: Conversation) -> str:
    """The judged response: the conversation's last message."""
    return conversation[-1]["content"] if conversation else ""


def encode_conversation(
    tokenizer: PreTrainedTokenizerBase, messages: Conversation, max_length: int
) -> list[int]:
    """Ids of a full conversation rendered with the chat template (no generation prompt).

    Sequences longer than `max_length` keep their first token when it is special (`[CLS]`/BOS) and their
    last tokens: the score is read at the end (decoders) and the response is what is being judged.
    """
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    ids: list[int] = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) <= max_length:
        return ids
    if ids[0] in tokenizer.all_special_ids:
        return [ids[0], *ids[len(ids) - max_length + 1 :]]
    return ids[-max_length:]


def bradley_terry_loss(
    chosen: torch.Tensor,
    rejected: torch.Tensor,
    margin: torch.Tensor | None = None,
    smoothing: torch.Tensor | float = 0.0,
) -> torch.Tensor:
    """Per-pair Bradley-Terry loss with margin and label smoothing.

    `loss = -(1 - eps) * log sigmoid(d) - eps * log sigmoid(-d)` with `d = chosen - rejected - margin`.

    Args:
        chosen: `[B]` scores of the preferred responses.
        rejected: `[B]` scores of the other responses.
        margin: `[B]` required score gap (0 when None).
        smoothing: `[B]` or scalar probability that the label is flipped.

    Returns:
        `[B]` losses.
    """
    diff = chosen - rejected
    if margin is not None:
        diff = diff - margin
    return -(1.0 - smoothing) * F.logsigmoid(diff) - smoothing * F.logsigmoid(-diff)


def _right_pad(
    sequences: list[list[int]], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    length = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), length), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    return ids.to(device), mask.to(device)


def forward_scores(model: PreTrainedModel, sequences: list[list[int]], pad_id: int) -> torch.Tensor:
    device = next(model.parameters()).device
    ids, mask = _right_pad(sequences, pad_id, device)
    return model(input_ids=ids, attention_mask=mask, use_cache=False).logits[:, 0].float()


@torch.no_grad()
def score_with_model(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    conversations: list[Conversation],
    *,
    batch_size: int = 32,
    max_length: int = 512,
) -> list[float]:
    """Scores conversations (prompt + response messages) with a loaded reward model: the transformer's
    score plus its wide half's, when it has one.

    Returns:
        One float per conversation, in order.
    """
    max_length = max_model_length(model, max_length)
    encoded = [encode_conversation(tokenizer, c, max_length) for c in conversations]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    scores = [0.0] * len(encoded)
    was_training = model.training
    model.eval()
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        values = forward_scores(model, [encoded[i] for i in chunk], tokenizer.pad_token_id)
        for i, value in zip(chunk, values.tolist(), strict=True):
            scores[i] = value
    model.train(was_training)
    wide = wide_head_of(model)
    if wide is not None:
        scores = [
            s + w for s, w in zip(scores, wide.score([response_text(c) for c in conversations]), strict=True)
        ]
    return scores


def score_pairs(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    pairs: list[dict[str, Any]],
    *,
    batch_size: int = 64,
    max_length: int = 512,
) -> tuple[list[float], list[float]]:
    """The scores of each normalised pair's chosen and rejected sides."""
    sides = []
    for side in ("chosen", "rejected"):
        conversations = [p["prompt"] + p[side] for p in pairs]
        sides.append(
            score_with_model(model, tokenizer, conversations, batch_size=batch_size, max_length=max_length)
        )
    return sides[0], sides[1]


def pair_correctness(chosen: list[float], rejected: list[float]) -> list[float]:
    """1 where the chosen side scores higher, 0.5 on a tie, else 0."""
    return [1.0 if c > r else 0.5 if c == r else 0.0 for c, r in zip(chosen, rejected, strict=True)]


@torch.no_grad()
def evaluate_pairs_with_model(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    pairs: list[dict[str, Any]],
    *,
    batch_size: int = 64,
    max_length: int = 512,
) -> dict[str, float]:
    """Pairwise accuracy (ties count half), mean Bradley-Terry loss and mean score gap on normalised pairs."""
    if not pairs:
        return {"accuracy": float("nan"), "loss": float("nan"), "margin": float("nan"), "pairs": 0}
    chosen, rejected = score_pairs(model, tokenizer, pairs, batch_size=batch_size, max_length=max_length)
    c, r = torch.tensor(chosen), torch.tensor(rejected)
    accuracy = sum(pair_correctness(chosen, rejected)) / len(pairs)
    loss = bradley_terry_loss(c, r).mean().item()
    return {"accuracy": accuracy, "loss": loss, "margin": (c - r).mean().item(), "pairs": len(pairs)}
