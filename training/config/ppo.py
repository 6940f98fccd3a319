"""PPO-max settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from training.config.base import PRECISION_HELP, ConfigError, _ConfigBase, option


@dataclass
class PPOConfig(_ConfigBase):
    """PPO-max (MOSS-RLHF part I) settings.

    Each field carries its help in its metadata (`python -m training <command> --help` prints it).
    """

    steps: int = option(20, "PPO iterations (each: sample a batch, score it, optimise on it)")
    # Sampling is memory-bound on a CPU (every decoding step reads all the weights), so a 32-sequence
    # rollout costs about twice an 8-sequence one; it is then trained on in mini-batches of 8.
    prompts_per_step: int = option(32, "prompts sampled per iteration (one response each)")
    max_new_tokens: int = option(64, "response length cap; a response that hits it without EOS is penalised")
    temperature: float = option(
        1.0,
        "sampling temperature while collecting experience (the log-probs are computed at the same "
        "temperature); a round sets it to its generation temperature unless its ppo section names one",
    )
    top_p: float = option(
        1.0, "nucleus sampling mass while collecting experience (1.0: the log-probs are exact)"
    )
    max_prompt_tokens: int = option(256, "longer prompts are truncated from the left")
    learning_rate: float = option(1e-5, "actor learning rate")
    critic_learning_rate: float = option(5e-5, "critic learning rate")
    kl_coef: float = option(0.05, "beta of the per-token KL penalty `-beta * (logp - logp_ref)`")
    gamma: float = option(1.0, "GAE discount")
    lam: float | None = option(
        None,
        "GAE lambda; None = 0.95 with a critic copied from the reward model, 1.0 otherwise (a critic "
        "that starts at zero has nothing to bootstrap from)",
    )
    cliprange: float = option(0.2, "PPO ratio clip")
    cliprange_value: float = option(0.2, "value clip around the old values")
    vf_coef: float = option(
        0.5,
        "weight of the value loss. The critic has its own AdamW, which is invariant to a constant loss "
        "scale, so this matters only for the gradient-norm clip; kept for configs written for shared-"
        "optimizer PPO",
    )
    ppo_epochs: int = option(1, "optimisation passes over each batch")
    # Four mini-batches per rollout: the later ones are taken off-policy, so the ratio clip does real work.
    mini_batch_size: int = option(8, "sequences per optimizer step")
    max_grad_norm: float = option(1.0, "global gradient-norm clip for actor and critic")
    normalize_reward: bool = option(True, "running mean/std normalisation of the RM score")
    reward_clip: float = option(5.0, "clip of the normalised score to [-reward_clip, reward_clip]")
    whiten_advantages: bool = option(True, "whiten advantages per batch")
    critic_warmup_passes: int = option(
        2,
        "passes over the first rollout that train only the critic before the actor's first update (the "
        "advantages are then re-estimated); the rollout still trains the actor",
    )
    critic_init: str = option(
        "auto",
        "`auto` (`reward` when the reward model scores per token with the policy's tokenizer, else "
        "`policy` on an accelerator and `head` on a CPU), `reward`, `policy` (a copy of the policy with "
        "a value head) or `head` (a value head on the policy's detached hidden states: no extra forward "
        "pass). See `training.critic`",
    )
    missing_eos_penalty: float = option(
        1.0,
        "subtracted from the normalised (and clipped) score of a response that never emitted EOS, in "
        "units of the running reward standard deviation",
    )
    ptx_coef: float = option(
        0.0, "weight of the PPO-ptx language-modelling loss on demonstration data (0 disables it)"
    )
    cost_coef: float = option(
        1.0,
        "with a cost model (helpful and harmless training): the reward is the normalised reward minus this "
        "times the normalised cost (each normalised by its own running mean and std)",
    )
    lora: bool = option(
        False,
        "train LoRA adapters on the policy (merged on save); the reference is the adapter-disabled model",
    )
    lora_r: int = option(16, "LoRA rank (policy and critic)")
    lora_alpha: int = option(32, "LoRA alpha (policy and critic)")
    lora_dropout: float = option(0.0, "LoRA dropout (policy and critic)")
    lora_layers: int | None = option(
        None,
        "adapters on the top N transformer layers only (None: every layer). Backpropagation then stops at "
        "the lowest adapted layer: on a CPU most of an update's cost is the backward pass through all "
        "layers",
    )
    kl_stop: float | None = option(
        None,
        "stop early once a rollout's KL to the reference (exact, summed per response, mean over the "
        "rollout) passes this many nats: the policy goes back to its state at the previous rollout, the "
        "last one measured within it (None: every step runs). With it, the last measured state within it "
        "before the final one is also saved, in <output>/earlier. A round sets it to its kl_budget",
    )
    reward_batch_size: int = option(16, "sequences per reward-model forward pass")
    precision: str = option(
        "auto",
        PRECISION_HELP + "; sampling, reward scoring and the behaviour log-probs stay in float32, the "
        "optimisation passes and the reference pass are cast",
    )
    seed: int = option(0, "sampling and shuffling seed")

    @classmethod
    def smoke(cls) -> Self:
        return cls(steps=2, prompts_per_step=2, max_new_tokens=8, mini_batch_size=2, critic_warmup_passes=1)

    def validate(self) -> None:
        super().validate()
        self._require_positive("steps", "prompts_per_step", "max_new_tokens", "ppo_epochs", "mini_batch_size")
        self._require_precision(self.precision)
        if self.critic_init not in ("auto", "reward", "policy", "head"):
            raise ConfigError(f"PPOConfig.critic_init: auto|reward|policy|head, not {self.critic_init!r}")
        if self.temperature <= 0:
            raise ConfigError("PPOConfig.temperature: PPO samples; it must be > 0")
        if self.lora_layers is not None and self.lora_layers < 1:
            raise ConfigError("PPOConfig.lora_layers: must be >= 1 or null")
        if self.kl_stop is not None and not self.kl_stop > 0:
            raise ConfigError(f"PPOConfig.kl_stop: must be > 0 or null, got {self.kl_stop!r}")
        if self.critic_warmup_passes < 0:
            raise ConfigError("PPOConfig.critic_warmup_passes: must be >= 0")
        for name in ("gamma", "lam"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ConfigError(f"PPOConfig.{name}: must be in [0, 1]")
        if not 0.0 < self.top_p <= 1.0:
            raise ConfigError("PPOConfig.top_p: must be in (0, 1]")
        self._require_positive("cliprange", "cliprange_value", "reward_clip", "max_grad_norm")
        if self.kl_coef < 0 or self.missing_eos_penalty < 0 or self.ptx_coef < 0 or self.cost_coef < 0:
            raise ConfigError("PPOConfig.kl_coef, missing_eos_penalty, ptx_coef and cost_coef: must be >= 0")
