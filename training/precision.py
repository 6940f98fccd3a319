"""Mixed precision for the training passes: bf16 autocast where the hardware computes bf16 natively.

A config's `precision` is `auto`, `bf16` or `fp32`. `bf16` runs the forward passes of training (and PPO's
reference pass) under `torch.autocast`: matrix products in bfloat16, weights, optimizer state, norms,
softmaxes and losses in float32, as the references train (TRL's and OpenRLHF's `bf16` flag). `auto` picks
bf16 on a GPU that supports it and on a CPU with AVX512-BF16 or AMX instructions (where oneDNN runs a
SmolLM2 forward-and-backward about 1.7x and a MiniLM one about 1.9x faster than float32, measured on the
issue-10 machine), and float32 elsewhere: on other CPUs bf16 is emulated and slower.

What stays float32 whatever the setting: sampling (its logits are PPO's behaviour log-probs), reward scoring,
evaluation and the acceptance checks. Only the passes that produce gradients, and the reference log-probs
that the KL penalty compares against, are cast.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import torch

from training.config.base import PRECISIONS


def native_bf16(device: torch.device) -> bool:
    """Whether `device` computes bfloat16 matrix products in hardware."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in probes)
    return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """`bf16` or `fp32` for a config's `precision` on `device` (`auto` decided by `native_bf16`)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision: one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return precision


def autocast(precision: str, device: torch.device) -> AbstractContextManager[object]:
    """The context a training forward pass runs in: bf16 autocast, or nothing for fp32.

    Args:
        precision (`str`): a resolved precision (`resolve_precision`), `bf16` or `fp32`.
        device (`torch.device`): where the model is.
    """
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return nullcontext()


__all__ = ["PRECISIONS", "autocast", "native_bf16", "resolve_precision"]
