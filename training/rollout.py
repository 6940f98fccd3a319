"""A PPO rollout and the passes over it: sampling it, the log-prob / value forwards over its response
tokens, the frozen reference, exact per-token KL, and GAE. `training.ppo` runs the loop."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from training.config import PPOConfig
from training.critic import ValueHead
from training.generation import SampledBatch, sample_responses
from training.layer_split import LayerSplit
from training.ppo_math import generalized_advantage_estimation, logprobs_of_labels, masked_whiten
from training.precision import autocast


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
        self.finished = sampled.finished
        assert sampled.logits is not None and sampled.hidden is not None, "sample with with_details=True"
        self.generation_logits = sampled.logits[:, :width]
        self.generation_hidden = sampled.hidden[:, :width]
        self.logprobs = torch.empty(0)
        self.ref_logprobs = torch.empty(0)
        self.exact_kl = torch.empty(0)
        self.values = torch.empty(0)
        self.advantages = torch.empty(0)
        self.returns = torch.empty(0)
        # With a LayerSplit: the input of its first layer at every position but the last, `[B, L - 1, H]`.
        self.split: LayerSplit | None = None
        self.split_states = torch.empty(0)
        self._query_offset = first

    def __len__(self) -> int:
        return int(self.response_ids.shape[0])

    @property
    def lengths(self) -> torch.Tensor:
        """`[B]` response tokens of each row (EOS included)."""
        return self.mask.sum(dim=1)

    def texts(self, tokenizer: PreTrainedTokenizerBase) -> list[str]:
        """The decoded responses (special tokens removed), what the reward model reads."""
        return [
            str(tokenizer.decode(self.response_ids[i, : int(n)], skip_special_tokens=True)).strip()
            for i, n in enumerate(self.lengths.tolist())
        ]

    def attach_split(self, split: LayerSplit, captured: list[torch.Tensor]) -> None:
        """Keeps the states a split pass needs (see `training.layer_split`), trimmed like the ids."""
        states = torch.cat(captured, dim=1)[:, self._query_offset :]
        self.split = split
        self.split_states = states[:, : self.query_ids.shape[1] + self.response_ids.shape[1] - 1]

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


def sample_rollout(
    policy: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompt_ids: list[list[int]],
    config: PPOConfig,
    split: LayerSplit | None = None,
) -> Rollout:
    """Samples one response per prompt with the policy at the PPO temperature, keeping the logits and
    hidden states of the sampling pass (the behaviour log-probs and the value-head features) and, with a
    `split`, the input of its first layer (what the later passes start from)."""
    policy.eval()
    if config.lora:
        # Unmerged LoRA adds ~200 small matmuls to every decoding step (3x slower sampling on a CPU); merged,
        # sampling runs at base-model speed. Unmerged again before the reference pass, which needs the
        # adapter-free weights.
        policy.merge_adapter()  # type: ignore[operator]  # PeftModel method behind nn.Module.__getattr__
    try:
        capture: AbstractContextManager[list[torch.Tensor]] = (
            split.capture() if split is not None else nullcontext([])
        )
        with capture as captured:
            sampled = sample_responses(
                policy,
                tokenizer,
                prompt_ids,
                max_new_tokens=config.max_new_tokens,
                temperature=config.temperature,
                top_p=config.top_p,
                with_details=True,
            )
    finally:
        if config.lora:
            policy.unmerge_adapter()  # type: ignore[operator]  # PeftModel method behind nn.Module.__getattr__
    batch = Rollout(sampled)
    if split is not None:
        batch.attach_split(split, captured)
    return batch


def response_forward(
    model: nn.Module, batch: Rollout, rows: torch.Tensor | slice, temperature: float, *, hidden: bool = False
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Temperature-scaled logits `[b, T, V]` predicting each response token, the labels `[b, T]`, and with
    `hidden` the last-layer states `[b, T, H]` those logits were read from.

    Only the response window's logits are computed (`logits_to_keep`); with the rollout's layer split,
    only the top layers run (see `training.layer_split`)."""
    ids, attention, positions, query_len = batch.inputs(rows)
    width = batch.response_ids.shape[1]
    window = slice(query_len - 1, query_len - 1 + width)
    if batch.split is not None:
        states = batch.split_states[rows]
        start = states.shape[1] - (ids.shape[1] - 1)  # the rows' common padding, trimmed like the ids
        with batch.split.top_only():
            output = model(
                inputs_embeds=states[:, start:],
                attention_mask=attention[:, :-1],
                position_ids=positions[:, :-1],
                use_cache=False,
                output_hidden_states=hidden,
                logits_to_keep=width,
            )
    else:
        output = model(
            input_ids=ids,
            attention_mask=attention,
            position_ids=positions,
            use_cache=False,
            output_hidden_states=hidden,
            logits_to_keep=width + 1,
        )
    logits = output.logits[:, :width].float() / temperature
    last = output.hidden_states[-1][:, window] if hidden else None
    return logits, batch.response_ids[rows], last


def response_values(critic: nn.Module, batch: Rollout, rows: torch.Tensor | slice) -> torch.Tensor:
    ids, attention, positions, query_len = batch.inputs(rows)
    values = critic(ids, attention, positions)
    width = batch.response_ids.shape[1]
    return values[:, query_len - 1 : query_len - 1 + width]


def exact_token_kl(logits: torch.Tensor, ref_logits: torch.Tensor) -> torch.Tensor:
    """Exact `KL(p || q)` of the next-token distributions at each position: `[B, T, V]` x2 -> `[B, T]`.

    Unlike the sampled estimate `log p(x) - log q(x)`, it is never negative, and its sum over a sampled
    response is an unbiased estimate of the sequence KL with far less variance.
    """
    logp = F.log_softmax(logits.float(), dim=-1)
    logq = F.log_softmax(ref_logits.float(), dim=-1)
    return (logp.exp() * (logp - logq)).sum(-1).clamp(min=0.0)


@contextmanager
def reference_model(policy: nn.Module, frozen_reference: nn.Module | None) -> Iterator[nn.Module]:
    if frozen_reference is not None:
        yield frozen_reference
    else:  # LoRA: the reference is the same weights with the adapter switched off
        with policy.disable_adapter():  # type: ignore[operator]  # PeftModel method behind nn.Module.__getattr__
            yield policy


@torch.no_grad()
def reference_pass(
    batch: Rollout,
    policy: nn.Module,
    frozen_reference: nn.Module | None,
    critic: nn.Module,
    value_head: ValueHead | None,
    config: PPOConfig,
    *,
    precision: str = "fp32",
) -> None:
    """Fills the rollout's behaviour and reference log-probs, the exact per-token KL between them and the
    critic's values; then frees the sampling pass's logits. With `precision` bf16 the reference's and a
    separate critic's forwards run under autocast (the behaviour log-probs stay the sampler's float32)."""
    # The behaviour policy's log-probs come from the sampling pass itself.
    behaviour_logits = batch.generation_logits / config.temperature
    device = behaviour_logits.device
    batch.logprobs = logprobs_of_labels(behaviour_logits, batch.response_ids)
    ref_logprobs, exact, values = [], [], []
    for start in range(0, len(batch), config.mini_batch_size):
        rows = slice(start, start + config.mini_batch_size)
        with reference_model(policy, frozen_reference) as reference, autocast(precision, device):
            ref_logits, labels, _ = response_forward(reference, batch, rows, config.temperature)
        ref_logprobs.append(logprobs_of_labels(ref_logits, labels))
        exact.append(exact_token_kl(behaviour_logits[rows], ref_logits) * batch.mask[rows])
        if value_head is None:
            with autocast(precision, device):
                values.append(response_values(critic, batch, rows).float())
    batch.ref_logprobs = torch.cat(ref_logprobs)
    batch.exact_kl = torch.cat(exact)
    batch.values = (
        value_head(batch.generation_hidden) if value_head is not None else torch.cat(values).float()
    )
    batch.generation_logits = torch.empty(0)  # free memory


@torch.no_grad()
def estimate_advantages(
    batch: Rollout, rewards: torch.Tensor, *, gamma: float, lam: float, whiten: bool
) -> None:
    """GAE advantages (whitened when asked) and returns from the rollout's current values."""
    batch.advantages, batch.returns = generalized_advantage_estimation(
        rewards, batch.values, batch.mask, gamma, lam
    )
    if whiten:
        batch.advantages = masked_whiten(batch.advantages, batch.mask)


def rollout_values(
    critic: nn.Module, value_head: ValueHead | None, batch: Rollout, mini_batch_size: int
) -> torch.Tensor:
    """The critic's values `[B, T]` for a whole rollout (after the critic warm-up changed them)."""
    if value_head is not None:
        return value_head(batch.generation_hidden).float()
    return torch.cat(
        [
            response_values(critic, batch, slice(i, i + mini_batch_size))
            for i in range(0, len(batch), mini_batch_size)
        ]
    ).float()
