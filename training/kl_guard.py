"""PPO's early stop on the KL budget (`PPOConfig.kl_stop`).

Each rollout measures the policy that sampled it: the exact per-token KL to the reference, summed per
response (the quantity a round's acceptance check bounds, on other prompts). The KL grows faster than
linearly over a round (the concise rule's seven rollouts: 0.06, 0.5, 1.1, 2.6, 4.2, 7.5, 11.6 nats), so a
fixed number of steps that suits one rule carries another far past the budget, and the whole round is
then rejected although it moved the right way. The guard keeps a copy of the trainable parameters of the
last two states measured within the limit; when a rollout is over it, PPO stops and the policy goes back
to the previous measured state. The one before it is kept as the fallback that a round judges when the
final policy's KL on the eval prompts is over the budget after all (the final state after the last update
is never measured by a rollout).

Only the trainable parameters are copied: LoRA adapters (a few MB), or the whole policy when it is fully
fine-tuned (one copy of the weights per kept state).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class MeasuredState:
    """The policy after `updates` PPO updates, measured at `kl` nats per response by the next rollout."""

    updates: int
    kl: float
    parameters: dict[str, torch.Tensor]


class KLGuard:
    """Keeps the last two policy states measured within `limit` (None: no limit, nothing is copied)."""

    def __init__(self, policy: nn.Module, limit: float | None) -> None:
        self.policy = policy
        self.limit = limit
        self.kept: list[MeasuredState] = []
        self.stopped_at: MeasuredState | None = None  # the state that was over the limit

    def _trainable(self) -> dict[str, nn.Parameter]:
        return {name: p for name, p in self.policy.named_parameters() if p.requires_grad}

    def within(self, updates: int, kl: float) -> bool:
        """Records the current policy (after `updates` updates, measured at `kl`). True: training goes on
        (within the limit, or no limit). False: over it; the policy is back at the last state kept and
        training should stop. The first rollout measures the starting policy, the reference itself: it is
        kept whatever its (bf16 noise) KL, since there is nothing before it to go back to."""
        if self.limit is None:
            return True
        if kl > self.limit and self.kept:
            self.stopped_at = MeasuredState(updates, kl, {})
            self._load(self.kept[-1].parameters)
            return False
        self.kept = [*self.kept[-1:], MeasuredState(updates, kl, self._copy())]
        return True

    def fallback(self, final_updates: int) -> MeasuredState | None:
        """The kept state to save beside a final policy of `final_updates` updates: the latest one measured
        before it with at least one update (None: no limit, or none)."""
        earlier = [s for s in self.kept if 0 < s.updates < final_updates]
        return earlier[-1] if earlier else None

    @contextmanager
    def applied(self, state: MeasuredState) -> Iterator[None]:
        """The policy at a kept state for the block, back at its current parameters after it."""
        current = self._copy()
        self._load(state.parameters)
        try:
            yield
        finally:
            self._load(current)

    def _copy(self) -> dict[str, torch.Tensor]:
        return {name: p.detach().clone() for name, p in self._trainable().items()}

    def _load(self, parameters: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            for name, parameter in self._trainable().items():
                parameter.copy_(parameters[name])
