"""Batched sampling of K responses per conversation with a model's chat template."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import GenerationConfig as HFGenerationConfig
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from training.config import GenerationConfig
from training.metrics import ProgressCallback, StopCallback, check_cancelled
from training.models import load_causal_lm
from training.rows import Conversation


@dataclass
class GeneratedResponse:
    """One sampled response.

    Args:
        text: the decoded response, special tokens removed.
        n_tokens: generated tokens, the EOS included when there is one.
        finished: whether the model emitted EOS (False: cut off at `max_new_tokens`).
    """

    text: str
    n_tokens: int
    finished: bool


@dataclass
class SampledBatch:
    """Token-level result of `sample_responses`.

    Args:
        query_ids: `[B, Lq]` left-padded prompt ids.
        query_mask: `[B, Lq]` attention mask of the prompts.
        response_ids: `[B, T]` response ids, pad after the first EOS.
        response_mask: `[B, T]` 1 for generated tokens up to and including the first EOS.
        finished: `[B]` bool, whether each response emitted EOS.
        logits: `[B, T, V]` raw logits that produced each response token (only with `with_details`).
        hidden: `[B, T, H]` last-layer hidden state that produced each response token (only with
            `with_details`): the state before the token, what a value head reads.
    """

    query_ids: torch.Tensor
    query_mask: torch.Tensor
    response_ids: torch.Tensor
    response_mask: torch.Tensor
    finished: torch.Tensor
    logits: torch.Tensor | None = None
    hidden: torch.Tensor | None = None


def eos_token_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """Every id that ends a response: the tokenizer's EOS and the generation config's EOS id(s)."""
    ids: set[int] = set()
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if isinstance(configured, int):
        ids.add(configured)
    elif configured:
        ids.update(int(i) for i in configured)
    return sorted(ids)


def encode_prompt(
    tokenizer: PreTrainedTokenizerBase, conversation: Conversation, max_tokens: int
) -> list[int]:
    """Token ids of a conversation rendered with the chat template plus the generation prompt.

    Longer prompts are truncated from the left (the latest turns matter most).
    """
    text = tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return ids[-max_tokens:]


def left_pad(
    sequences: list[list[int]], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-pads id lists to `[B, L]` ids and attention mask."""
    length = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), length), dtype=torch.long)
    for row, seq in enumerate(sequences):
        if seq:
            ids[row, length - len(seq) :] = torch.tensor(seq, dtype=torch.long)
            mask[row, length - len(seq) :] = 1
    return ids.to(device), mask.to(device)


def response_mask_after_eos(
    response_ids: torch.Tensor, eos_ids: list[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mask of the tokens up to and including the first EOS, and whether each row has an EOS.

    Args:
        response_ids: `[B, T]` generated ids.
        eos_ids: ids that end a response.

    Returns:
        `mask` `[B, T]` (long) and `finished` `[B]` (bool).
    """
    is_eos = torch.isin(response_ids, torch.tensor(eos_ids, device=response_ids.device))
    eos_before = torch.cumsum(is_eos.long(), dim=1) - is_eos.long()  # EOS strictly before position t
    mask = (eos_before == 0).long()
    return mask, is_eos.any(dim=1)


@torch.no_grad()
def sample_responses(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompt_ids: list[list[int]],
    *,
    max_new_tokens: int,
    temperature: float,
    top_p: float,
    with_details: bool = False,
) -> SampledBatch:
    """Samples one response per prompt (the caller repeats prompts for K samples).

    Sampling uses exactly `temperature` and `top_p` (no top-k, no repetition penalty from the model's own
    generation config), so that log-probabilities recomputed at the same temperature match the sampler.
    With `with_details`, the per-step logits and last-layer hidden states are kept (PPO reads the behaviour
    policy's log-probs and its value-head features from them instead of running another forward pass).
    """
    device = next(model.parameters()).device
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    eos_ids = eos_token_ids(model, tokenizer)
    query_ids, query_mask = left_pad(prompt_ids, pad_id, device)
    greedy = temperature == 0
    settings = HFGenerationConfig(
        max_new_tokens=max_new_tokens,
        do_sample=not greedy,
        temperature=None if greedy else temperature,
        top_p=None if greedy else top_p,
        top_k=None if greedy else 0,
        # Neutral values set explicitly: an unset field would be filled from the model's own
        # generation_config (a repetition penalty there would make the sampler differ from the log-probs).
        repetition_penalty=1.0,
        no_repeat_ngram_size=0,
        min_new_tokens=0,
        typical_p=1.0,
        eos_token_id=eos_ids,
        pad_token_id=pad_id,
    )
    was_training = model.training
    model.eval()
    if with_details:
        settings.return_dict_in_generate = True
        settings.output_logits = True
        settings.output_hidden_states = True
    output = model.generate(  # type: ignore[operator]  # nn.Module.__getattr__ hides the method
        input_ids=query_ids, attention_mask=query_mask, generation_config=settings
    )
    model.train(was_training)
    logits = hidden = None
    if with_details:
        logits = torch.stack(output.logits, dim=1).float()
        hidden = torch.stack([step[-1][:, -1] for step in output.hidden_states], dim=1).float()
        output = output.sequences
    response_ids = output[:, query_ids.shape[1] :]
    if response_ids.shape[1] == 0:
        response_ids = torch.full((len(prompt_ids), 1), pad_id, dtype=torch.long, device=device)
    mask, finished = response_mask_after_eos(response_ids, eos_ids)
    response_ids = torch.where(mask.bool(), response_ids, torch.full_like(response_ids, pad_id))
    return SampledBatch(query_ids, query_mask, response_ids, mask, finished, logits, hidden)


def decode_responses(tokenizer: PreTrainedTokenizerBase, batch: SampledBatch) -> list[GeneratedResponse]:
    """Decodes a `SampledBatch` into `GeneratedResponse`s."""
    results = []
    for row in range(batch.response_ids.shape[0]):
        n_tokens = int(batch.response_mask[row].sum())
        ids = batch.response_ids[row, :n_tokens].tolist()
        text = str(tokenizer.decode(ids, skip_special_tokens=True)).strip()
        results.append(GeneratedResponse(text=text, n_tokens=n_tokens, finished=bool(batch.finished[row])))
    return results


def generate_with_model(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    conversations: list[Conversation],
    config: GenerationConfig,
    *,
    progress: ProgressCallback | None = None,
    should_stop: StopCallback | None = None,
) -> list[list[GeneratedResponse]]:
    """`generate` with an already loaded model (see `generate`)."""
    torch.manual_seed(config.seed)
    jobs = [
        (index, encode_prompt(tokenizer, conversation, config.max_prompt_tokens))
        for index, conversation in enumerate(conversations)
        for _ in range(config.per_prompt)
    ]
    # Similar lengths together: less left padding, fewer wasted attention positions.
    jobs.sort(key=lambda job: len(job[1]))
    results: list[list[GeneratedResponse]] = [[] for _ in conversations]
    n_batches = (len(jobs) + config.batch_size - 1) // config.batch_size
    generated = 0
    for batch_index in range(n_batches):
        check_cancelled(should_stop, "during generation")
        chunk = jobs[batch_index * config.batch_size : (batch_index + 1) * config.batch_size]
        batch = sample_responses(
            model,
            tokenizer,
            [ids for _, ids in chunk],
            max_new_tokens=config.max_new_tokens,
            temperature=config.temperature,
            top_p=config.top_p,
        )
        for (index, _), response in zip(chunk, decode_responses(tokenizer, batch), strict=True):
            results[index].append(response)
            generated += response.n_tokens
        if progress is not None:
            progress((batch_index + 1) / n_batches, {"batch": batch_index + 1, "generated_tokens": generated})
    return results


def generate(
    model_ref: str | Path,
    conversations: list[Conversation],
    config: GenerationConfig,
    *,
    models_dir: Path | str,
    progress: ProgressCallback | None = None,
    should_stop: StopCallback | None = None,
) -> list[list[GeneratedResponse]]:
    """Samples `config.per_prompt` responses for each conversation.

    Args:
        model_ref (`str` or `Path`): a causal-LM model reference (see `training.models`).
        conversations (`list[list[dict]]`): each a list of `{"role", "content"}` messages ending with a user
            message; rendered with the model's chat template and the generation prompt.
        config (`GenerationConfig`): sampling settings (seeded).
        models_dir (`Path`): cache of converted models.
        progress (`callable`, *optional*): `progress(fraction, {"batch", "generated_tokens"})` per batch.
        should_stop (`callable`, *optional*): polled between batches; True raises `TrainingCancelled`.

    Returns:
        For each conversation (in order), `config.per_prompt` `GeneratedResponse`s.
    """
    model, tokenizer = load_causal_lm(model_ref, models_dir=models_dir)
    return generate_with_model(
        model, tokenizer, conversations, config, progress=progress, should_stop=should_stop
    )
