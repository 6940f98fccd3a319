"""PPO-max (MOSS-RLHF part I) for a causal-LM policy against a scalar reward model.

One iteration: sample one response per prompt for a batch of prompts, score the responses with the reward
model (decoded and re-tokenised, so the reward model may use another tokenizer), normalise the score with
running moments and clip it, subtract the missing-EOS penalty in those normalised units, fold a per-token KL
penalty against the frozen reference into the rewards, compute GAE advantages (whitened) and returns, then
run `ppo_epochs` passes of clipped policy and value updates over mini-batches (grad-norm clipped). Before
the first actor update the critic alone takes `critic_warmup_passes` unclipped passes over the first
rollout, then the advantages are re-estimated with it.

The behaviour policy's log-probs (and, for the `head` critic, the value features) come from the generation
pass itself, so collecting experience costs one extra forward pass (the reference) instead of three. The
critic is chosen by `PPOConfig.critic_init` (see `training.critic`).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator
from copy import deepcopy
from pathlib import Path
from typing import Any

import torch

from training.checkpoints import EARLIER_DIR, atomic_directory, data_hash, write_manifest
from training.config import PPOConfig
from training.critic import build_critic, rescale_to_normalised_rewards
from training.generation import encode_prompt
from training.kl_guard import KLGuard
from training.metrics import (
    MetricsLog,
    ProgressCallback,
    StopCallback,
    check_cancelled,
    mean_of,
    write_metrics_json,
)
from training.models import load_causal_lm, save_model
from training.ppo_math import (
    RunningMoments,
    clipped_policy_loss,
    clipped_value_loss,
    entropy_from_logits,
    kl_penalized_rewards,
    logprobs_of_labels,
    masked_mean,
)
from training.ppo_setup import Learner, RewardFunction, Scorer, build_learner, gae_lambda, layer_split
from training.precision import autocast, resolve_precision
from training.ptx import Demonstration, ptx_batches, ptx_loss
from training.rollout import (
    Rollout,
    estimate_advantages,
    reference_pass,
    response_forward,
    response_values,
    rollout_values,
    sample_rollout,
)
from training.rows import Conversation

STAT_KEYS = ("policy_loss", "value_loss", "clipfrac", "vf_clipfrac", "approx_kl", "entropy", "ptx_loss")


def _optimise(
    learner: Learner,
    batch: Rollout,
    rewards: torch.Tensor,
    config: PPOConfig,
    *,
    lam: float,
    warmup_passes: int,
    ptx: Iterator[list[Demonstration]] | None,
    pad_id: int,
    precision: str,
) -> tuple[dict[str, list[float]], int]:
    """Clipped policy and value updates over mini-batches; returns the stats and the tokens trained on.

    The first `warmup_passes` passes train only the critic, without value clipping (clipping around a fresh
    critic's values would hold it within `cliprange_value` of its starting point); the advantages are then
    re-estimated with the warmed-up critic before the actor's passes.
    """
    policy, critic, value_head = learner.policy, learner.critic, learner.value_head
    device = batch.response_ids.device
    policy.train()
    critic.train()
    stats: dict[str, list[float]] = {k: [] for k in STAT_KEYS}
    trained_tokens = 0
    for pass_index in range(warmup_passes + config.ppo_epochs):
        actor_frozen = pass_index < warmup_passes
        if warmup_passes and pass_index == warmup_passes:
            with torch.no_grad():
                batch.values = rollout_values(critic, value_head, batch, config.mini_batch_size)
            estimate_advantages(batch, rewards, gamma=config.gamma, lam=lam, whiten=config.whiten_advantages)
        order = torch.randperm(len(batch))
        for start in range(0, len(batch), config.mini_batch_size):
            rows = order[start : start + config.mini_batch_size].to(device)
            mask = batch.mask[rows]
            states = None
            if not actor_frozen:
                with autocast(precision, device):
                    logits, labels, states = response_forward(
                        policy, batch, rows, config.temperature, hidden=value_head is not None
                    )
                pg_loss, clipfrac, approx_kl = clipped_policy_loss(
                    logprobs_of_labels(logits, labels),
                    batch.logprobs[rows],
                    batch.advantages[rows],
                    mask,
                    config.cliprange,
                )
                actor_loss = pg_loss
                if ptx is not None:
                    with autocast(precision, device):
                        lm_loss = ptx_loss(policy, next(ptx), pad_id, device).float()
                    actor_loss = actor_loss + config.ptx_coef * lm_loss
                    stats["ptx_loss"].append(lm_loss.item())
                learner.actor_optimizer.zero_grad(set_to_none=True)
                actor_loss.backward()
                torch.nn.utils.clip_grad_norm_(learner.actor_params, config.max_grad_norm)
                learner.actor_optimizer.step()
                with torch.no_grad():
                    stats["entropy"].append(masked_mean(entropy_from_logits(logits), mask).item())
                stats["policy_loss"].append(pg_loss.item())
                stats["clipfrac"].append(clipfrac.item())
                stats["approx_kl"].append(approx_kl.item())
                trained_tokens += int(mask.sum())
            elif value_head is not None:
                # The policy has not moved since sampling: its hidden states are the ones the generation
                # pass kept, so the warm-up needs no forward pass at all.
                states = batch.generation_hidden[rows]
            with autocast(precision, device):
                if value_head is not None:
                    assert states is not None
                    new_values = value_head(states).float()
                else:
                    new_values = response_values(critic, batch, rows).float()
            vf_loss, vf_clipfrac = clipped_value_loss(
                new_values,
                batch.values[rows],
                batch.returns[rows],
                mask,
                math.inf if actor_frozen else config.cliprange_value,
            )
            learner.critic_optimizer.zero_grad(set_to_none=True)
            (config.vf_coef * vf_loss).backward()
            torch.nn.utils.clip_grad_norm_(learner.critic_params, config.max_grad_norm)
            learner.critic_optimizer.step()
            stats["value_loss"].append(vf_loss.item())
            stats["vf_clipfrac"].append(vf_clipfrac.item())
    return stats, trained_tokens


def train_ppo(
    config: PPOConfig,
    policy_ref: str | Path,
    reward_ref: str | Path | RewardFunction,
    prompts: list[Conversation],
    output_dir: Path | str,
    *,
    models_dir: Path | str,
    ptx_conversations: list[Conversation] | None = None,
    cost_ref: str | Path | RewardFunction | None = None,
    progress: ProgressCallback | None = None,
    should_stop: StopCallback | None = None,
) -> dict[str, Any]:
    """Runs a PPO-max round and saves the new policy (a full model, LoRA merged) to `output_dir`.

    Args:
        config (`PPOConfig`): budgets and coefficients.
        policy_ref (`str` or `Path`): the starting policy; also the frozen reference.
        reward_ref (`str`, `Path` or callable): a reward model reference, or a function
            `(prompts, response_texts) -> scores` (tests, rule-based rewards).
        prompts (`list[list[dict]]`): conversations ending with a user message; cycled in shuffled order.
        output_dir (`Path`): where the policy, tokenizer, `metrics.json`, `metrics.jsonl` and manifest go.
        models_dir (`Path`): cache of converted models.
        ptx_conversations (`list[list[dict]]`, *optional*): demonstrations for PPO-ptx (`config.ptx_coef`);
            the loss covers their assistant turns only.
        cost_ref (`str`, `Path` or callable, *optional*): a cost model (`training.cost`: higher = more
            harmful) or a function like `reward_ref`; the score PPO maximises is then the normalised reward
            minus `config.cost_coef` times the normalised cost.
        progress (`callable`, *optional*): `progress(fraction, metrics)` after every iteration.
        should_stop (`callable`, *optional*): polled between iterations; True raises `TrainingCancelled`
            and nothing is written at `output_dir`.

    Returns:
        Metrics: `reward_mean_initial` (first iteration), `reward_mean_final` (mean raw score over the last
        quarter of iterations), `kl_ref_final` (same window: mean over responses of the summed exact
        per-token KL to the reference), `kl_ref_per_token_final`, `eos_fraction_final`, `critic_init`,
        `gae_lambda`, `generated_tokens`, `trained_tokens`, `tokens_per_second`, `steps`, `duration_s`,
        `updates` (in the saved policy); with a cost model also `cost_mean_initial` and `cost_mean_final`
        (raw cost, same windows); when `config.kl_stop` stopped the run, `stopped_at_step` and `stopped_kl`
        (the rollout over the limit; the saved policy is the state the rollout before it measured).

    With `config.kl_stop`, the last state a rollout measured within it before the saved one (at least one
    update in) is also saved, in `output_dir/earlier` (`training.kl_guard`).
    """
    config.validate()
    if not prompts:
        raise ValueError("train_ppo: no prompts")
    started = time.monotonic()
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)

    policy, tokenizer = load_causal_lm(policy_ref, models_dir=models_dir)
    device = next(policy.parameters()).device
    precision = resolve_precision(config.precision, device)
    scorer = Scorer(reward_ref, models_dir=models_dir, device=device)
    cost_scorer = Scorer(cost_ref, models_dir=models_dir, device=device) if cost_ref is not None else None
    critic, critic_source = build_critic(config, policy, tokenizer, scorer.model, scorer.tokenizer)
    learner = build_learner(config, policy, critic)
    lam = gae_lambda(config, critic_source)
    split = layer_split(config, learner.policy)

    encoded_prompts = [encode_prompt(tokenizer, p, config.max_prompt_tokens) for p in prompts]
    prompt_order: list[int] = []
    moments, cost_moments = RunningMoments(), RunningMoments()
    ptx = (
        ptx_batches(tokenizer, ptx_conversations, config.mini_batch_size, 1024, config.seed)
        if ptx_conversations and config.ptx_coef > 0
        else None
    )
    generated_tokens = trained_tokens = 0
    guard = KLGuard(learner.policy, config.kl_stop)

    setup_seconds = time.monotonic() - started
    loop_started = time.monotonic()  # tokens/s covers the PPO iterations, not model loading
    with atomic_directory(output_dir) as tmp:
        log = MetricsLog(tmp, progress)
        try:
            for step in range(1, config.steps + 1):
                check_cancelled(should_stop, f"before PPO step {step}")
                step_started = time.monotonic()
                chosen: list[int] = []
                while len(chosen) < config.prompts_per_step:
                    if not prompt_order:
                        prompt_order = list(range(len(prompts)))
                        rng.shuffle(prompt_order)
                    chosen.append(prompt_order.pop())

                # 1. Experience: sample, score, log-probs, values.
                batch = sample_rollout(
                    learner.policy, tokenizer, [encoded_prompts[i] for i in chosen], config, split
                )
                sample_seconds = time.monotonic() - step_started
                raw = scorer([prompts[i] for i in chosen], batch.texts(tokenizer), config.reward_batch_size)
                raw = raw.to(device)
                normalised = _normalised(raw, moments, config)
                if config.normalize_reward and step == 1 and critic_source == "reward":
                    rescale_to_normalised_rewards(learner.critic, moments.mean, max(moments.std, 1e-3))
                cost_row: dict[str, float] = {}
                if cost_scorer is not None:
                    # Each score in its own running units, so cost_coef weighs harm against help the same
                    # whatever the two models' scales.
                    raw_cost = cost_scorer(
                        [prompts[i] for i in chosen], batch.texts(tokenizer), config.reward_batch_size
                    ).to(device)
                    cost = _normalised(raw_cost, cost_moments, config)
                    cost_row = {"cost_raw": raw_cost.mean().item(), "cost_normalized": cost.mean().item()}
                    normalised = normalised - config.cost_coef * cost
                # In normalised units, so the penalty weighs the same against any reward model's scale
                # (in raw units it was 67x a young reward model's whole spread, all of the signal).
                final_scores = normalised - config.missing_eos_penalty * (~batch.finished).float()
                reference_started = time.monotonic()
                score_seconds = reference_started - step_started - sample_seconds
                reference_pass(
                    batch,
                    learner.policy,
                    learner.frozen_reference,
                    learner.critic,
                    learner.value_head,
                    config,
                    precision=precision,
                )
                reference_seconds = time.monotonic() - reference_started
                kl_ref = batch.exact_kl.sum(dim=1).mean().item()
                if not guard.within(step - 1, kl_ref):
                    break  # over kl_stop: the policy is back at the previous rollout's state
                rewards, kl_estimate = kl_penalized_rewards(
                    final_scores, batch.logprobs, batch.ref_logprobs, batch.mask, config.kl_coef
                )
                estimate_advantages(
                    batch, rewards, gamma=config.gamma, lam=lam, whiten=config.whiten_advantages
                )
                lengths = batch.lengths
                generated_tokens += int(lengths.sum())

                # 2. Optimisation. The critic warm-up (MOSS-RLHF) runs on the first rollout, which then
                # trains the actor too: no sampling is spent on warm-up alone.
                warmup_passes = config.critic_warmup_passes if step == 1 else 0
                optimise_started = time.monotonic()
                stats, trained = _optimise(
                    learner,
                    batch,
                    rewards,
                    config,
                    lam=lam,
                    warmup_passes=warmup_passes,
                    ptx=ptx,
                    pad_id=tokenizer.pad_token_id,
                    precision=precision,
                )
                trained_tokens += trained

                elapsed = time.monotonic() - loop_started
                row: dict[str, Any] = {
                    "reward_raw": raw.mean().item(),
                    "reward_normalized": normalised.mean().item(),
                    "reward_penalised": final_scores.mean().item(),
                    **cost_row,
                    "reward_running_mean": moments.mean,
                    "reward_running_std": moments.std,
                    "kl_ref": kl_ref,
                    "kl_ref_per_token": masked_mean(batch.exact_kl, batch.mask).item(),
                    "kl_ref_estimate": kl_estimate.sum(dim=1).mean().item(),
                    "response_length": lengths.float().mean().item(),
                    "eos_fraction": batch.finished.float().mean().item(),
                    "critic_warmup_passes": warmup_passes,
                    "generated_tokens": generated_tokens,
                    "trained_tokens": trained_tokens,
                    "step_seconds": time.monotonic() - step_started,
                    "sample_seconds": sample_seconds,
                    "score_seconds": score_seconds,
                    "reference_seconds": reference_seconds,
                    "optimise_seconds": time.monotonic() - optimise_started,
                    "tokens_per_second": (generated_tokens + trained_tokens) / elapsed,
                }
                row.update({k: sum(v) / len(v) for k, v in stats.items() if v})
                log.log(step, step / config.steps, row)

            history = log.history
            window = history[-max(1, math.ceil(len(history) / 4)) :]
            stopped = guard.stopped_at
            updates = guard.kept[-1].updates if stopped is not None else len(history)
            metrics: dict[str, Any] = {
                "steps": len(history),
                "updates": updates,  # in the saved policy: fewer than steps when kl_stop went back one
                **(
                    {
                        "kl_stop": config.kl_stop,
                        "stopped_at_step": stopped.updates + 1,
                        "stopped_kl": stopped.kl,
                    }
                    if stopped is not None
                    else {}
                ),
                "reward_mean_initial": history[0]["reward_raw"],
                "reward_mean_final": mean_of(window, "reward_raw"),
                "kl_ref_final": mean_of(window, "kl_ref"),
                "kl_ref_per_token_final": mean_of(window, "kl_ref_per_token"),
                "eos_fraction_final": mean_of(window, "eos_fraction"),
                **(
                    {
                        "cost_mean_initial": history[0]["cost_raw"],
                        "cost_mean_final": mean_of(window, "cost_raw"),
                    }
                    if cost_scorer is not None
                    else {}
                ),
                "response_length_final": mean_of(window, "response_length"),
                "critic_init": critic_source,
                "gae_lambda": lam,
                "precision": precision,
                "generated_tokens": generated_tokens,
                "trained_tokens": trained_tokens,
                "tokens_per_second": (generated_tokens + trained_tokens) / (time.monotonic() - loop_started),
                "setup_s": setup_seconds,
                "duration_s": time.monotonic() - started,
            }
            check_cancelled(should_stop, "before saving the policy")
            fallback = guard.fallback(updates)
            if fallback is not None:
                with guard.applied(fallback):
                    _save_policy(learner.policy, tokenizer, tmp / EARLIER_DIR, lora=config.lora, copy=True)
                write_manifest(
                    tmp / EARLIER_DIR, kind="policy", base_model=str(policy_ref), config=config.to_dict(),
                    metrics={"steps": fallback.updates, "of_steps": config.steps, "kl_ref": fallback.kl},
                    data_hash=data_hash(prompts), extra={"trainer": "ppo", "earlier": True},
                )  # fmt: skip
            _save_policy(learner.policy, tokenizer, tmp, lora=config.lora, copy=False)
            write_metrics_json(tmp, metrics)
            write_manifest(
                tmp,
                kind="policy",
                base_model=str(policy_ref),
                config=config.to_dict(),
                metrics=metrics,
                data_hash=data_hash(prompts),
                extra={
                    "reward_model": reward_ref if isinstance(reward_ref, str) else str(reward_ref),
                    "cost_model": None if cost_ref is None else str(cost_ref),
                    "trainer": "ppo",
                },
            )
        finally:
            log.close()
    return metrics


def _save_policy(policy: Any, tokenizer: Any, directory: Path, *, lora: bool, copy: bool) -> None:
    """Saves the policy as a full model (LoRA merged: on a copy when `copy`, since merging unloads the
    adapters of the model it runs on)."""
    if lora:
        policy = (deepcopy(policy) if copy else policy).merge_and_unload()
    policy.eval()
    save_model(policy, tokenizer, directory)


def _normalised(raw: torch.Tensor, moments: RunningMoments, config: PPOConfig) -> torch.Tensor:
    """A batch of scores in running-std units (the statistics updated first), clipped to reward_clip."""
    if not config.normalize_reward:
        return raw.clamp(-config.reward_clip, config.reward_clip)
    moments.update(raw)
    return moments.normalize(raw, clip=config.reward_clip)


__all__ = ["RewardFunction", "gae_lambda", "train_ppo"]
