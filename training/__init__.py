"""Prefer's training side: generation, reward models, PPO-max and DPO. A library: config dataclasses in,
artifacts and a metrics dict out. It imports no Django, Celery or project settings and reads no environment
variables (the CLI reads `PREFER_DATA_DIR` for its default `--models-dir`; nothing else does).

Importing `training` itself is cheap (no torch); each submodule imports torch/transformers as it needs.

Calling it from a worker (e.g. a Celery task on the `gpu` queue)
----------------------------------------------------------------

    from training import PPOConfig, TrainingCancelled
    from training.ppo import train_ppo

    def progress(fraction: float, metrics: dict) -> None:   # after every step; keep it cheap
        round.progress, round.last_metrics = fraction, metrics; round.save(update_fields=[...])

    def should_stop() -> bool:                              # polled between steps
        return TrainingRound.objects.filter(pk=round_id, status="cancelling").exists()

    try:
        metrics = train_ppo(PPOConfig.from_dict(round.config), policy_dir, reward_dir, prompts, out_dir,
                            models_dir=data_dir / "models", progress=progress, should_stop=should_stop)
    except TrainingCancelled:
        ...  # mark the round cancelled; nothing was written at out_dir

Contract shared by every long-running function:

- `config`: one of the dataclasses in `training.config` (`GenerationConfig`, `RewardConfig`, `PPOConfig`,
  `DPOConfig`). `Config.from_dict(d)` rejects unknown keys (`ConfigError`); `{"preset": "smoke"}` starts
  from `Config.smoke()`, the smallest budgets that still run for real; `to_dict()` is JSON-serialisable.
- `models_dir`: cache of converted/built models (`$PREFER_DATA_DIR/models` in the app). Model references
  are built-in names (`smollm2-135m-instruct`, `minilm-l6`, `tiny-causal-lm`, `tiny-reward-model`), local
  model directories (every output directory below is one) or Hub ids (see `training.models`).
- `progress(fraction, metrics)`: called after every step with 0..1 and a flat dict of the step's metrics.
- `should_stop()`: polled between steps; when it returns True the function raises `TrainingCancelled`
  and leaves nothing at `output_dir`.
- `output_dir` is written atomically (temporary sibling, fsync, rename; see `training.checkpoints`): it
  holds the model + tokenizer (LoRA merged: a plain model any loader reads), `metrics.json` (the returned
  dict), `metrics.jsonl` (one row per step) and `prefer_manifest.json` (kind, base model, config, metrics,
  data hash). `training.checkpoints.is_complete(dir)` / `read_manifest(dir)` check and read it. A crashed
  process leaves only `.<name>.tmp-*` siblings (`remove_stale_temporaries` deletes them).
- Device: CUDA when present (the local rank's GPU under `accelerate launch`), else CPU; no `.cuda()` calls.

Public API
----------

- `training.generation.generate(model_ref, conversations, config: GenerationConfig, *, models_dir,
  progress=None, should_stop=None) -> list[list[GeneratedResponse(text, n_tokens, finished)]]`
- `training.reward.train_reward_model(config: RewardConfig, train_rows, eval_rows, output_dir, *, models_dir,
  init=None, progress=None, should_stop=None) -> dict` with `eval_accuracy`, `eval_loss`, `train_loss`,
  `pairs_per_second`, ...; rows are `trl` export rows (`prompt`/`chosen`/`rejected` message lists, optional
  `margin`, `agreement`).
- `training.reward.score(model_ref, conversations, *, models_dir) -> list[float]` and
  `training.reward.pairwise_accuracy(model_ref, rows, *, models_dir) -> {"accuracy", "loss", "margin",
  "pairs"}` (acceptance check: new RM not worse than the last accepted one on the eval split).
- `training.ppo.train_ppo(config: PPOConfig, policy_ref, reward_ref, prompts, output_dir, *, models_dir,
  ptx_conversations=None, progress=None, should_stop=None) -> dict` with `reward_mean_initial`,
  `reward_mean_final`, `kl_ref_final` (per response), `kl_ref_per_token_final`, `eos_fraction_final`,
  `critic_init`, `tokens_per_second`, ...; `reward_ref` may also be a function `(prompts, texts) -> scores`.
  The critic is chosen by `PPOConfig.critic_init` (see `training.critic`).
- `training.dpo.train_dpo(config: DPOConfig, policy_ref, train_rows, output_dir, *, models_dir,
  progress=None, should_stop=None) -> dict` with `loss_final`, `reward_margin_final`, `accuracy_final`.
- `training.evaluation.win_rate(reward_ref, policy_a, policy_b, prompts, *, models_dir, generation=None)
  -> {"win_rate", "wins", "ties", "losses", "mean_reward_a", "mean_reward_b", ...}` and
  `training.evaluation.kl_to_reference(policy_ref, reference_ref, prompts, *, models_dir)
  -> {"kl", "kl_per_token", "responses"}`: accept a policy only when `win_rate > 0.5` and `kl` is within
  the round's budget.
- `training.models.resolve_model_ref(ref, models_dir) -> Path | str`, `load_causal_lm`,
  `load_reward_model`, `build_tiny_model`, `pick_device`.
- `training.checkpoints`: `atomic_directory`, `write_manifest`, `read_manifest`, `is_complete`, `data_hash`.

Command line: `python -m training generate|reward|ppo|dpo --help` (see `training.cli`).
"""

from training.config import ConfigError, DPOConfig, GenerationConfig, PPOConfig, RewardConfig
from training.metrics import TrainingCancelled

__all__ = [
    "ConfigError",
    "DPOConfig",
    "GenerationConfig",
    "PPOConfig",
    "RewardConfig",
    "TrainingCancelled",
]
