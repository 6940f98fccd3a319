"""Passes over a rollout through the adapted top layers only.

With LoRA on the top N layers (`PPOConfig.lora_layers`), every layer below them is the frozen base model:
the input of the lowest adapted layer is the same for the behaviour policy, for the reference (adapters off)
and for every PPO epoch. It is captured once, during sampling, by a forward pre-hook (the generation pass
computes it anyway), and every later pass runs only the top layers, fed that input through
`inputs_embeds`. Exact, not an approximation: the top layers see the very states a full forward would give
them. On a CPU it cuts the reference pass and each training pass to N/L of the layers.

Only for decoders whose forward applies nothing between the embedding and the first layer and treats
every layer alike (Llama and its kin, SmolLM2 included): `supports_split` says which; others take full
passes. (Models with per-layer attention types, such as sliding windows, index them by position in the
layer list, so a shortened list would give the top layers the wrong ones.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

# Model types whose `inputs_embeds` go straight into the first decoder layer (no scaling, no extra norm).
SPLITTABLE = {"llama"}


def decoder_layers(model: nn.Module) -> tuple[nn.Module, str, nn.ModuleList]:
    """The module holding the decoder's layer list, the attribute's name, and the list itself."""
    total = int(model.config.get_text_config().num_hidden_layers)  # type: ignore[union-attr, operator]
    for module in model.modules():
        layers = getattr(module, "layers", None)
        if isinstance(layers, nn.ModuleList) and len(layers) == total:
            return module, "layers", layers
    raise ValueError("no decoder layer list found")


def supports_split(model: nn.Module) -> bool:
    """Whether `model`'s architecture can run its top layers alone from captured states."""
    return getattr(model.config, "model_type", None) in SPLITTABLE


def train_top_layers_only(model: nn.Module, count: int) -> None:
    """Freezes every parameter except those of the top `count` decoder layers and the norm after them (the
    embedding, and with it a tied output head, stays frozen).

    Autograd then stops at the lowest trained layer: the layers below get neither weight gradients nor a
    backward pass."""
    holder, _, layers = decoder_layers(model)
    model.requires_grad_(False)
    for layer in list(layers)[-count:]:
        layer.requires_grad_(True)
    norm = getattr(holder, "norm", None)
    if isinstance(norm, nn.Module):
        norm.requires_grad_(True)


class LayerSplit:
    """The policy's decoder split at `first` (the lowest adapted layer).

    Args:
        model: the (LoRA-wrapped) policy.
        first: index of the lowest layer with adapters.
    """

    def __init__(self, model: nn.Module, first: int) -> None:
        self.holder, self.attribute, self.layers = decoder_layers(model)
        self.first = first

    @contextmanager
    def capture(self) -> Iterator[list[torch.Tensor]]:
        """Collects the input of layer `first` at every forward call (a generation's prefill, then one
        position a step); concatenate them along the sequence."""
        captured: list[torch.Tensor] = []

        def hook(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            states = args[0] if args else kwargs["hidden_states"]
            captured.append(states.detach())

        handle = self.layers[self.first].register_forward_pre_hook(hook, with_kwargs=True)
        try:
            yield captured
        finally:
            handle.remove()

    @contextmanager
    def top_only(self) -> Iterator[None]:
        """Inside, the model's forward runs layers `first..` only (feed it `inputs_embeds`)."""
        setattr(self.holder, self.attribute, nn.ModuleList(list(self.layers)[self.first :]))
        try:
            yield
        finally:
            setattr(self.holder, self.attribute, self.layers)
