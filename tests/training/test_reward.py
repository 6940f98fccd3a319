import pytest
import torch

from training.checkpoints import is_complete, read_manifest
from training.config import RewardConfig
from training.metrics import TrainingCancelled
from training.reward import pair_smoothing, pairwise_accuracy, score, train_reward_model
from training.rows import preference_pair

from .conftest import preference_rows

TINY = dict(model="tiny-reward-model", batch_size=16, learning_rate=3e-3, max_length=128)


def test_reward_model_learns_the_hidden_rule(models_dir, tmp_path):
    train, held_out = preference_rows(240, seed=0), preference_rows(80, seed=1, prompt_offset=10_000)
    before = pairwise_accuracy("tiny-reward-model", held_out, models_dir=models_dir)
    steps = []
    config = RewardConfig(**TINY, epochs=3, label_smoothing=0.05, use_margin=True)
    metrics = train_reward_model(
        config,
        train,
        held_out,
        tmp_path / "rm",
        models_dir=models_dir,
        progress=lambda f, m: steps.append((f, m)),
    )
    assert metrics["eval_accuracy"] >= 0.9, metrics
    assert before["accuracy"] < 0.75  # random init is near chance: the rule was learned, not given
    assert metrics["eval_loss"] < before["loss"]
    assert steps[-1][0] == 1.0 and len(steps) == metrics["steps"] == 45
    assert is_complete(tmp_path / "rm")
    manifest = read_manifest(tmp_path / "rm")
    assert manifest["kind"] == "reward_model" and manifest["data_hash"].startswith("sha256:")
    assert (tmp_path / "rm" / "metrics.jsonl").read_text().count("\n") == 45
    # The saved model is a reference the scoring API reads, and it reproduces the reported accuracy.
    after = pairwise_accuracy(tmp_path / "rm", held_out, models_dir=models_dir)
    assert after["accuracy"] == pytest.approx(metrics["eval_accuracy"])
    good, bad = score(
        tmp_path / "rm",
        [
            [
                {"role": "user", "content": "question 1: so"},
                {"role": "assistant", "content": "the helpful one"},
            ],
            [
                {"role": "user", "content": "question 1: so"},
                {"role": "assistant", "content": "the useless one"},
            ],
        ],
        models_dir=models_dir,
    )
    assert good > bad


def test_margin_and_smoothing_change_the_objective(models_dir, tmp_path):
    rows = preference_rows(32, seed=3)
    common = dict(TINY, max_steps=2, seed=5, learning_rate=1e-3)
    plain = train_reward_model(
        RewardConfig(**common, use_margin=False, weak_label_smoothing=0.0),
        rows,
        None,
        tmp_path / "a",
        models_dir=models_dir,
    )
    margin = train_reward_model(
        RewardConfig(**common, use_margin=True, weak_label_smoothing=0.0),
        rows,
        None,
        tmp_path / "b",
        models_dir=models_dir,
    )
    smooth = train_reward_model(
        RewardConfig(**common, use_margin=False, label_smoothing=0.2),
        rows,
        None,
        tmp_path / "c",
        models_dir=models_dir,
    )
    # Same data, same init: a positive margin raises the loss; smoothing changes it too.
    assert margin["train_loss"] > plain["train_loss"]
    assert smooth["train_loss"] != pytest.approx(plain["train_loss"])
    assert "eval_accuracy" not in plain


def test_weak_pairs_get_weak_label_smoothing():
    config = RewardConfig(
        label_smoothing=0.02, weak_label_smoothing=0.15, weak_agreement_below=0.75, weak_margin_below=0.25
    )
    row = preference_rows(1, seed=0)[0]
    assert pair_smoothing(preference_pair({**row, "agreement": 1.0, "margin": 1.0}), config) == 0.02
    assert pair_smoothing(preference_pair({**row, "agreement": 0.6, "margin": 1.0}), config) == 0.15
    assert pair_smoothing(preference_pair({**row, "agreement": None, "margin": 0.0}), config) == 0.15


def test_warm_start_and_reward_centering(models_dir, tmp_path):
    rows, held_out = preference_rows(160, seed=4), preference_rows(60, seed=5, prompt_offset=5000)
    first = train_reward_model(
        RewardConfig(**TINY, epochs=2), rows, held_out, tmp_path / "rm1", models_dir=models_dir
    )
    # Warm start with a negligible learning rate keeps what was learned; from scratch it would be at chance.
    warm = train_reward_model(
        RewardConfig(**{**TINY, "learning_rate": 1e-9}, max_steps=1),
        rows,
        held_out,
        tmp_path / "rm2",
        models_dir=models_dir,
        init=tmp_path / "rm1",
    )
    assert warm["eval_accuracy"] == pytest.approx(first["eval_accuracy"], abs=0.02)
    assert read_manifest(tmp_path / "rm2")["base_model"] == str(tmp_path / "rm1")
    centered = train_reward_model(
        RewardConfig(**TINY, epochs=2, center_rewards_coefficient=1.0),
        rows,
        None,
        tmp_path / "rm3",
        models_dir=models_dir,
    )
    assert centered["steps"] == first["steps"]
    convs = [r["prompt"] + r["chosen"] for r in held_out] + [r["prompt"] + r["rejected"] for r in held_out]
    mean_plain = torch.tensor(score(tmp_path / "rm1", convs, models_dir=models_dir)).mean().abs()
    mean_centered = torch.tensor(score(tmp_path / "rm3", convs, models_dir=models_dir)).mean().abs()
    assert mean_centered < mean_plain


def test_cancellation_leaves_nothing(models_dir, tmp_path):
    calls = []
    with pytest.raises(TrainingCancelled):
        train_reward_model(
            RewardConfig(**TINY, epochs=1),
            preference_rows(64, seed=6),
            None,
            tmp_path / "rm",
            models_dir=models_dir,
            progress=lambda f, m: calls.append(f),
            should_stop=lambda: len(calls) >= 2,
        )
    assert len(calls) == 2
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("centering", [0.0, 0.1])
def test_micro_batches_take_the_same_optimizer_steps_as_whole_batches(models_dir, tmp_path, centering):
    """Gradients accumulated over micro-batches equal the whole batch's: every step's loss and margin
    match. (Weights are not compared: Adam's first steps are nearly sign(gradient), so float noise in a
    near-zero gradient flips single entries without changing what the model does.)"""
    rows = preference_rows(32, seed=4)
    logs = {}
    for micro in (None, 3):
        config = RewardConfig(
            **{**TINY, "batch_size": 8},
            max_steps=4,
            micro_batch_size=micro,
            center_rewards_coefficient=centering,
            length_grouping=False,
        )
        seen: list[dict] = []
        train_reward_model(
            config, rows, None, tmp_path / f"rm-{micro}", models_dir=models_dir,
            progress=lambda fraction, metrics, seen=seen: seen.append(metrics),
        )  # fmt: skip
        logs[micro] = seen
    assert len(logs[None]) == len(logs[3]) == 4
    for whole, micro in zip(logs[None], logs[3], strict=True):
        assert micro["loss"] == pytest.approx(whole["loss"], rel=1e-3)
        assert micro["margin"] == pytest.approx(whole["margin"], rel=1e-3, abs=1e-5)
