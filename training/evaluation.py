"""Acceptance checks for a new policy: a paired comparison with the previous one on held-out prompts.

Both policies answer every prompt `per_prompt` times at the round's sampling temperature (the one PPO
trained and the queue is served at), with the same seed, so that an unchanged policy writes the very same
responses. The candidate's samples keep their sampling logits: the KL to the baseline is computed exactly,
per token (the full next-token distributions at every position of the sampled responses, summed over the
response), which is never negative. Judges (the reward model; later the cost model) score both sides, each
candidate response is compared with every baseline response to the same prompt
(`training.acceptance.cross_outcomes`), and `training.acceptance.win_rate_test` says whether the candidate
is really better.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from training.acceptance import cross_outcomes, win_rate_test
from training.config import GenerationConfig
from training.generation import (
    GeneratedResponse,
    decode_responses,
    encode_prompt,
    generate_with_model,
    sample_responses,
)
from training.metrics import ProgressCallback, StopCallback, check_cancelled
from training.models import load_causal_lm, load_reward_model
from training.rollout import Rollout, exact_token_kl, response_forward
from training.rows import Conversation
from training.scoring import score_with_model

Judge = Callable[[list[Conversation], list[str]], list[float]]


@dataclass
class PolicySamples:
    """Both sides' responses, per prompt (`per_prompt` each, paired by position), and the candidate's
    exact KL to the baseline per response."""

    candidate: list[list[GeneratedResponse]]
    baseline: list[list[GeneratedResponse]]
    kl: list[float] = field(default_factory=list)
    kl_tokens: int = 0

    @property
    def kl_mean(self) -> float:
        return sum(self.kl) / len(self.kl) if self.kl else 0.0

    @property
    def kl_per_token(self) -> float:
        return sum(self.kl) / max(self.kl_tokens, 1)


@torch.no_grad()
def sample_with_exact_kl(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    reference: PreTrainedModel,
    prompts: list[Conversation],
    config: GenerationConfig,
    *,
    should_stop: StopCallback | None = None,
) -> tuple[list[list[GeneratedResponse]], list[float], int]:
    """Samples `config.per_prompt` responses per prompt from `model` and measures, on those very token ids,
    `sum_t KL(model(. | s_t) || reference(. | s_t))` at the sampling temperature.

    Returns:
        The responses per prompt, the KL of each response (in the same order, flattened), and the number
        of response tokens the KL was summed over.
    """
    torch.manual_seed(config.seed)
    temperature = config.temperature if config.temperature > 0 else 1.0
    jobs = [
        (index, encode_prompt(tokenizer, prompt, config.max_prompt_tokens))
        for index, prompt in enumerate(prompts)
        for _ in range(config.per_prompt)
    ]
    jobs.sort(key=lambda job: len(job[1]))
    results: list[list[GeneratedResponse]] = [[] for _ in prompts]
    kls: list[list[float]] = [[] for _ in prompts]
    tokens = 0
    for start in range(0, len(jobs), config.batch_size):
        check_cancelled(should_stop, "during the acceptance checks")
        chunk = jobs[start : start + config.batch_size]
        sampled = sample_responses(
            model,
            tokenizer,
            [ids for _, ids in chunk],
            max_new_tokens=config.max_new_tokens,
            temperature=config.temperature,
            top_p=config.top_p,
            with_details=True,
        )
        batch = Rollout(sampled)
        ref_logits, _, _ = response_forward(reference, batch, slice(None), temperature)
        per_token = exact_token_kl(batch.generation_logits / temperature, ref_logits) * batch.mask
        tokens += int(batch.mask.sum())
        for (index, _), response, kl in zip(
            chunk, decode_responses(tokenizer, sampled), per_token.sum(dim=1).tolist(), strict=True
        ):
            results[index].append(response)
            kls[index].append(kl)
    return results, [kl for per_prompt in kls for kl in per_prompt], tokens


def sample_pair(
    candidate_ref: str | Path,
    baseline_ref: str | Path,
    prompts: list[Conversation],
    *,
    models_dir: Path | str,
    generation: GenerationConfig,
    progress: ProgressCallback | None = None,
    should_stop: StopCallback | None = None,
) -> PolicySamples:
    """Both policies answer the prompts (same seed); the candidate's exact KL to the baseline comes along."""
    candidate, tokenizer = load_causal_lm(candidate_ref, models_dir=models_dir)
    baseline, baseline_tokenizer = load_causal_lm(baseline_ref, models_dir=models_dir)
    responses, kl, tokens = sample_with_exact_kl(
        candidate, tokenizer, baseline, prompts, generation, should_stop=should_stop
    )
    if progress is not None:
        progress(0.5, {"stage": "sampled_candidate"})
    del candidate
    baseline_responses = generate_with_model(
        baseline, baseline_tokenizer, prompts, generation, should_stop=should_stop
    )
    if progress is not None:
        progress(1.0, {"stage": "sampled_baseline"})
    return PolicySamples(responses, baseline_responses, kl, tokens)


def reward_judge(reward_ref: str | Path, *, models_dir: Path | str, batch_size: int = 32) -> Judge:
    """A judge that scores `(prompt, response)` with a reward model (loaded once)."""
    model, tokenizer = load_reward_model(reward_ref, models_dir=models_dir)

    def judge(prompts: list[Conversation], texts: list[str]) -> list[float]:
        conversations = [
            [*p, {"role": "assistant", "content": t}] for p, t in zip(prompts, texts, strict=True)
        ]
        return score_with_model(model, tokenizer, conversations, batch_size=batch_size)

    return judge


def judge_samples(
    samples: PolicySamples, prompts: list[Conversation], judge: Judge, *, bar: float = 0.5, seed: int = 0
) -> dict[str, Any]:
    """Scores both sides with `judge` and tests the candidate's win rate against `bar`, every candidate
    response against every baseline response to the same prompt.

    Returns:
        `WinRateTest` fields plus `mean_score_candidate` and `mean_score_baseline`.
    """
    candidate_prompts = [p for p, side in zip(prompts, samples.candidate, strict=True) for _ in side]
    baseline_prompts = [p for p, side in zip(prompts, samples.baseline, strict=True) for _ in side]
    candidate = judge(candidate_prompts, [r.text for side in samples.candidate for r in side])
    baseline = judge(baseline_prompts, [r.text for side in samples.baseline for r in side])
    outcomes: list[list[float]] = []
    position = baseline_position = 0
    for side, baseline_side in zip(samples.candidate, samples.baseline, strict=True):
        outcomes.append(
            cross_outcomes(
                candidate[position : position + len(side)],
                baseline[baseline_position : baseline_position + len(baseline_side)],
            )
        )
        position += len(side)
        baseline_position += len(baseline_side)
    result = win_rate_test(outcomes, bar=bar, seed=seed).to_dict()
    result["mean_score_candidate"] = sum(candidate) / max(len(candidate), 1)
    result["mean_score_baseline"] = sum(baseline) / max(len(baseline), 1)
    return result


def win_rate(
    reward_ref: str | Path,
    policy_a: str | Path,
    policy_b: str | Path,
    prompts: list[Conversation],
    *,
    models_dir: Path | str,
    generation: GenerationConfig | None = None,
    progress: ProgressCallback | None = None,
    should_stop: StopCallback | None = None,
) -> dict[str, Any]:
    """Reward-model-judged win rate of policy A over policy B (`sample_pair` + `judge_samples`), with the
    exact KL of A to B. Returns `win_rate`, the test's fields, `mean_reward_a`/`_b`, `kl`, `kl_per_token`."""
    settings = generation or GenerationConfig(per_prompt=1, seed=1234)
    samples = sample_pair(
        policy_a, policy_b, prompts, models_dir=models_dir, generation=settings, progress=progress,
        should_stop=should_stop,
    )  # fmt: skip
    judged = judge_samples(samples, prompts, reward_judge(reward_ref, models_dir=models_dir))
    return {
        **judged,
        "mean_reward_a": judged["mean_score_candidate"],
        "mean_reward_b": judged["mean_score_baseline"],
        "kl": samples.kl_mean,
        "kl_per_token": samples.kl_per_token,
        "responses": len(samples.kl),
    }


def kl_to_reference(
    policy_ref: str | Path,
    reference_ref: str | Path,
    prompts: list[Conversation],
    *,
    models_dir: Path | str,
    generation: GenerationConfig | None = None,
) -> dict[str, float]:
    """Exact KL(policy || reference) per response on the policy's own samples: `{"kl", "kl_per_token",
    "responses"}`."""
    settings = generation or GenerationConfig(per_prompt=1, seed=1234)
    policy, tokenizer = load_causal_lm(policy_ref, models_dir=models_dir)
    reference, _ = load_causal_lm(reference_ref, models_dir=models_dir)
    _, kl, tokens = sample_with_exact_kl(policy, tokenizer, reference, prompts, settings)
    return {"kl": sum(kl) / max(len(kl), 1), "kl_per_token": sum(kl) / max(tokens, 1), "responses": len(kl)}
