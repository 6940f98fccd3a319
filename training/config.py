"""Configuration dataclasses for every long-running training function.

Each config is plain data: JSON-serialisable through `to_dict` / `from_dict`, which rejects unknown keys with
an error naming them (so a typo in a round's config fails loudly instead of being ignored). Each has a
`smoke()` preset: the smallest budgets that still exercise every stage for real.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Self


class ConfigError(ValueError):
    """Raised when a config dictionary has unknown keys or invalid values."""


@dataclass
class _ConfigBase:
    def to_dict(self) -> dict[str, Any]:
        """Returns the config as a JSON-serialisable dictionary."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Builds a config from a dictionary.

        Args:
            data (`dict`): field values; missing fields take their defaults. The key `"preset"` with value
                `"smoke"` starts from `smoke()` instead of the defaults.

        Raises:
            `ConfigError`: on unknown keys or values of the wrong type.
        """
        if not isinstance(data, dict):
            raise ConfigError(f"{cls.__name__}: expected a JSON object, got {type(data).__name__}")
        data = dict(data)
        preset = data.pop("preset", None)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(
                f"{cls.__name__}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(names))}"
            )
        if preset is None:
            base = cls()
        elif preset == "smoke":
            base = cls.smoke()
        else:
            raise ConfigError(f"{cls.__name__}: unknown preset {preset!r} (known: 'smoke')")
        config = dataclasses.replace(base, **data)
        config.validate()
        return config

    @classmethod
    def smoke(cls) -> Self:
        """Returns the smallest budgets that still run every stage for real."""
        return cls()

    def validate(self) -> None:
        """Checks field types against the annotations (ints, floats, bools, strings) and value ranges."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            kind = str(f.type)
            if value is None:
                if "None" not in kind:
                    raise ConfigError(f"{type(self).__name__}.{f.name}: must not be null")
                continue
            if kind.startswith("bool") and not isinstance(value, bool):
                raise ConfigError(f"{type(self).__name__}.{f.name}: expected a boolean, got {value!r}")
            if kind.startswith("int") and (isinstance(value, bool) or not isinstance(value, int)):
                raise ConfigError(f"{type(self).__name__}.{f.name}: expected an integer, got {value!r}")
            if kind.startswith("float"):
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ConfigError(f"{type(self).__name__}.{f.name}: expected a number, got {value!r}")
                setattr(self, f.name, float(value))
            if kind.startswith("str") and not isinstance(value, str):
                raise ConfigError(f"{type(self).__name__}.{f.name}: expected a string, got {value!r}")

    def _require_positive(self, *names: str) -> None:
        for name in names:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{type(self).__name__}.{name}: must be > 0, got {getattr(self, name)!r}")


@dataclass
class GenerationConfig(_ConfigBase):
    """Sampling settings.

    Args:
        per_prompt: responses sampled per conversation (K).
        max_new_tokens: cap on generated tokens per response.
        temperature: sampling temperature; 0 means greedy decoding.
        top_p: nucleus sampling mass.
        seed: random seed; the same seed, model and prompts give the same responses on the same device.
        batch_size: sequences generated together (prompts x K are packed into batches of this size).
        max_prompt_tokens: prompts longer than this are truncated from the left (the latest turns are kept).
    """

    per_prompt: int = 2
    max_new_tokens: int = 64
    temperature: float = 0.7
    top_p: float = 0.9
    seed: int = 0
    batch_size: int = 16
    max_prompt_tokens: int = 512

    @classmethod
    def smoke(cls) -> Self:
        return cls(per_prompt=2, max_new_tokens=16, batch_size=8)

    def validate(self) -> None:
        super().validate()
        self._require_positive("per_prompt", "max_new_tokens", "batch_size", "max_prompt_tokens")
        if not 0.0 < self.top_p <= 1.0:
            raise ConfigError(f"GenerationConfig.top_p: must be in (0, 1], got {self.top_p}")
        if self.temperature < 0:
            raise ConfigError(f"GenerationConfig.temperature: must be >= 0, got {self.temperature}")


@dataclass
class RewardConfig(_ConfigBase):
    """Bradley-Terry reward-model training.

    The loss for a pair with score difference `d = r_chosen - r_rejected`, margin `m` and smoothing `eps` is
    `-(1 - eps) * log sigmoid(d - m) - eps * log sigmoid(-(d - m))`, plus
    `center_rewards_coefficient * mean((r_chosen + r_rejected) ** 2)` when that coefficient is > 0.

    Args:
        model: backbone model reference (ignored when training warm-starts from `init`).
        epochs: passes over the training pairs.
        max_steps: if set, stop after this many optimizer steps (overrides `epochs` and `min_steps`).
        min_steps: at least this many optimizer steps whatever the data size (more epochs over small data):
            a few hundred pairs are only a dozen steps an epoch, far too few to move a new score head.
        batch_size: pairs per optimizer step.
        micro_batch_size: pairs per forward/backward pass (gradients are accumulated up to `batch_size`);
            None runs the whole batch at once. Smaller passes keep activations in cache: on a CPU, 8 pairs
            a pass train SmolLM2 ~15% faster than 16.
        eval_batch_size: pairs per forward pass during evaluation.
        learning_rate: peak AdamW learning rate of the backbone (linear warm-up then linear decay).
        head_learning_rate: peak learning rate of the newly initialised score head (None: `learning_rate`).
            A fresh head needs a far larger step than the pretrained backbone.
        eval_every: optimizer steps between validation passes (early stopping); 0 disables early stopping.
        early_stopping_patience: stop after this many validation passes without a lower validation loss; the
            weights of the best pass are the ones saved.
        validation_fraction: share of the training prompts (prompt-disjoint, chosen by hash) held out for
            early stopping, so that the eval pairs stay untouched for the acceptance check.
        weight_decay: AdamW weight decay.
        warmup_ratio: share of the steps spent warming up the learning rate.
        max_grad_norm: global gradient-norm clip.
        max_length: tokens per side; longer sequences keep their first token and their last tokens.
        use_margin: subtract each row's `margin` (default 0) inside the sigmoid.
        label_smoothing: smoothing applied to every pair.
        weak_label_smoothing: smoothing applied instead to weak pairs (see the next two fields).
        weak_agreement_below: a row with `agreement` below this is weak.
        weak_margin_below: if set, a row with `margin` below this is weak.
        center_rewards_coefficient: reward centering (Eisenstein et al. 2023); 0 disables it.
        length_grouping: batch pairs of similar length together (less padding, same gradient in expectation).
        seed: shuffling and head initialisation seed.
    """

    model: str = "minilm-l6"
    epochs: int = 1
    max_steps: int | None = None
    min_steps: int = 240
    batch_size: int = 16
    micro_batch_size: int | None = 8
    eval_batch_size: int = 64
    learning_rate: float = 5e-5
    head_learning_rate: float | None = 1e-3
    eval_every: int = 20
    early_stopping_patience: int = 4
    validation_fraction: float = 0.15
    weight_decay: float = 0.0
    warmup_ratio: float = 0.05
    max_grad_norm: float = 1.0
    max_length: int = 512
    use_margin: bool = True
    label_smoothing: float = 0.0
    weak_label_smoothing: float = 0.1
    weak_agreement_below: float = 0.75
    weak_margin_below: float | None = None
    center_rewards_coefficient: float = 0.0
    length_grouping: bool = True
    seed: int = 0

    @classmethod
    def smoke(cls) -> Self:
        return cls(epochs=1, max_steps=4, batch_size=4, eval_batch_size=16, max_length=256, eval_every=0)

    def validate(self) -> None:
        super().validate()
        self._require_positive("epochs", "batch_size", "eval_batch_size", "learning_rate", "max_length")
        if self.head_learning_rate is not None and self.head_learning_rate <= 0:
            raise ConfigError("RewardConfig.head_learning_rate: must be > 0 or null")
        if self.min_steps < 0 or self.eval_every < 0 or self.early_stopping_patience < 1:
            raise ConfigError(
                "RewardConfig.min_steps and eval_every: must be >= 0; early_stopping_patience: >= 1"
            )
        if not 0.0 <= self.validation_fraction < 0.5:
            raise ConfigError("RewardConfig.validation_fraction: must be in [0, 0.5)")
        if self.micro_batch_size is not None and self.micro_batch_size <= 0:
            raise ConfigError("RewardConfig.micro_batch_size: must be > 0 or null")
        for name in ("label_smoothing", "weak_label_smoothing"):
            if not 0.0 <= getattr(self, name) < 0.5:
                raise ConfigError(f"RewardConfig.{name}: must be in [0, 0.5)")


@dataclass
class PPOConfig(_ConfigBase):
    """PPO-max (MOSS-RLHF part I) settings.

    Args:
        steps: PPO iterations (each: sample a batch, score it, optimise on it).
        prompts_per_step: prompts sampled per iteration (one response each).
        max_new_tokens: response length cap; a response that hits it without EOS is penalised.
        temperature / top_p: sampling while collecting experience (log-probs use the same temperature).
        max_prompt_tokens: longer prompts are truncated from the left.
        learning_rate: actor learning rate.
        critic_learning_rate: critic learning rate.
        kl_coef: beta of the per-token KL penalty `-beta * (logp - logp_ref)`.
        gamma / lam: GAE discount and lambda; lambda None = 0.95 with a critic copied from the reward model,
            1.0 otherwise (a critic that starts at zero has nothing to bootstrap from).
        cliprange: PPO ratio clip.
        cliprange_value: value clip around the old values.
        vf_coef: weight of the value loss. The critic has its own AdamW, which is invariant to a constant
            loss scale, so this matters only for the gradient-norm clip; kept for configs written for
            shared-optimizer PPO.
        ppo_epochs: optimisation passes over each batch.
        mini_batch_size: sequences per optimizer step.
        max_grad_norm: global gradient-norm clip for actor and critic.
        normalize_reward: running mean/std normalisation of the RM score.
        reward_clip: clip of the normalised score to [-reward_clip, reward_clip].
        whiten_advantages: whiten advantages per batch.
        critic_warmup_passes: passes over the first rollout that train only the critic before the actor's
            first update (the advantages are then re-estimated); the rollout still trains the actor.
        critic_init: `auto` (`reward` when the reward model scores per token with the policy's tokenizer,
            else `policy` on an accelerator and `head` on a CPU), `reward`, `policy` (a copy of the policy
            with a value head) or `head` (a value head on the policy's detached hidden states: no extra
            forward pass). See `training.critic`.
        missing_eos_penalty: subtracted from the normalised (and clipped) score of a response that never
            emitted EOS, in units of the running reward standard deviation.
        ptx_coef: weight of the PPO-ptx language-modelling loss on demonstration data (0 disables it).
        lora: train LoRA adapters on the policy (merged on save); the reference is the adapter-disabled model.
        lora_r / lora_alpha / lora_dropout: LoRA settings (applied to policy and critic).
        reward_batch_size: sequences per reward-model forward pass.
        seed: sampling and shuffling seed.
    """

    steps: int = 20
    # Sampling is memory-bound on a CPU (every decoding step reads all the weights), so a 32-sequence
    # rollout costs about twice an 8-sequence one; it is then trained on in mini-batches of 8.
    prompts_per_step: int = 32
    max_new_tokens: int = 64
    temperature: float = 1.0
    top_p: float = 1.0
    max_prompt_tokens: int = 256
    learning_rate: float = 1e-5
    critic_learning_rate: float = 5e-5
    kl_coef: float = 0.05
    gamma: float = 1.0
    lam: float | None = None
    cliprange: float = 0.2
    cliprange_value: float = 0.2
    vf_coef: float = 0.5
    ppo_epochs: int = 1
    # Four mini-batches per rollout: the later ones are taken off-policy, so the ratio clip does real work.
    mini_batch_size: int = 8
    max_grad_norm: float = 1.0
    normalize_reward: bool = True
    reward_clip: float = 5.0
    whiten_advantages: bool = True
    critic_warmup_passes: int = 2
    critic_init: str = "auto"
    missing_eos_penalty: float = 1.0
    ptx_coef: float = 0.0
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    reward_batch_size: int = 16
    seed: int = 0

    @classmethod
    def smoke(cls) -> Self:
        return cls(steps=2, prompts_per_step=2, max_new_tokens=8, mini_batch_size=2, critic_warmup_passes=1)

    def validate(self) -> None:
        super().validate()
        self._require_positive("steps", "prompts_per_step", "max_new_tokens", "ppo_epochs", "mini_batch_size")
        if self.critic_init not in ("auto", "reward", "policy", "head"):
            raise ConfigError(f"PPOConfig.critic_init: auto|reward|policy|head, not {self.critic_init!r}")
        if self.temperature <= 0:
            raise ConfigError("PPOConfig.temperature: PPO samples; it must be > 0")
        if self.critic_warmup_passes < 0:
            raise ConfigError("PPOConfig.critic_warmup_passes: must be >= 0")
        for name in ("gamma", "lam"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ConfigError(f"PPOConfig.{name}: must be in [0, 1]")
        if not 0.0 < self.top_p <= 1.0:
            raise ConfigError("PPOConfig.top_p: must be in (0, 1]")
        self._require_positive("cliprange", "cliprange_value", "reward_clip", "max_grad_norm")
        if self.kl_coef < 0 or self.missing_eos_penalty < 0 or self.ptx_coef < 0:
            raise ConfigError("PPOConfig.kl_coef, missing_eos_penalty and ptx_coef: must be >= 0")


@dataclass
class DPOConfig(_ConfigBase):
    """DPO through TRL's `DPOTrainer`.

    Args:
        steps: optimizer steps.
        batch_size: pairs per step.
        learning_rate: AdamW learning rate.
        beta: DPO temperature.
        label_smoothing: conservative-DPO smoothing of the preference labels.
        max_length: prompt + response tokens (truncated beyond).
        lora: train LoRA adapters (merged on save); the reference is then the adapter-disabled model.
        lora_r / lora_alpha: LoRA settings.
        seed: data order and dropout seed.
    """

    steps: int = 50
    batch_size: int = 4
    learning_rate: float = 5e-6
    beta: float = 0.1
    label_smoothing: float = 0.0
    max_length: int = 512
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    seed: int = 0

    @classmethod
    def smoke(cls) -> Self:
        return cls(steps=2, batch_size=2, max_length=256)

    def validate(self) -> None:
        super().validate()
        self._require_positive("steps", "batch_size", "learning_rate", "beta", "max_length")
