"""The optimizer the trainers here share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch


def adamw(
    params: Iterable[torch.nn.Parameter] | Iterable[dict[str, Any]], *, lr: float, weight_decay: float = 0.0
) -> torch.optim.AdamW:
    """AdamW over the trainable parameters, with the fused kernel where their device has one.

    The fused step makes one pass over the parameters instead of a dozen `foreach` passes: measured here on a
    2-core CPU, 0.09 s instead of 0.36 s per step for SmolLM2-135M. Falls back to the default implementation
    where fused is not supported.

    Args:
        params: parameters, or parameter groups (dicts with `params` and their own `lr`); parameters with
            `requires_grad=False` are left out.
        lr: learning rate (of groups that do not set their own).
        weight_decay: decoupled weight decay.
    """
    items = list(params)
    trainable: list[Any]
    if items and isinstance(items[0], dict):
        trainable = [
            {**group, "params": [p for p in group["params"] if p.requires_grad]}
            for group in items
            if isinstance(group, dict)
        ]
        trainable = [group for group in trainable if group["params"]]
    else:
        trainable = [p for p in items if isinstance(p, torch.Tensor) and p.requires_grad]
    try:
        return torch.optim.AdamW(trainable, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, ValueError):
        return torch.optim.AdamW(trainable, lr=lr, weight_decay=weight_decay)
