"""Bradley-Terry reward-model training, scoring and pairwise evaluation.

Each conversation (prompt + response) is rendered with the reward tokenizer's chat template and scored by a
`num_labels=1` sequence-classification model (score of the last non-pad token for decoders, the pooled
`[CLS]` for BERT-style encoders). Chosen and rejected sides of a batch go through one forward pass.

Why this is faster than TRL's `RewardTrainer` with its defaults (see `benchmarks/reward_model.py`): no
gradient checkpointing (recomputing activations costs ~30% per step and memory is not the constraint at
these sizes), pairs batched by length (much less padding), and no per-step `Trainer` bookkeeping.
"""

from __future__ import annotations

import math
import random
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from training.checkpoints import atomic_directory, data_hash, write_manifest
from training.config import RewardConfig
from training.metrics import MetricsLog, ProgressCallback, StopCallback, check_cancelled, write_metrics_json
from training.models import load_reward_model, max_model_length, save_model
from training.optimizers import adamw
from training.rows import Conversation, preference_pairs


def encode_conversation(
    tokenizer: PreTrainedTokenizerBase, messages: Conversation, max_length: int
) -> list[int]:
    """Ids of a full conversation rendered with the chat template (no generation prompt).

    Sequences longer than `max_length` keep their first token when it is special (`[CLS]`/BOS) and their
    last tokens: the score is read at the end (decoders) and the response is what is being judged.
    """
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    ids: list[int] = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) <= max_length:
        return ids
    if ids[0] in tokenizer.all_special_ids:
        return [ids[0], *ids[len(ids) - max_length + 1 :]]
    return ids[-max_length:]


def bradley_terry_loss(
    chosen: torch.Tensor,
    rejected: torch.Tensor,
    margin: torch.Tensor | None = None,
    smoothing: torch.Tensor | float = 0.0,
) -> torch.Tensor:
    """Per-pair Bradley-Terry loss with margin and label smoothing.

    `loss = -(1 - eps) * log sigmoid(d) - eps * log sigmoid(-d)` with `d = chosen - rejected - margin`.

    Args:
        chosen: `[B]` scores of the preferred responses.
        rejected: `[B]` scores of the other responses.
        margin: `[B]` required score gap (0 when None).
        smoothing: `[B]` or scalar probability that the label is flipped.

    Returns:
        `[B]` losses.
    """
    diff = chosen - rejected
    if margin is not None:
        diff = diff - margin
    return -(1.0 - smoothing) * F.logsigmoid(diff) - smoothing * F.logsigmoid(-diff)


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


def _right_pad(
    sequences: list[list[int]], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    length = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), length), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), length), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    return ids.to(device), mask.to(device)


def _forward_scores(model: PreTrainedModel, sequences: list[list[int]], pad_id: int) -> torch.Tensor:
    device = next(model.parameters()).device
    ids, mask = _right_pad(sequences, pad_id, device)
    return model(input_ids=ids, attention_mask=mask, use_cache=False).logits[:, 0].float()


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


@torch.no_grad()
def score_with_model(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    conversations: list[Conversation],
    *,
    batch_size: int = 32,
    max_length: int = 512,
) -> list[float]:
    """Scores conversations (prompt + response messages) with a loaded reward model.

    Returns:
        One float per conversation, in order.
    """
    max_length = max_model_length(model, max_length)
    encoded = [encode_conversation(tokenizer, c, max_length) for c in conversations]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    scores = [0.0] * len(encoded)
    was_training = model.training
    model.eval()
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        values = _forward_scores(model, [encoded[i] for i in chunk], tokenizer.pad_token_id)
        for i, value in zip(chunk, values.tolist(), strict=True):
            scores[i] = value
    model.train(was_training)
    return scores


@torch.no_grad()
def evaluate_pairs_with_model(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    pairs: list[dict[str, Any]],
    *,
    batch_size: int = 64,
    max_length: int = 512,
) -> dict[str, float]:
    """Pairwise accuracy (ties count half), mean Bradley-Terry loss and mean score gap on normalised pairs."""
    if not pairs:
        return {"accuracy": float("nan"), "loss": float("nan"), "margin": float("nan"), "pairs": 0}
    chosen = score_with_model(
        model,
        tokenizer,
        [p["prompt"] + p["chosen"] for p in pairs],
        batch_size=batch_size,
        max_length=max_length,
    )
    rejected = score_with_model(
        model,
        tokenizer,
        [p["prompt"] + p["rejected"] for p in pairs],
        batch_size=batch_size,
        max_length=max_length,
    )
    c, r = torch.tensor(chosen), torch.tensor(rejected)
    accuracy = ((c > r).float() + 0.5 * (c == r).float()).mean().item()
    loss = bradley_terry_loss(c, r).mean().item()
    return {"accuracy": accuracy, "loss": loss, "margin": (c - r).mean().item(), "pairs": len(pairs)}


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
    model, tokenizer = load_reward_model(base_ref, models_dir=models_dir)
    max_length = max_model_length(model, config.max_length)
    pairs = list(preference_pairs(train_rows))
    if not pairs:
        raise ValueError("train_reward_model: no training pairs")
    eval_pairs = list(preference_pairs(eval_rows or []))
    encoded = _encode_pairs(pairs, tokenizer, max_length)
    margins = torch.tensor([p["margin"] if config.use_margin else 0.0 for p in pairs])
    smoothing = torch.tensor([pair_smoothing(p, config) for p in pairs])
    lengths = [max(len(c), len(r)) for c, r in encoded]

    steps_per_epoch = math.ceil(len(pairs) / config.batch_size)
    total_steps = config.max_steps or steps_per_epoch * config.epochs
    warmup = int(total_steps * config.warmup_ratio)
    _disable_dropout(model)
    model.train()
    optimizer = adamw(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
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
        try:
            while step < total_steps:
                batches = length_grouped_batches(
                    lengths, config.batch_size, seed=config.seed + epoch, group=config.length_grouping
                )
                epoch_loss, epoch_correct, epoch_pairs = 0.0, 0.0, 0
                for batch in batches:
                    if step >= total_steps:
                        break
                    check_cancelled(should_stop, "during reward-model training")
                    optimizer.zero_grad(set_to_none=True)
                    # One optimizer step per batch, forward/backward in micro-batches (gradients add up).
                    loss_sum, chosen_parts, rejected_parts = 0.0, [], []
                    for part in _micro_batches(batch, config.micro_batch_size):
                        sequences = [encoded[i][0] for i in part] + [encoded[i][1] for i in part]
                        scores = _forward_scores(model, sequences, pad_id)
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
                    log.log(
                        step,
                        step / total_steps,
                        {
                            "epoch": epoch,
                            "loss": loss_sum,
                            "accuracy": correct / len(batch),
                            "margin": (chosen - rejected).mean().item(),
                            "grad_norm": float(grad_norm),
                            "learning_rate": scheduler.get_last_lr()[0],
                            "pairs_per_second": seen / (time.monotonic() - train_started),
                        },
                    )
                epoch += 1
            train_seconds = time.monotonic() - train_started
            metrics: dict[str, Any] = {
                "train_loss": epoch_loss / max(epoch_pairs, 1),
                "train_accuracy": epoch_correct / max(epoch_pairs, 1),
                "train_pairs": len(pairs),
                "steps": step,
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
