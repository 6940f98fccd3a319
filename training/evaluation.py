"""Acceptance checks for a new policy: reward-model-judged win rate and KL to a reference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from training.config import GenerationConfig
from training.generation import encode_prompt, generate_with_model, left_pad
from training.metrics import ProgressCallback, StopCallback, check_cancelled
from training.models import load_causal_lm, load_reward_model
from training.ppo_math import logprobs_of_labels
from training.rows import Conversation
from training.scoring import score_with_model


def _evaluation_sampling(config: GenerationConfig | None) -> GenerationConfig:
    return config or GenerationConfig(per_prompt=1, max_new_tokens=64, temperature=0.7, top_p=0.9, seed=1234)


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
    """Reward-model-judged win rate of policy A against policy B on the same prompts.

    Each policy samples `generation.per_prompt` responses per prompt (same seed); the reward model scores
    them; response i of A is compared with response i of B (a tie counts half).

    Args:
        reward_ref: the judging reward model.
        policy_a: the candidate policy.
        policy_b: the policy to beat (usually the previous accepted one).
        prompts: conversations ending with a user message (eval split).
        models_dir: cache of converted models.
        generation: sampling settings (default: one 64-token sample at temperature 0.7, seed 1234).
        progress / should_stop: see `training.metrics`.

    Returns:
        `{"win_rate", "wins", "ties", "losses", "comparisons", "mean_reward_a", "mean_reward_b"}`.
    """
    settings = _evaluation_sampling(generation)
    responses = []
    for index, ref in enumerate((policy_a, policy_b)):
        check_cancelled(should_stop, "during win-rate evaluation")
        model, tokenizer = load_causal_lm(ref, models_dir=models_dir)
        responses.append(generate_with_model(model, tokenizer, prompts, settings, should_stop=should_stop))
        del model
        if progress is not None:
            progress((index + 1) / 3, {"stage": f"generated_{'ab'[index]}"})
    reward_model, reward_tokenizer = load_reward_model(reward_ref, models_dir=models_dir)
    scores = []
    for side in responses:
        conversations = [
            [*prompt, {"role": "assistant", "content": response.text}]
            for prompt, samples in zip(prompts, side, strict=True)
            for response in samples
        ]
        scores.append(torch.tensor(score_with_model(reward_model, reward_tokenizer, conversations)))
    a, b = scores
    wins, ties = int((a > b).sum()), int((a == b).sum())
    total = len(a)
    result = {
        "win_rate": (wins + 0.5 * ties) / max(total, 1),
        "wins": wins,
        "ties": ties,
        "losses": total - wins - ties,
        "comparisons": total,
        "mean_reward_a": a.mean().item(),
        "mean_reward_b": b.mean().item(),
    }
    if progress is not None:
        progress(1.0, dict(result))
    return result


@torch.no_grad()
def kl_to_reference(
    policy_ref: str | Path,
    reference_ref: str | Path,
    prompts: list[Conversation],
    *,
    models_dir: Path | str,
    generation: GenerationConfig | None = None,
) -> dict[str, float]:
    """Monte-Carlo KL(policy || reference) per response: mean over sampled responses of the summed
    `log p_policy(token) - log p_reference(token)`, at the sampling temperature.

    Returns:
        `{"kl", "kl_per_token", "responses"}`.
    """
    settings = _evaluation_sampling(generation)
    policy, tokenizer = load_causal_lm(policy_ref, models_dir=models_dir)
    reference, _ = load_causal_lm(reference_ref, models_dir=models_dir)
    samples = generate_with_model(policy, tokenizer, prompts, settings)
    device = next(policy.parameters()).device
    total_kl, total_tokens, count = 0.0, 0, 0
    temperature = settings.temperature if settings.temperature > 0 else 1.0
    for prompt, responses in zip(prompts, samples, strict=True):
        prompt_ids = encode_prompt(tokenizer, prompt, settings.max_prompt_tokens)
        for response in responses:
            response_ids = tokenizer(response.text, add_special_tokens=False)["input_ids"][
                : settings.max_new_tokens
            ]
            if not response_ids:
                continue
            ids, mask = left_pad([prompt_ids + response_ids], tokenizer.pad_token_id, device)
            labels = ids[:, len(prompt_ids) :]
            logps = []
            for model in (policy, reference):
                logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
                logits = logits[:, len(prompt_ids) - 1 : -1].float() / temperature
                logps.append(logprobs_of_labels(logits, labels))
            total_kl += (logps[0] - logps[1]).sum().item()
            total_tokens += labels.shape[1]
            count += 1
    return {
        "kl": total_kl / max(count, 1),
        "kl_per_token": total_kl / max(total_tokens, 1),
        "responses": count,
    }
