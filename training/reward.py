"""Bradley-Terry reward-model training, and scoring / pairwise evaluation by model reference (the tensor
side of scoring is `training.scoring`).

Small data is the normal case (a project's first round has a few hundred pairs): training runs at least
`min_steps` optimizer steps, the new score head learns at its own (higher) rate, and a prompt-disjoint
validation slice of the training pairs stops training when its loss stops falling (the best weights are
kept), so that the eval pairs stay untouched for the acceptance check.

Why this is faster than TRL's `RewardTrainer` with its defaults (see `benchmarks/reward_model.py`): no
gradient checkpointing (recomputing activations costs ~30% per step and memory is not the constraint at
these sizes), pairs batched by length (much less padding), and no per-step `Trainer` bookkeeping.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel

from training.checkpoints import atomic_directory, data_hash, read_manifest, write_manifest
from training.config import RewardConfig
from training.metrics import MetricsLog, ProgressCallback, StopCallback, check_cancelled, write_metrics_json
from training.models import load_reward_model, max_model_length, resolve_model_ref, save_model
from training.optimizers import adamw
from training.precision import autocast, resolve_precision
from training.reward_fitting import (
    HEAD_PREFIXES,
    EarlyStopping,
    disable_dropout,
    encode_pairs,
    head_parameter_groups,
    length_grouped_batches,
    micro_batches,
    pair_smoothing,
    prompt_key,
    validation_split,
)
from training.rows import Conversation, preference_pairs
from training.scoring import (
    bradley_terry_loss,
    evaluate_pairs_with_model,
    forward_scores,
    pair_correctness,
    response_text,
    score_pairs,
    score_with_model,
)
from training.wide import WideHead, attach_wide_head, fit_wide_head, wide_head_of


def score(
    model_ref: str | Path,
    conversations: list[Conversation],
    *,
    models_dir: Path | str,
    batch_size: int = 32,
    max_length: int = 512,
) -> list[float]:
    """Scores full conversations (prompt messages + the assistant response) with a reward model.

    Args:
        model_ref: a reward model reference (usually a `train_reward_model` output directory).
        conversations: message lists, each ending with the assistant response being judged.
        models_dir: cache of converted models.

    Returns:
        One scalar reward per conversation.
    """
    model, tokenizer = load_reward_model(model_ref, models_dir=models_dir)
    return score_with_model(model, tokenizer, conversations, batch_size=batch_size, max_length=max_length)


def pairwise_correct(
    model_ref: str | Path, rows: list[dict[str, Any]], *, models_dir: Path | str, batch_size: int = 64
) -> list[float]:
    """Per preference row (`trl` format): 1 when the reward model scores the chosen side higher, 0.5 on a
    tie, else 0 (what `training.acceptance` tests)."""
    model, tokenizer = load_reward_model(model_ref, models_dir=models_dir)
    chosen, rejected = score_pairs(model, tokenizer, list(preference_pairs(rows)), batch_size=batch_size)
    return pair_correctness(chosen, rejected)


def pairwise_accuracy(
    model_ref: str | Path, rows: list[dict[str, Any]], *, models_dir: Path | str, batch_size: int = 64
) -> dict[str, float]:
    """Evaluates a reward model on preference rows (`trl` format).

    Returns:
        `{"accuracy", "loss", "margin", "pairs"}`: share of pairs where chosen scores higher (ties half),
        mean Bradley-Terry loss, mean score gap, number of pairs.
    """
    model, tokenizer = load_reward_model(model_ref, models_dir=models_dir)
    return evaluate_pairs_with_model(model, tokenizer, list(preference_pairs(rows)), batch_size=batch_size)


def _is_trained_reward_model(ref: str | Path, models_dir: Path | str) -> bool:
    try:
        path = resolve_model_ref(ref, models_dir)
        return isinstance(path, Path) and read_manifest(path).get("kind") == "reward_model"
    except (FileNotFoundError, ValueError, json.JSONDecodeError):
        return False


def train_reward_model(
    config: RewardConfig,
    train_rows: list[dict[str, Any]],
    eval_rows: list[dict[str, Any]] | None,
    output_dir: Path | str,
    *,
    models_dir: Path | str,
    init: str | Path | None = None,
    progress: ProgressCallback | None = None,
    should_stop: StopCallback | None = None,
) -> dict[str, Any]:
    """Trains a Bradley-Terry reward model and saves it (atomically) to `output_dir`.

    Args:
        config (`RewardConfig`): backbone (`config.model`) and budgets.
        train_rows (`list[dict]`): preference rows in the `trl` export format (`prompt`, `chosen`,
            `rejected`, optional `margin` and `agreement`).
        eval_rows (`list[dict]`, *optional*): held-out rows (prompt-disjoint) for pairwise accuracy.
        output_dir (`Path`): where the model, tokenizer, `metrics.json`, `metrics.jsonl` and the manifest go.
        models_dir (`Path`): cache of converted models.
        init (`str` or `Path`, *optional*): warm start from this reward model instead of `config.model`.
        progress (`callable`, *optional*): `progress(fraction, metrics)` after every optimizer step.
        should_stop (`callable`, *optional*): polled between steps; True raises `TrainingCancelled` and
            nothing is written at `output_dir`.

    Returns:
        Metrics: `train_loss`, `train_accuracy` (running, last epoch), `eval_accuracy`, `eval_loss`,
        `eval_margin` (when `eval_rows`), `steps`, `train_pairs`, `pairs_per_second`, `duration_s`.
    """
    config.validate()
    started = time.monotonic()
    torch.manual_seed(config.seed)
    base_ref = str(init) if init is not None else config.model
    fresh_head = not _is_trained_reward_model(base_ref, models_dir)
    model, tokenizer = load_reward_model(base_ref, models_dir=models_dir)
    previous_wide = wide_head_of(model)
    attach_wide_head(model, None)  # the deep half trains alone; the wide half enters as fixed offsets
    max_length = max_model_length(model, config.max_length)
    all_pairs = list(preference_pairs(train_rows))
    if not all_pairs:
        raise ValueError("train_reward_model: no training pairs")
    eval_pairs = list(preference_pairs(eval_rows or []))
    pairs, validation_pairs = (
        validation_split(all_pairs, config.validation_fraction) if config.eval_every else (all_pairs, [])
    )
    encoded = encode_pairs(pairs, tokenizer, max_length)
    margins = torch.tensor([p["margin"] if config.use_margin else 0.0 for p in pairs])
    smoothing = torch.tensor([pair_smoothing(p, config) for p in pairs])
    lengths = [max(len(c), len(r)) for c, r in encoded]

    # 1. The wide half, fitted to convergence on the train pairs (a second at most).
    wide: WideHead | None = None
    metrics: dict[str, Any] = {}
    offsets = torch.zeros(len(pairs))
    if config.wide:
        wide, wide_metrics = fit_wide_head(
            [response_text(p["chosen"]) for p in pairs],
            [response_text(p["rejected"]) for p in pairs],
            margins=margins,
            smoothing=smoothing,
            dim=config.wide_features,
            ngram_l2=config.wide_ngram_l2,
            shape_l2=config.wide_shape_l2,
            init=previous_wide,
        )
        metrics.update(wide_metrics)
        chosen_wide = wide.score([response_text(p["chosen"]) for p in pairs])
        rejected_wide = wide.score([response_text(p["rejected"]) for p in pairs])
        offsets = torch.tensor(chosen_wide) - torch.tensor(rejected_wide)
    if fresh_head and wide is not None:
        # A zero head makes the untrained deep half score 0, so "no deep training at all" is what the
        # first validation pass measures, and early stopping can keep it.
        _zero_score_head(model)

    # 2. The deep half, on what the wide half leaves, stopped when the validation loss stops falling.
    steps_per_epoch = math.ceil(len(pairs) / config.batch_size)
    total_steps = (
        config.max_steps
        if config.max_steps is not None
        else max(steps_per_epoch * config.epochs, config.min_steps)
    )
    warmup = int(total_steps * config.warmup_ratio)
    disable_dropout(model)
    model.train()
    optimizer = adamw(
        head_parameter_groups(
            model,
            learning_rate=config.learning_rate,
            # A warm start's head is trained already: it moves at the backbone's pace.
            head_learning_rate=config.head_learning_rate if fresh_head else None,
        ),
        lr=config.learning_rate,
        weight_decay=config.weight_decay,
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: (
            (step + 1) / (warmup + 1)
            if step < warmup
            else max(0.0, (total_steps - step) / max(total_steps - warmup, 1))
        ),
    )
    device = next(model.parameters()).device
    precision = resolve_precision(config.precision, device)
    pad_id = tokenizer.pad_token_id
    train_started = time.monotonic()  # pairs/s covers the optimisation loop only (not load, eval or save)

    def validate(step: int) -> dict[str, float]:
        attach_wide_head(model, wide)
        try:
            result = evaluate_pairs_with_model(
                model, tokenizer, validation_pairs, batch_size=config.eval_batch_size, max_length=max_length
            )
        finally:
            attach_wide_head(model, None)
        stopper.observe(model, step, result["loss"])
        return result

    with atomic_directory(output_dir) as tmp:
        log = MetricsLog(tmp, progress)
        step, epoch, seen = 0, 0, 0
        epoch_loss, epoch_correct, epoch_pairs = 0.0, 0.0, 0
        stopper = EarlyStopping(config.early_stopping_patience)
        try:
            if validation_pairs and total_steps:
                validate(0)
            while step < total_steps and not stopper.stop:
                batches = length_grouped_batches(
                    lengths, config.batch_size, seed=config.seed + epoch, group=config.length_grouping
                )
                epoch_loss, epoch_correct, epoch_pairs = 0.0, 0.0, 0
                for batch in batches:
                    if step >= total_steps or stopper.stop:
                        break
                    check_cancelled(should_stop, "during reward-model training")
                    optimizer.zero_grad(set_to_none=True)
                    # One optimizer step per batch, forward/backward in micro-batches (gradients add up).
                    loss_sum, gap_parts = 0.0, []
                    for part in micro_batches(batch, config.micro_batch_size):
                        sequences = [encoded[i][0] for i in part] + [encoded[i][1] for i in part]
                        with autocast(precision, device):
                            scores = forward_scores(model, sequences, pad_id)
                        index = torch.tensor(part)
                        chosen_part = scores[: len(part)] + offsets[index].to(device)
                        rejected_part = scores[len(part) :]
                        losses = bradley_terry_loss(
                            chosen_part, rejected_part, margins[index].to(device), smoothing[index].to(device)
                        )
                        part_loss = losses.sum() / len(batch)
                        if config.center_rewards_coefficient > 0:
                            centering = ((scores[: len(part)] + rejected_part) ** 2).sum() / len(batch)
                            part_loss = part_loss + config.center_rewards_coefficient * centering
                        part_loss.backward()
                        loss_sum += part_loss.item()
                        gap_parts.append((chosen_part - rejected_part).detach())
                    gaps = torch.cat(gap_parts)
                    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                    optimizer.step()
                    scheduler.step()
                    step += 1
                    seen += len(batch)
                    correct = (gaps > 0).float().sum().item()
                    epoch_loss += loss_sum * len(batch)
                    epoch_correct += correct
                    epoch_pairs += len(batch)
                    row = {
                        "epoch": epoch,
                        "loss": loss_sum,
                        "accuracy": correct / len(batch),
                        "margin": gaps.mean().item(),
                        "grad_norm": float(grad_norm),
                        "learning_rate": scheduler.get_last_lr()[0],
                        "pairs_per_second": seen / (time.monotonic() - train_started),
                    }
                    if validation_pairs and (step % config.eval_every == 0 or step == total_steps):
                        validation = validate(step)
                        row["validation_loss"] = validation["loss"]
                        row["validation_accuracy"] = validation["accuracy"]
                    log.log(step, 1.0 if stopper.stop else step / total_steps, row)
                epoch += 1
            train_seconds = time.monotonic() - train_started
            best_step = stopper.restore_best(model, step)
            attach_wide_head(model, wide)
            metrics.update(
                {
                    "train_loss": epoch_loss / max(epoch_pairs, 1),
                    "train_accuracy": epoch_correct / max(epoch_pairs, 1),
                    "train_pairs": len(pairs),
                    "validation_pairs": len(validation_pairs),
                    "validation_loss": stopper.best_loss if validation_pairs else None,
                    "steps": step,
                    "best_step": best_step,
                    "stopped_early": stopper.stop,
                    "epochs_run": epoch,
                    "pairs_per_second": seen / max(train_seconds, 1e-9),
                    "precision": precision,
                    "train_seconds": train_seconds,
                    "wide": wide is not None,
                }
            )
            if eval_pairs:
                check_cancelled(should_stop, "before evaluation")
                result = evaluate_pairs_with_model(
                    model, tokenizer, eval_pairs, batch_size=config.eval_batch_size, max_length=max_length
                )
                metrics.update({f"eval_{k}": v for k, v in result.items()})
            metrics["duration_s"] = time.monotonic() - started
            model.eval()
            save_model(model, tokenizer, tmp)
            if wide is not None:
                wide.save(tmp)
            write_metrics_json(tmp, metrics)
            write_manifest(
                tmp,
                kind="reward_model",
                base_model=base_ref,
                config=config.to_dict(),
                metrics=metrics,
                data_hash=data_hash(pairs),
            )
        finally:
            log.close()
    return metrics


def _zero_score_head(model: PreTrainedModel) -> None:
    for name, parameter in model.named_parameters():
        if name.startswith(HEAD_PREFIXES):
            with torch.no_grad():
                parameter.zero_()


def fold_of(row: dict[str, Any], folds: int) -> int:
    """The cross-validation fold of a preference row: prompt-disjoint, by a slice of the prompt's hash
    that the validation split (`reward_fitting.validation_split`, the first 8 hex digits) does not use."""
    return int(prompt_key(row)[8:16], 16) % folds


def _fold_progress(progress: ProgressCallback | None, fold: int, folds: int) -> ProgressCallback | None:
    """A fold's training progress as a share of the whole cross-validation."""
    if progress is None:
        return None
    return lambda fraction, metrics: progress((fold + fraction) / folds, metrics)


def cross_validated_correct(
    config: RewardConfig,
    rows: list[dict[str, Any]],
    *,
    folds: int,
    models_dir: Path | str,
    work_dir: Path | str,
    progress: ProgressCallback | None = None,
    should_stop: StopCallback | None = None,
) -> list[float]:
    """Out-of-fold pairwise correctness of the training recipe on `rows`: each row is judged (1 / 0.5 / 0,
    as `pairwise_correct`) by a reward model trained with `config` from `config.model` on the other folds'
    rows only, folds prompt-disjoint (`fold_of`). Returns one value per row, in the order of `rows`.

    What it is for: when the held-out slice is too small for any verdict (8 decisive pairs cannot show
    0.75 is above chance), the rows the round trains on can still say whether the recipe learns the
    annotators' rule, each pair judged by a model that never saw its prompt. The fold models are written
    under `work_dir` and removed as soon as they have judged their fold.
    """
    import shutil

    if folds < 2:
        raise ValueError("cross_validated_correct: folds must be >= 2")
    assignment = [fold_of(row, folds) for row in rows]
    correct: list[float | None] = [None] * len(rows)
    work = Path(work_dir)
    for fold in range(folds):
        check_cancelled(should_stop, "during cross-validation")
        held = [i for i, f in enumerate(assignment) if f == fold]
        kept = [row for row, f in zip(rows, assignment, strict=True) if f != fold]
        if not held:
            continue
        if not kept:
            raise ValueError("cross_validated_correct: a fold holds every row; too few prompts to fold")
        output = work / f"fold{fold}"
        try:
            train_reward_model(
                config,
                kept,
                None,
                output,
                models_dir=models_dir,
                progress=_fold_progress(progress, fold, folds),
                should_stop=should_stop,
            )
            judged = pairwise_correct(output, [rows[i] for i in held], models_dir=models_dir)
        finally:
            shutil.rmtree(output, ignore_errors=True)
        for i, value in zip(held, judged, strict=True):
            correct[i] = value
    if work.is_dir() and not any(work.iterdir()):
        work.rmdir()
    return [c for c in correct if c is not None]  # every row is in exactly one fold: none is left None
