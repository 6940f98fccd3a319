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

import hashlib
import json
import math
import random
import time
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from training.checkpoints import atomic_directory, data_hash, read_manifest, write_manifest
from training.config import RewardConfig
from training.metrics import MetricsLog, ProgressCallback, StopCallback, check_cancelled, write_metrics_json
from training.models import load_reward_model, max_model_length, resolve_model_ref, save_model
from training.optimizers import adamw
from training.rows import Conversation, preference_pairs
from training.scoring import (
    bradley_terry_loss,
    encode_conversation,
    evaluate_pairs_with_model,
    forward_scores,
    score_with_model,
)


def pair_smoothing(pair: dict[str, Any], config: RewardConfig) -> float:
    """Label smoothing of one pair: `weak_label_smoothing` for weak pairs, else `label_smoothing`."""
    weak = pair.get("agreement") is not None and pair["agreement"] < config.weak_agreement_below
    if config.weak_margin_below is not None and pair.get("margin", 0.0) < config.weak_margin_below:
        weak = True
    return max(config.weak_label_smoothing, config.label_smoothing) if weak else config.label_smoothing


def length_grouped_batches(
    lengths: list[int], batch_size: int, *, seed: int, group: bool = True, shuffle: bool = True
) -> list[list[int]]:
    """Index batches; with `group`, indices are shuffled, sorted by length within windows of 50 batches, cut
    into batches, and the batches shuffled (random order, little padding)."""
    order = list(range(len(lengths)))
    rng = random.Random(seed)
    if shuffle:
        rng.shuffle(order)
    if group:
        window = batch_size * 50
        order = [
            i
            for start in range(0, len(order), window)
            for i in sorted(order[start : start + window], key=lambda i: lengths[i])
        ]
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if shuffle and group:
        rng.shuffle(batches)
    return batches


def _micro_batches(batch: list[int], size: int | None) -> list[list[int]]:
    if not size or size >= len(batch):
        return [batch]
    return [batch[i : i + size] for i in range(0, len(batch), size)]


def _disable_dropout(model: torch.nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0


def _encode_pairs(
    pairs: list[dict[str, Any]], tokenizer: PreTrainedTokenizerBase, max_length: int
) -> list[tuple[list[int], list[int]]]:
    return [
        (
            encode_conversation(tokenizer, pair["prompt"] + pair["chosen"], max_length),
            encode_conversation(tokenizer, pair["prompt"] + pair["rejected"], max_length),
        )
        for pair in pairs
    ]


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


HEAD_PREFIXES = ("score.", "classifier.")


def head_parameter_groups(
    model: PreTrainedModel, *, learning_rate: float, head_learning_rate: float | None
) -> list[dict[str, Any]]:
    """AdamW parameter groups: the scalar head (`score` / `classifier`) at `head_learning_rate`, the rest at
    `learning_rate`. Each group carries its peak rate as `initial_lr` for the schedule."""
    head: list[torch.nn.Parameter] = []
    body: list[torch.nn.Parameter] = []
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            (head if name.startswith(HEAD_PREFIXES) else body).append(parameter)
    head_lr = head_learning_rate if head_learning_rate is not None else learning_rate
    groups = [{"params": body, "lr": learning_rate}, {"params": head, "lr": head_lr}]
    return [group for group in groups if group["params"]]


def prompt_key(pair: dict[str, Any]) -> str:
    """A stable key of a pair's prompt (pairs of one prompt share it)."""
    return hashlib.sha256(
        json.dumps(pair["prompt"], sort_keys=True, ensure_ascii=False).encode("utf-8")
    ).hexdigest()


def validation_split(
    pairs: list[dict[str, Any]], fraction: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Splits pairs prompt-disjointly by a hash of the prompt: `(train, validation)`.

    Returns all pairs as train and no validation pairs when the split would leave either side without at
    least 8 pairs (too few to stop early on)."""
    if fraction <= 0:
        return pairs, []
    threshold = int(fraction * 10_000)
    held = [p for p in pairs if int(prompt_key(p)[:8], 16) % 10_000 < threshold]
    if len(held) < 8 or len(pairs) - len(held) < 8:
        return pairs, []
    kept = [p for p in pairs if int(prompt_key(p)[:8], 16) % 10_000 >= threshold]
    return kept, held


def _is_trained_reward_model(ref: str | Path, models_dir: Path | str) -> bool:
    try:
        path = resolve_model_ref(ref, models_dir)
        return isinstance(path, Path) and read_manifest(path).get("kind") == "reward_model"
    except (FileNotFoundError, ValueError, json.JSONDecodeError):
        return False


class _EarlyStopping:
    """Keeps the weights of the lowest validation loss; `stop` turns true after `patience` passes without a
    new low."""

    def __init__(self, patience: int) -> None:
        self.patience = patience
        self.best_loss = math.inf
        self.best_step = 0
        self.best_state: dict[str, torch.Tensor] | None = None
        self.passes_since_best = 0
        self.stop = False

    def observe(self, model: PreTrainedModel, step: int, loss: float) -> None:
        if loss < self.best_loss - 1e-4:
            self.best_loss, self.best_step, self.passes_since_best = loss, step, 0
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            self.passes_since_best += 1
            self.stop = self.passes_since_best >= self.patience

    def restore_best(self, model: PreTrainedModel, step: int) -> int:
        """Loads the best weights when they are not the current ones; returns the step they come from."""
        if self.best_state is None or self.best_step == step:
            return step
        model.load_state_dict(self.best_state)
        return self.best_step


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
    max_length = max_model_length(model, config.max_length)
    all_pairs = list(preference_pairs(train_rows))
    if not all_pairs:
        raise ValueError("train_reward_model: no training pairs")
    eval_pairs = list(preference_pairs(eval_rows or []))
    pairs, validation_pairs = (
        validation_split(all_pairs, config.validation_fraction) if config.eval_every else (all_pairs, [])
    )
    encoded = _encode_pairs(pairs, tokenizer, max_length)
    margins = torch.tensor([p["margin"] if config.use_margin else 0.0 for p in pairs])
    smoothing = torch.tensor([pair_smoothing(p, config) for p in pairs])
    lengths = [max(len(c), len(r)) for c, r in encoded]

    steps_per_epoch = math.ceil(len(pairs) / config.batch_size)
    total_steps = config.max_steps or max(steps_per_epoch * config.epochs, config.min_steps)
    warmup = int(total_steps * config.warmup_ratio)
    _disable_dropout(model)
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
            else max(0.0, (total_steps - step) / (total_steps - warmup))
        ),
    )
    device = next(model.parameters()).device
    pad_id = tokenizer.pad_token_id
    train_started = time.monotonic()  # pairs/s covers the optimisation loop only (not load, eval or save)

    with atomic_directory(output_dir) as tmp:
        log = MetricsLog(tmp, progress)
        step, epoch, seen = 0, 0, 0
        epoch_loss, epoch_correct, epoch_pairs = 0.0, 0.0, 0
        stopper = _EarlyStopping(config.early_stopping_patience)
        try:
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
                    loss_sum, chosen_parts, rejected_parts = 0.0, [], []
                    for part in _micro_batches(batch, config.micro_batch_size):
                        sequences = [encoded[i][0] for i in part] + [encoded[i][1] for i in part]
                        scores = forward_scores(model, sequences, pad_id)
                        chosen_part, rejected_part = scores[: len(part)], scores[len(part) :]
                        index = torch.tensor(part)
                        losses = bradley_terry_loss(
                            chosen_part, rejected_part, margins[index].to(device), smoothing[index].to(device)
                        )
                        part_loss = losses.sum() / len(batch)
                        if config.center_rewards_coefficient > 0:
                            centering = ((chosen_part + rejected_part) ** 2).sum() / len(batch)
                            part_loss = part_loss + config.center_rewards_coefficient * centering
                        part_loss.backward()
                        loss_sum += part_loss.item()
                        chosen_parts.append(chosen_part.detach())
                        rejected_parts.append(rejected_part.detach())
                    chosen, rejected = torch.cat(chosen_parts), torch.cat(rejected_parts)
                    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                    optimizer.step()
                    scheduler.step()
                    step += 1
                    seen += len(batch)
                    correct = (chosen > rejected).float().sum().item()
                    epoch_loss += loss_sum * len(batch)
                    epoch_correct += correct
                    epoch_pairs += len(batch)
                    row = {
                        "epoch": epoch,
                        "loss": loss_sum,
                        "accuracy": correct / len(batch),
                        "margin": (chosen - rejected).mean().item(),
                        "grad_norm": float(grad_norm),
                        "learning_rate": scheduler.get_last_lr()[0],
                        "pairs_per_second": seen / (time.monotonic() - train_started),
                    }
                    if validation_pairs and (step % config.eval_every == 0 or step == total_steps):
                        validation = evaluate_pairs_with_model(
                            model,
                            tokenizer,
                            validation_pairs,
                            batch_size=config.eval_batch_size,
                            max_length=max_length,
                        )
                        stopper.observe(model, step, validation["loss"])
                        row["validation_loss"] = validation["loss"]
                        row["validation_accuracy"] = validation["accuracy"]
                    log.log(step, 1.0 if stopper.stop else step / total_steps, row)
                epoch += 1
            train_seconds = time.monotonic() - train_started
            best_step = stopper.restore_best(model, step)
            metrics: dict[str, Any] = {
                "train_loss": epoch_loss / max(epoch_pairs, 1),
                "train_accuracy": epoch_correct / max(epoch_pairs, 1),
                "train_pairs": len(pairs),
                "validation_pairs": len(validation_pairs),
                "validation_loss": stopper.best_loss if validation_pairs else None,
                "steps": step,
                "best_step": best_step,
                "stopped_early": stopper.stop,
                "epochs_run": epoch,
                "pairs_per_second": seen / train_seconds,
                "train_seconds": train_seconds,
            }
            if eval_pairs:
                check_cancelled(should_stop, "before evaluation")
                result = evaluate_pairs_with_model(
                    model, tokenizer, eval_pairs, batch_size=config.eval_batch_size, max_length=max_length
                )
                metrics.update({f"eval_{k}": v for k, v in result.items()})
            metrics["duration_s"] = time.monotonic() - started
            model.eval()
            save_model(model, tokenizer, tmp)
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
