"""The formulas of PPO-max, as pure tensor functions (tested against hand-computed values).

Shapes: `B` sequences, `T` response tokens. `mask` is `[B, T]` with 1 on response tokens (a prefix of each
row: up to and including EOS) and 0 on padding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def masked_mean(values: torch.Tensor, mask: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """Mean of `values` over positions where `mask` is 1 (over `dim`, or everything)."""
    mask = mask.to(values.dtype)
    if dim is None:
        return (values * mask).sum() / mask.sum().clamp(min=1.0)
    return (values * mask).sum(dim) / mask.sum(dim).clamp(min=1.0)


def masked_var(values: torch.Tensor, mask: torch.Tensor, unbiased: bool = True) -> torch.Tensor:
    """Variance of the masked entries (Bessel-corrected when `unbiased` and there is more than one)."""
    mean = masked_mean(values, mask)
    var = masked_mean((values - mean) ** 2, mask)
    count = mask.sum()
    if unbiased and count > 1:
        var = var * count / (count - 1)
    return var


def masked_whiten(values: torch.Tensor, mask: torch.Tensor, shift_mean: bool = True) -> torch.Tensor:
    """`(values - mean) / std` over masked entries (mean kept unless `shift_mean`); 0 where masked."""
    mean, var = masked_mean(values, mask), masked_var(values, mask)
    whitened = (values - mean) * torch.rsqrt(var + 1e-8)
    if not shift_mean:
        whitened = whitened + mean
    return whitened * mask.to(values.dtype)


def logprobs_of_labels(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Log-probability of each label: `logits` `[B, T, V]`, `labels` `[B, T]` -> `[B, T]`."""
    return torch.gather(F.log_softmax(logits.float(), dim=-1), 2, labels.unsqueeze(-1)).squeeze(-1)


def entropy_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of each categorical distribution: `[B, T, V]` -> `[B, T]`."""
    logp = F.log_softmax(logits.float(), dim=-1)
    return -(logp.exp() * logp).sum(-1)


def kl_penalized_rewards(
    scores: torch.Tensor,
    logprobs: torch.Tensor,
    ref_logprobs: torch.Tensor,
    mask: torch.Tensor,
    kl_coef: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token rewards `r_t = -kl_coef * (logp_t - logp_ref_t)`, plus the sequence score on its last token.

    Args:
        scores: `[B]` (normalised) reward-model scores.
        logprobs: `[B, T]` log-probs of the sampled tokens under the policy that sampled them.
        ref_logprobs: `[B, T]` log-probs of the same tokens under the frozen reference.
        mask: `[B, T]` response mask.
        kl_coef: beta.

    Returns:
        `rewards` `[B, T]` and the per-token KL estimate `logp - logp_ref` `[B, T]`, both 0 where masked.
    """
    mask_f = mask.to(logprobs.dtype)
    kl = (logprobs - ref_logprobs) * mask_f
    rewards = -kl_coef * kl
    last = (mask.sum(dim=1) - 1).clamp(min=0).long()
    rows = torch.arange(rewards.shape[0], device=rewards.device)
    rewards[rows, last] += scores.to(rewards.dtype) * (mask.sum(dim=1) > 0).to(rewards.dtype)
    return rewards, kl


def generalized_advantage_estimation(
    rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE over response tokens.

    `delta_t = r_t + gamma * V_{t+1} - V_t` (V beyond the last response token is 0) and
    `A_t = delta_t + gamma * lam * A_{t+1}`; returns `A_t + V_t`.

    Args:
        rewards: `[B, T]` per-token rewards.
        values: `[B, T]` critic values of the states before each token.
        mask: `[B, T]` response mask.
        gamma: discount.
        lam: GAE lambda.

    Returns:
        `advantages` and `returns`, `[B, T]` each, 0 where masked.
    """
    mask_f = mask.to(values.dtype)
    values = values * mask_f
    rewards = rewards * mask_f
    steps = rewards.shape[1]
    advantages = torch.zeros_like(rewards)
    last_gae = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(steps)):
        next_value = values[:, t + 1] if t + 1 < steps else torch.zeros_like(last_gae)
        next_mask = mask_f[:, t + 1] if t + 1 < steps else torch.zeros_like(last_gae)
        delta = rewards[:, t] + gamma * next_value * next_mask - values[:, t]
        last_gae = delta + gamma * lam * next_mask * last_gae
        advantages[:, t] = last_gae
    advantages = advantages * mask_f
    return advantages, (advantages + values) * mask_f


def clipped_policy_loss(
    logprobs: torch.Tensor,
    old_logprobs: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    cliprange: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """PPO clipped surrogate: `mean(max(-A * ratio, -A * clip(ratio, 1 - eps, 1 + eps)))` over masked tokens.

    Returns:
        `loss` (scalar), `clipfrac` (share of tokens where the clipped branch was taken) and `approx_kl`
        (`0.5 * mean((logp - logp_old) ** 2)`, the KL to the policy that sampled).
    """
    log_ratio = logprobs - old_logprobs
    ratio = torch.exp(log_ratio)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - cliprange, 1.0 + cliprange)
    loss = masked_mean(torch.maximum(unclipped, clipped), mask)
    clipfrac = masked_mean((clipped > unclipped).float(), mask)
    approx_kl = 0.5 * masked_mean(log_ratio.detach() ** 2, mask)
    return loss, clipfrac.detach(), approx_kl


def clipped_value_loss(
    values: torch.Tensor,
    old_values: torch.Tensor,
    returns: torch.Tensor,
    mask: torch.Tensor,
    cliprange_value: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Clipped value loss `0.5 * mean(max((V - R) ** 2, (V_clip - R) ** 2))`, `V_clip` within
    `cliprange_value` of the old values.

    Returns:
        `loss` (scalar) and `clipfrac` (share of tokens where the clipped branch was larger).
    """
    clipped_values = old_values + torch.clamp(values - old_values, -cliprange_value, cliprange_value)
    unclipped = (values - returns) ** 2
    clipped = (clipped_values - returns) ** 2
    loss = 0.5 * masked_mean(torch.maximum(unclipped, clipped), mask)
    clipfrac = masked_mean((clipped > unclipped).float(), mask)
    return loss, clipfrac.detach()


STD_FLOOR = 1e-3


class RunningMoments:
    """Running mean and standard deviation of a stream of scalars (parallel/Chan update, population var)."""

    def __init__(self) -> None:
        self.mean = 0.0
        self.var = 1.0
        self.count = 0.0

    @property
    def std(self) -> float:
        """Standard deviation of everything seen so far (1.0 before any data)."""
        return max(self.var, 0.0) ** 0.5

    def update(self, values: torch.Tensor) -> None:
        """Folds a batch of values into the running statistics."""
        values = values.detach().double().flatten()
        n = float(values.numel())
        if n == 0:
            return
        batch_mean = values.mean().item()
        batch_var = values.var(unbiased=False).item()
        if self.count == 0:
            self.mean, self.var, self.count = batch_mean, batch_var, n
            return
        total = self.count + n
        delta = batch_mean - self.mean
        m2 = self.var * self.count + batch_var * n + delta**2 * self.count * n / total
        self.mean += delta * n / total
        self.var = m2 / total
        self.count = total

    def normalize(self, values: torch.Tensor, clip: float | None = None) -> torch.Tensor:
        """`(values - mean) / max(std, 1e-3)`, clipped to `[-clip, clip]` when `clip` is given.

        The floor keeps a stream that has so far been constant (a rule-based reward, say) from blowing the
        first different value up to the clip.
        """
        normalized = (values - self.mean) / max(self.std, STD_FLOOR)
        return normalized.clamp(-clip, clip) if clip is not None else normalized
