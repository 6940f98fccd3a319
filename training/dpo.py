"""DPO rounds through TRL's `DPOTrainer`, with our progress, cancellation, metrics and atomic output."""

from __future__ import annotations

import copy
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase, TrainerCallback

from training.checkpoints import EARLIER_DIR, atomic_directory, data_hash, write_manifest
from training.config import DPOConfig
from training.layer_split import train_top_layers_only
from training.metrics import (
    MetricsLog,
    ProgressCallback,
    StopCallback,
    TrainingCancelled,
    check_cancelled,
    write_metrics_json,
)
from training.models import load_causal_lm, max_model_length, save_model
from training.rows import Conversation, preference_pairs


class _Hooks(TrainerCallback):
    def __init__(
        self,
        log: MetricsLog,
        total_steps: int,
        should_stop: StopCallback | None,
        save_at: int = 0,
        save: Callable[[Any, int], None] | None = None,
    ) -> None:
        self.log = log
        self.total_steps = total_steps
        self.should_stop = should_stop
        self.save_at = save_at
        self.save = save
        self.cancelled = False

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if logs and "loss" in logs:
            self.log.log(state.global_step, state.global_step / self.total_steps, dict(logs))

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.save is not None and state.global_step == self.save_at:
            self.save(kwargs["model"], state.global_step)
        if self.should_stop is not None and self.should_stop():
            self.cancelled = True
            control.should_training_stop = True


def _sequence_logprob(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, prompt: Conversation, response: Conversation
) -> float:
    prompt_text = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    full_text = tokenizer.apply_chat_template(prompt + response, tokenize=False)
    prompt_ids = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    full_ids = tokenizer(full_text, add_special_tokens=False)["input_ids"]
    device = next(model.parameters()).device
    ids = torch.tensor([full_ids], device=device)
    logits = model(input_ids=ids, use_cache=False).logits[0, :-1].float()
    logprobs = torch.log_softmax(logits, dim=-1).gather(1, ids[0, 1:, None]).squeeze(1)
    return logprobs[len(prompt_ids) - 1 :].sum().item()


@torch.no_grad()
def preference_log_ratio(
    model_ref: str | Path | PreTrainedModel,
    rows: list[dict[str, Any]],
    *,
    models_dir: Path | str,
    tokenizer: PreTrainedTokenizerBase | None = None,
) -> float:
    """Mean over preference rows of `log p(chosen | prompt) - log p(rejected | prompt)` under a policy.

    DPO should raise it: its implicit reward margin is `beta` times this quantity minus the reference's.

    Args:
        model_ref: a causal-LM reference, or a loaded model (then `tokenizer` is required).
        rows: preference rows in the `trl` format.
        models_dir: cache of converted models.
    """
    if isinstance(model_ref, PreTrainedModel):
        if tokenizer is None:
            raise ValueError("preference_log_ratio: pass the tokenizer with a loaded model")
        model = model_ref
    else:
        model, tokenizer = load_causal_lm(model_ref, models_dir=models_dir)
    model.eval()
    pairs = list(preference_pairs(rows))
    total = 0.0
    for pair in pairs:
        chosen = _sequence_logprob(model, tokenizer, pair["prompt"], pair["chosen"])
        rejected = _sequence_logprob(model, tokenizer, pair["prompt"], pair["rejected"])
        total += chosen - rejected
    return total / max(len(pairs), 1)


@torch.no_grad()
def implicit_reward_margins(
    policy_ref: str | Path,
    reference_ref: str | Path,
    rows: list[dict[str, Any]],
    *,
    models_dir: Path | str,
    beta: float,
) -> list[float]:
    """DPO's implicit reward margin of every preference row, as TRL reports `rewards/margins`:
    `beta * ((log pi(c) - log ref(c)) - (log pi(r) - log ref(r)))`. Positive means the policy moved
    towards the chosen response relative to the reference; on held-out pairs its sign is DPO's own
    preference accuracy.

    Args:
        policy_ref: the trained policy.
        reference_ref: the policy it started from.
        rows: preference rows in the `trl` format.
        beta: the DPO temperature the policy was trained with.
    """
    pairs = list(preference_pairs(rows))
    ratios: list[list[float]] = []
    for ref in (policy_ref, reference_ref):
        model, tokenizer = load_causal_lm(ref, models_dir=models_dir)
        model.eval()
        ratios.append(
            [
                _sequence_logprob(model, tokenizer, p["prompt"], p["chosen"])
                - _sequence_logprob(model, tokenizer, p["prompt"], p["rejected"])
                for p in pairs
            ]
        )
        del model
    return [beta * (policy - reference) for policy, reference in zip(*ratios, strict=True)]


def train_dpo(
    config: DPOConfig,
    policy_ref: str | Path,
    train_rows: list[dict[str, Any]],
    output_dir: Path | str,
    *,
    models_dir: Path | str,
    progress: ProgressCallback | None = None,
    should_stop: StopCallback | None = None,
) -> dict[str, Any]:
    """Runs DPO (TRL `DPOTrainer`) from `policy_ref` on preference rows; saves the policy to `output_dir`.

    Args:
        config (`DPOConfig`): budgets and coefficients.
        policy_ref (`str` or `Path`): the starting policy; also the reference (a frozen copy, or the
            adapter-disabled model with LoRA).
        train_rows (`list[dict]`): preference rows in the `trl` export format.
        output_dir (`Path`): where the policy, tokenizer, `metrics.json`, `metrics.jsonl` and manifest go.
        models_dir (`Path`): cache of converted models.
        progress (`callable`, *optional*): `progress(fraction, metrics)` after every optimizer step.
        should_stop (`callable`, *optional*): checked after every step; True stops training and raises
            `TrainingCancelled` (nothing is written at `output_dir`).

    Returns:
        Metrics: `loss_final`, `reward_margin_final` (TRL's `rewards/margins`, i.e. beta times the
        chosen-minus-rejected log-ratio margin over the reference), `accuracy_final`, `steps`, `duration_s`.
    """
    from datasets import Dataset
    from trl import DPOConfig as TRLDPOConfig  # type: ignore[attr-defined]  # lazy module exports
    from trl import DPOTrainer  # type: ignore[attr-defined]

    config.validate()
    started = time.monotonic()
    check_cancelled(should_stop, "before DPO")
    pairs = list(preference_pairs(train_rows))
    if not pairs:
        raise ValueError("train_dpo: no training pairs")
    torch.manual_seed(config.seed)
    model, tokenizer = load_causal_lm(policy_ref, models_dir=models_dir)
    dataset = Dataset.from_list(
        [{"prompt": p["prompt"], "chosen": p["chosen"], "rejected": p["rejected"]} for p in pairs]
    )
    peft_config = None
    ref_model = None
    if config.lora:
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=config.lora_r, lora_alpha=config.lora_alpha, target_modules="all-linear", task_type="CAUSAL_LM"
        )
    else:
        ref_model = copy.deepcopy(model).requires_grad_(False).eval()
        if config.train_layers is not None:
            train_top_layers_only(model, config.train_layers)

    with (
        atomic_directory(output_dir) as tmp,
        tempfile.TemporaryDirectory(prefix="dpo-trainer-") as scratch,
        warnings.catch_warnings(),
    ):
        # transformers renamed `gradient_checkpointing`; TRL still sets it. Not actionable here.
        warnings.filterwarnings("ignore", message=".*gradient_checkpointing.*", category=FutureWarning)
        log = MetricsLog(tmp, progress)
        steps = config.steps_for(len(pairs))
        # When pairs are visited more than once, their reference log-probs are computed once up front (in
        # larger batches) instead of at every visit: the reference is frozen, so the numbers are the same.
        replayed = steps * config.batch_size > len(pairs)

        def save_earlier(current: Any, step: int) -> None:
            snapshot = copy.deepcopy(current).merge_and_unload() if config.lora else current
            earlier = tmp / EARLIER_DIR
            save_model(snapshot, tokenizer, earlier)
            write_manifest(
                earlier, kind="policy", base_model=str(policy_ref), config=config.to_dict(),
                metrics={"steps": step, "of_steps": steps}, data_hash=data_hash(pairs),
                extra={"trainer": "dpo", "earlier": True},
            )  # fmt: skip

        save_at = int(steps * config.earlier_checkpoint)
        hooks = _Hooks(log, steps, should_stop, save_at, save_earlier if save_at >= 1 else None)
        try:
            args = TRLDPOConfig(
                output_dir=scratch,
                max_steps=steps,
                per_device_train_batch_size=config.batch_size,
                learning_rate=config.learning_rate,
                beta=config.beta,
                label_smoothing=config.label_smoothing,
                max_length=max_model_length(model, config.max_length),
                seed=config.seed,
                logging_steps=1,
                save_strategy="no",
                report_to=[],
                disable_tqdm=True,
                gradient_checkpointing=False,
                precompute_ref_log_probs=replayed,
                precompute_ref_batch_size=max(16, config.batch_size * 2),
                bf16=False,
                use_cpu=device_is_cpu(model),
                dataloader_num_workers=0,
            )
            trainer = DPOTrainer(
                model=model,
                ref_model=ref_model,
                args=args,
                train_dataset=dataset,
                processing_class=tokenizer,
                peft_config=peft_config,
                callbacks=[hooks],
            )
            from transformers.trainer_callback import PrinterCallback

            trainer.remove_callback(PrinterCallback)  # our MetricsLog records every step instead
            trainer.train()
            if hooks.cancelled:
                raise TrainingCancelled("cancelled during DPO")
            history = log.history
            last = history[-1] if history else {}
            metrics: dict[str, Any] = {
                "steps": int(trainer.state.global_step),
                "loss_final": last.get("loss"),
                "reward_margin_final": last.get("rewards/margins"),
                "accuracy_final": last.get("rewards/accuracies"),
                "train_pairs": len(pairs),
                "duration_s": time.monotonic() - started,
            }
            trained = trainer.model
            assert trained is not None
            if config.lora:
                trained = trained.merge_and_unload()  # type: ignore[operator]
            trained.eval()
            save_model(trained, tokenizer, tmp)  # type: ignore[arg-type]  # TRL types it as nn.Module
            write_metrics_json(tmp, metrics)
            write_manifest(
                tmp,
                kind="policy",
                base_model=str(policy_ref),
                config=config.to_dict(),
                metrics=metrics,
                data_hash=data_hash(pairs),
                extra={"trainer": "dpo"},
            )
        finally:
            log.close()
    return metrics


def device_is_cpu(model: PreTrainedModel) -> bool:
    """True when the model's parameters live on the CPU (TRL then needs `use_cpu=True`)."""
    return next(model.parameters()).device.type == "cpu"
