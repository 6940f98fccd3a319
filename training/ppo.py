"""PPO-max (MOSS-RLHF part I) for a causal-LM policy against a scalar reward model.

One iteration: sample one response per prompt for a small batch of prompts, score the responses with the
reward model (decoded and re-tokenised, so the reward model may use another tokenizer), penalise responses
without EOS, normalise the score with running moments and clip it, fold a per-token KL penalty against the
frozen reference into the rewards, compute GAE advantages (whitened) and returns, then run `ppo_epochs`
passes of clipped policy and value updates over mini-batches (grad-norm clipped). Before the first actor
update the critic alone takes `critic_warmup_passes` passes over the first rollout, then the advantages are
re-estimated with it.

The behaviour policy's log-probs (and, for the `head` critic, the value features) come from the generation
pass itself, so collecting experience costs one extra forward pass (the reference) instead of three. The
critic is chosen by `PPOConfig.critic_init` (see `training.critic`).
"""

from __future__ import annotations

import copy
import math
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from training.checkpoints import atomic_directory, data_hash, write_manifest
from training.config import PPOConfig
from training.critic import ValueHead, build_critic, disable_dropout
from training.generation import encode_prompt, sample_responses
from training.metrics import (
    MetricsLog,
    ProgressCallback,
    StopCallback,
    check_cancelled,
    mean_of,
    write_metrics_json,
)
from training.models import load_causal_lm, load_reward_model, save_model
from training.optimizers import adamw
from training.ppo_math import (
    RunningMoments,
    clipped_policy_loss,
    clipped_value_loss,
    entropy_from_logits,
    kl_penalized_rewards,
    logprobs_of_labels,
    masked_mean,
)
from training.reward import score_with_model
from training.rollout import (
    Rollout,
    estimate_advantages,
    ptx_batches,
    ptx_loss,
    reference_model,
    response_forward,
    response_values,
    rollout_values,
)
from training.rows import Conversation

RewardFunction = Callable[[list[Conversation], list[str]], list[float]]


def train_ppo(
    config: PPOConfig,
    policy_ref: str | Path,
    reward_ref: str | Path | RewardFunction,
    prompts: list[Conversation],
    output_dir: Path | str,
    *,
    models_dir: Path | str,
    ptx_conversations: list[Conversation] | None = None,
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
        ptx_conversations (`list[list[dict]]`, *optional*): demonstrations for PPO-ptx (`config.ptx_coef`).
        progress (`callable`, *optional*): `progress(fraction, metrics)` after every iteration.
        should_stop (`callable`, *optional*): polled between iterations; True raises `TrainingCancelled`
            and nothing is written at `output_dir`.

    Returns:
        Metrics: `reward_mean_initial` (first iteration), `reward_mean_final` (mean raw score over the last
        quarter of iterations), `kl_ref_final` (same window: mean over responses of the summed per-token
        `logp - logp_ref`), `eos_fraction_final`, `critic_init`, `generated_tokens`, `trained_tokens`,
        `tokens_per_second`, `steps`, `duration_s`.
    """
    config.validate()
    if not prompts:
        raise ValueError("train_ppo: no prompts")
    started = time.monotonic()
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)

    policy, tokenizer = load_causal_lm(policy_ref, models_dir=models_dir)
    device = next(policy.parameters()).device
    reward_model: PreTrainedModel | None = None
    reward_tokenizer: PreTrainedTokenizerBase | None = None
    reward_fn: RewardFunction | None = None
    if callable(reward_ref):
        reward_fn = reward_ref
    else:
        reward_model, reward_tokenizer = load_reward_model(reward_ref, models_dir=models_dir, device=device)
        reward_model.requires_grad_(False)
    critic, critic_source = build_critic(config, policy, tokenizer, reward_model, reward_tokenizer)
    value_head = critic if isinstance(critic, ValueHead) else None
    disable_dropout(policy)

    frozen_reference: nn.Module | None = None
    if config.lora:
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        )
        policy = cast(PreTrainedModel, get_peft_model(policy, lora))  # forwards the model's API
        disable_dropout(policy)  # LoRA's own dropout would make the first ratio differ from 1
    else:
        frozen_reference = copy.deepcopy(policy).requires_grad_(False).eval()
    actor_params = [p for p in policy.parameters() if p.requires_grad]
    critic_params = [p for p in critic.parameters() if p.requires_grad]
    actor_optimizer = adamw(actor_params, lr=config.learning_rate)
    critic_optimizer = adamw(critic_params, lr=config.critic_learning_rate)

    encoded_prompts = [encode_prompt(tokenizer, p, config.max_prompt_tokens) for p in prompts]
    prompt_order: list[int] = []
    moments = RunningMoments()
    ptx = (
        ptx_batches(tokenizer, ptx_conversations, config.mini_batch_size, 1024, config.seed)
        if ptx_conversations and config.ptx_coef > 0
        else None
    )
    generated_tokens = trained_tokens = 0

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
                policy.eval()
                if config.lora:
                    # Unmerged LoRA adds ~200 small matmuls to every decoding step (3x slower sampling on a
                    # CPU); merged, sampling runs at base-model speed. Unmerged again before the reference
                    # pass, which needs the adapter-free weights.
                    policy.merge_adapter()  # type: ignore[operator]  # PeftModel method behind nn.Module.__getattr__
                try:
                    sampled = sample_responses(
                        policy,
                        tokenizer,
                        [encoded_prompts[i] for i in chosen],
                        max_new_tokens=config.max_new_tokens,
                        temperature=config.temperature,
                        top_p=config.top_p,
                        with_details=True,
                    )
                finally:
                    if config.lora:
                        policy.unmerge_adapter()  # type: ignore[operator]  # PeftModel method behind nn.Module.__getattr__
                batch = Rollout(sampled)
                lengths = batch.mask.sum(dim=1)
                texts = [
                    str(
                        tokenizer.decode(batch.response_ids[i, : int(lengths[i])], skip_special_tokens=True)
                    ).strip()
                    for i in range(len(chosen))
                ]
                conversations = [prompts[i] for i in chosen]
                if reward_fn is not None:
                    raw = torch.tensor(reward_fn(conversations, texts), dtype=torch.float32)
                else:
                    assert reward_model is not None and reward_tokenizer is not None
                    raw = torch.tensor(
                        score_with_model(
                            reward_model,
                            reward_tokenizer,
                            [
                                [*c, {"role": "assistant", "content": t}]
                                for c, t in zip(conversations, texts, strict=True)
                            ],
                            batch_size=config.reward_batch_size,
                        )
                    )
                raw = raw.to(device)
                penalised = raw - config.missing_eos_penalty * (~sampled.finished).float()
                if config.normalize_reward:
                    moments.update(penalised)
                    final_scores = moments.normalize(penalised, clip=config.reward_clip)
                else:
                    final_scores = penalised.clamp(-config.reward_clip, config.reward_clip)

                with torch.no_grad():
                    # The behaviour policy's log-probs come from the sampling pass itself.
                    batch.logprobs = logprobs_of_labels(
                        batch.generation_logits / config.temperature, batch.response_ids
                    )
                    ref_logprobs, values = [], []
                    for start in range(0, len(chosen), config.mini_batch_size):
                        rows = slice(start, start + config.mini_batch_size)
                        with reference_model(policy, frozen_reference) as reference:
                            ref_logits, labels, _ = response_forward(
                                reference, batch, rows, config.temperature
                            )
                        ref_logprobs.append(logprobs_of_labels(ref_logits, labels))
                        if value_head is None:
                            values.append(response_values(critic, batch, rows))
                    batch.ref_logprobs = torch.cat(ref_logprobs)
                    if value_head is not None:
                        batch.values = value_head(batch.generation_hidden)
                    else:
                        batch.values = torch.cat(values).float()
                    batch.generation_logits = torch.empty(0)  # free memory
                    rewards, kl = kl_penalized_rewards(
                        final_scores, batch.logprobs, batch.ref_logprobs, batch.mask, config.kl_coef
                    )

                estimate_advantages(batch, rewards, config)
                generated_tokens += int(lengths.sum())

                # 2. Optimisation: clipped policy and value updates over mini-batches. Before the actor's
                # first update, the critic alone takes `critic_warmup_passes` passes over this first rollout
                # (MOSS-RLHF's critic warm-up) and the advantages are then re-estimated with it, so the
                # rollout still trains the actor: no sampling is spent on warm-up alone.
                warmup_passes = config.critic_warmup_passes if step == 1 else 0
                policy.train()
                critic.train()
                stats: dict[str, list[float]] = {
                    k: []
                    for k in (
                        "policy_loss",
                        "value_loss",
                        "clipfrac",
                        "vf_clipfrac",
                        "approx_kl",
                        "entropy",
                        "ptx_loss",
                    )
                }
                for pass_index in range(warmup_passes + config.ppo_epochs):
                    actor_frozen = pass_index < warmup_passes
                    if warmup_passes and pass_index == warmup_passes:
                        with torch.no_grad():
                            batch.values = rollout_values(critic, value_head, batch, config.mini_batch_size)
                        estimate_advantages(batch, rewards, config)
                    order = torch.randperm(len(chosen))
                    for start in range(0, len(chosen), config.mini_batch_size):
                        rows_t = order[start : start + config.mini_batch_size].to(device)
                        mask = batch.mask[rows_t]
                        states = None
                        if not actor_frozen:
                            logits, labels, states = response_forward(
                                policy, batch, rows_t, config.temperature, hidden=value_head is not None
                            )
                        elif value_head is not None:
                            # The policy has not moved since sampling: its hidden states are the ones the
                            # generation pass kept, so the warm-up needs no forward pass at all.
                            states = batch.generation_hidden[rows_t]
                        if not actor_frozen:
                            new_logprobs = logprobs_of_labels(logits, labels)
                            pg_loss, clipfrac, approx_kl = clipped_policy_loss(
                                new_logprobs,
                                batch.logprobs[rows_t],
                                batch.advantages[rows_t],
                                mask,
                                config.cliprange,
                            )
                            actor_loss = pg_loss
                            if ptx is not None:
                                lm_loss = ptx_loss(policy, next(ptx), tokenizer.pad_token_id, device)
                                actor_loss = actor_loss + config.ptx_coef * lm_loss
                                stats["ptx_loss"].append(lm_loss.item())
                            actor_optimizer.zero_grad(set_to_none=True)
                            actor_loss.backward()
                            torch.nn.utils.clip_grad_norm_(actor_params, config.max_grad_norm)
                            actor_optimizer.step()
                            with torch.no_grad():
                                stats["entropy"].append(masked_mean(entropy_from_logits(logits), mask).item())
                            stats["policy_loss"].append(pg_loss.item())
                            stats["clipfrac"].append(clipfrac.item())
                            stats["approx_kl"].append(approx_kl.item())
                            trained_tokens += int(mask.sum())
                        if value_head is not None:
                            assert states is not None
                            new_values = value_head(states)
                        else:
                            new_values = response_values(critic, batch, rows_t)
                        vf_loss, vf_clipfrac = clipped_value_loss(
                            new_values,
                            batch.values[rows_t],
                            batch.returns[rows_t],
                            mask,
                            config.cliprange_value,
                        )
                        critic_optimizer.zero_grad(set_to_none=True)
                        (config.vf_coef * vf_loss).backward()
                        torch.nn.utils.clip_grad_norm_(critic_params, config.max_grad_norm)
                        critic_optimizer.step()
                        stats["value_loss"].append(vf_loss.item())
                        stats["vf_clipfrac"].append(vf_clipfrac.item())

                elapsed = time.monotonic() - loop_started
                row: dict[str, Any] = {
                    "reward_raw": raw.mean().item(),
                    "reward_penalised": penalised.mean().item(),
                    "reward_normalized": final_scores.mean().item(),
                    "reward_running_mean": moments.mean,
                    "reward_running_std": moments.std,
                    "kl_ref": kl.sum(dim=1).mean().item(),
                    "kl_ref_per_token": masked_mean(kl, batch.mask).item(),
                    "response_length": lengths.float().mean().item(),
                    "eos_fraction": sampled.finished.float().mean().item(),
                    "critic_warmup_passes": warmup_passes,
                    "generated_tokens": generated_tokens,
                    "trained_tokens": trained_tokens,
                    "step_seconds": time.monotonic() - step_started,
                    "tokens_per_second": (generated_tokens + trained_tokens) / elapsed,
                }
                row.update({k: sum(v) / len(v) for k, v in stats.items() if v})
                log.log(step, step / config.steps, row)

            history = log.history
            window = history[-max(1, math.ceil(len(history) / 4)) :]
            duration = time.monotonic() - started
            metrics: dict[str, Any] = {
                "steps": len(history),
                "reward_mean_initial": history[0]["reward_raw"],
                "reward_mean_final": mean_of(window, "reward_raw"),
                "kl_ref_final": mean_of(window, "kl_ref"),
                "kl_ref_per_token_final": mean_of(window, "kl_ref_per_token"),
                "eos_fraction_final": mean_of(window, "eos_fraction"),
                "response_length_final": mean_of(window, "response_length"),
                "critic_init": critic_source,
                "generated_tokens": generated_tokens,
                "trained_tokens": trained_tokens,
                "tokens_per_second": (generated_tokens + trained_tokens) / (time.monotonic() - loop_started),
                "setup_s": setup_seconds,
                "duration_s": duration,
            }
            check_cancelled(should_stop, "before saving the policy")
            final = policy.merge_and_unload() if config.lora else policy  # type: ignore[operator]  # PeftModel method behind nn.Module.__getattr__
            final.eval()
            save_model(final, tokenizer, tmp)
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
                    "trainer": "ppo",
                },
            )
        finally:
            log.close()
    return metrics


__all__ = ["RewardFunction", "train_ppo"]
