"""PPO-ptx: a small language-modelling loss on demonstrations (edited or written answers) during PPO.

The loss covers the assistant turns only, as supervised fine-tuning does (TRL's `assistant_only_loss`,
OpenRLHF's SFT masks): the prompt and the template's scaffolding are context, not what the policy should
learn to write. Without the mask most of a short demonstration's tokens are the user's question.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import torch
from torch import nn
from transformers import PreTrainedTokenizerBase

from training.rows import Conversation

Demonstration = tuple[list[int], list[int]]  # token ids, and 1 where the token is an assistant token


def assistant_spans(
    tokenizer: PreTrainedTokenizerBase, conversation: Conversation
) -> tuple[str, list[range]]:
    """The conversation rendered with the chat template, and the character ranges of its assistant turns.

    Each assistant turn spans from the end of the rendering of the turns before it with the generation
    prompt to the end of the rendering that includes it (its end-of-turn token included: the policy must
    learn to stop).
    """
    text = str(tokenizer.apply_chat_template(conversation, tokenize=False))
    spans = []
    for index, message in enumerate(conversation):
        if message["role"] != "assistant":
            continue
        before = str(
            tokenizer.apply_chat_template(conversation[:index], tokenize=False, add_generation_prompt=True)
        )
        through = str(tokenizer.apply_chat_template(conversation[: index + 1], tokenize=False))
        if text.startswith(through) and through.startswith(before):
            spans.append(range(len(before), len(through)))
    return text, spans


def encode_demonstration(
    tokenizer: PreTrainedTokenizerBase, conversation: Conversation, max_length: int
) -> Demonstration:
    """Token ids of a demonstration (at most `max_length`) and its assistant-token mask.

    Args:
        tokenizer: a fast tokenizer (character offsets map the assistant spans to tokens).
        conversation: messages with at least one assistant turn.
        max_length: longer demonstrations are cut at the end.
    """
    text, spans = assistant_spans(tokenizer, conversation)
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids: list[int] = encoded["input_ids"][:max_length]
    mask = [
        int(any(start in span for span in spans) and end > start)
        for start, end in encoded["offset_mapping"][:max_length]
    ]
    return ids, mask


def ptx_batches(
    tokenizer: PreTrainedTokenizerBase,
    conversations: list[Conversation],
    size: int,
    max_length: int,
    seed: int,
) -> Iterator[list[Demonstration]]:
    """An endless stream of shuffled batches of `size` encoded demonstrations (those with no assistant token
    left after truncation are dropped)."""
    encoded = [encode_demonstration(tokenizer, c, max_length) for c in conversations]
    encoded = [item for item in encoded if any(item[1])]
    if not encoded:
        raise ValueError("PPO-ptx: no demonstration has an assistant turn")
    rng = random.Random(seed)
    while True:
        rng.shuffle(encoded)
        for start in range(0, len(encoded), size):
            yield encoded[start : start + size]


def ptx_loss(model: nn.Module, batch: list[Demonstration], pad_id: int, device: torch.device) -> torch.Tensor:
    """Mean next-token cross-entropy over the assistant tokens of a batch of demonstrations."""
    length = max(len(ids) for ids, _ in batch)
    ids = torch.full((len(batch), length), pad_id, dtype=torch.long)
    attention = torch.zeros_like(ids)
    labels = torch.full_like(ids, -100)
    for row, (tokens, assistant) in enumerate(batch):
        ids[row, : len(tokens)] = torch.tensor(tokens)
        attention[row, : len(tokens)] = 1
        labels[row, : len(tokens)] = torch.where(
            torch.tensor(assistant, dtype=torch.bool), torch.tensor(tokens), torch.tensor(-100)
        )
    output = model(
        input_ids=ids.to(device),
        attention_mask=attention.to(device),
        labels=labels.to(device),
        use_cache=False,
    )
    return output.loss
