import pytest
import torch

from training.checkpoints import is_complete, read_manifest
from training.config import RewardConfig
from training.metrics import TrainingCancelled
from training.models import load_reward_model
from training.reward import (
    head_parameter_groups,
    pair_smoothing,
    pairwise_accuracy,
    score,
    train_reward_model,
    validation_split,
)
from training.rows import preference_pair

from .conftest import preference_rows

# The old fixed-budget behaviour (no minimum steps, no early stopping, one learning rate), for tests of
# other parts of the trainer; the small-data defaults have tests of their own below.
TINY = dict(
    model="tiny-reward-model",
    batch_size=16,
    learning_rate=3e-3,
    max_length=128,
    min_steps=0,
    eval_every=0,
    head_learning_rate=None,
    wide=False,
)


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
            precision="fp32",  # an equality of sums: bf16 rounding differs with the batch's shape
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


def length_rows(n: int, seed: int, *, prompt_offset: int = 0) -> list[dict]:
    """`trl` rows whose rule is length: the chosen response has more words than the rejected one."""
    import random

    rng = random.Random(seed)
    words = ["the", "answer", "is", "here", "and", "it", "seems", "this", "one", "so", "we", "can"]
    rows = []
    for i in range(n):
        short = rng.randint(1, 4)
        long = short + rng.randint(4, 8)
        rows.append(
            {
                "prompt": [{"role": "user", "content": f"question {prompt_offset + i}"}],
                "chosen": [{"role": "assistant", "content": " ".join(rng.choices(words, k=long))}],
                "rejected": [{"role": "assistant", "content": " ".join(rng.choices(words, k=short))}],
            }
        )
    return rows


def test_a_few_dozen_pairs_teach_a_length_rule_within_the_minimum_steps(models_dir, tmp_path):
    """Three dozen pairs are three optimizer steps an epoch: the minimum number of steps (and the head's
    own learning rate) is what makes them enough."""
    train, held_out = length_rows(36, seed=0), length_rows(60, seed=1, prompt_offset=1000)
    common = dict(
        model="tiny-reward-model",
        batch_size=16,
        learning_rate=1e-4,
        head_learning_rate=3e-3,
        max_length=128,
        eval_every=0,
        wide=False,
    )
    one_epoch = train_reward_model(
        RewardConfig(**common, min_steps=0), train, held_out, tmp_path / "a", models_dir=models_dir
    )
    trained = train_reward_model(
        RewardConfig(**common, min_steps=80),
        train,
        held_out,
        tmp_path / "b",
        models_dir=models_dir,
    )
    assert one_epoch["steps"] == 3 and trained["steps"] == 80
    assert trained["eval_accuracy"] >= 0.9, trained
    # A random tiny model already orders by length a little; three steps leave the rule barely learnt.
    assert trained["eval_loss"] < 0.5 * one_epoch["eval_loss"], (one_epoch, trained)
    assert trained["eval_margin"] > 3 * one_epoch["eval_margin"], (one_epoch, trained)


def test_early_stopping_keeps_the_weights_of_the_best_validation_loss(models_dir, tmp_path):
    rows = preference_rows(120, seed=7)
    seen: list[dict] = []
    config = RewardConfig(
        **{**TINY, "learning_rate": 2e-2, "min_steps": 400, "eval_every": 5},
        early_stopping_patience=2,
        validation_fraction=0.25,
    )
    metrics = train_reward_model(
        config, rows, None, tmp_path / "rm", models_dir=models_dir, progress=lambda f, m: seen.append(m)
    )
    validated = [m for m in seen if "validation_loss" in m]
    assert metrics["validation_pairs"] >= 8 and metrics["train_pairs"] + metrics["validation_pairs"] == 120
    assert metrics["stopped_early"] and metrics["steps"] < 400
    best = min(validated, key=lambda m: m["validation_loss"])
    assert metrics["best_step"] == best["step"] and metrics["validation_loss"] == pytest.approx(
        best["validation_loss"]
    )
    # What was saved is the best pass's model, not the last step's.
    _, validation = validation_split([preference_pair(r) for r in rows], 0.25)
    saved = pairwise_accuracy(tmp_path / "rm", validation, models_dir=models_dir)
    assert saved["loss"] == pytest.approx(best["validation_loss"], rel=1e-4)
    assert seen[-1]["step"] == metrics["steps"]


def test_validation_split_is_prompt_disjoint_and_stable():
    pairs = [preference_pair(r) for r in preference_rows(200, seed=9)]
    pairs += [
        preference_pair({**r, "chosen": r["rejected"], "rejected": r["chosen"]})
        for r in preference_rows(50, 9)
    ]
    train, validation = validation_split(pairs, 0.2)
    assert train and validation and len(train) + len(validation) == len(pairs)
    key = lambda p: p["prompt"][0]["content"]  # noqa: E731
    assert not {key(p) for p in train} & {key(p) for p in validation}
    assert validation_split(pairs, 0.2) == (train, validation)
    assert validation_split(pairs[:12], 0.2) == (pairs[:12], [])  # too few to hold any out


def test_the_new_score_head_has_its_own_learning_rate(models_dir):
    model, _ = load_reward_model("tiny-reward-model", models_dir=models_dir)
    body, head = head_parameter_groups(model, learning_rate=1e-5, head_learning_rate=1e-3)
    assert body["lr"] == 1e-5 and head["lr"] == 1e-3
    assert [p.shape for p in head["params"]] == [model.score.weight.shape]
    assert len(body["params"]) == len(list(model.parameters())) - 1


def test_the_wide_half_learns_surface_rules_without_any_transformer_step(models_dir, tmp_path):
    """Length and list structure from three dozen pairs, with zero optimizer steps of the transformer: the
    wide half alone (and it is saved with the model and used by every scorer)."""
    train, held_out = length_rows(36, seed=2), length_rows(60, seed=3, prompt_offset=1000)
    metrics = train_reward_model(
        RewardConfig(model="tiny-reward-model", max_steps=0, eval_every=0),
        train,
        held_out,
        tmp_path / "rm",
        models_dir=models_dir,
    )
    assert metrics["steps"] == 0 and metrics["wide"] and metrics["eval_accuracy"] >= 0.95, metrics
    assert (tmp_path / "rm" / "prefer_wide_head.safetensors").exists()
    assert pairwise_accuracy(tmp_path / "rm", held_out, models_dir=models_dir)["accuracy"] == pytest.approx(
        metrics["eval_accuracy"]
    )
    lists = [
        {
            "prompt": [{"role": "user", "content": f"how do I do task {i}?"}],
            "chosen": [
                {"role": "assistant", "content": f"Do this:\n1. open it\n2. fix part {i}\n3. close it"}
            ],
            "rejected": [{"role": "assistant", "content": f"Open it, fix part {i} and then close it again."}],
        }
        for i in range(30)
    ]
    train_reward_model(
        RewardConfig(model="tiny-reward-model", max_steps=0, eval_every=0),
        lists[:20],
        None,
        tmp_path / "lists",
        models_dir=models_dir,
    )
    assert pairwise_accuracy(tmp_path / "lists", lists[20:], models_dir=models_dir)["accuracy"] == 1.0


def test_cross_validation_judges_every_row_by_a_model_that_never_saw_its_prompt(models_dir, tmp_path):
    from training.reward import cross_validated_correct, fold_of

    rows = length_rows(48, seed=3)
    config = RewardConfig(
        model="tiny-reward-model", batch_size=16, learning_rate=1e-4, head_learning_rate=3e-3,
        max_length=128, eval_every=0, min_steps=60, wide=False,
    )  # fmt: skip
    fractions: list[float] = []
    correct = cross_validated_correct(
        config, rows, folds=3, models_dir=models_dir, work_dir=tmp_path / "folds",
        progress=lambda f, m: fractions.append(f),
    )  # fmt: skip
    assert len(correct) == len(rows) and set(correct) <= {0.0, 0.5, 1.0}
    assert sum(correct) / len(correct) >= 0.8  # the length rule, learnt on two folds, holds on the third
    assert sorted({fold_of(r, 3) for r in rows}) == [0, 1, 2]  # three real folds
    assert fractions == sorted(fractions) and 0.9 < fractions[-1] <= 1.0
    assert not any((tmp_path / "folds").glob("*"))  # nothing left behind
    with pytest.raises(ValueError, match="folds must be >= 2"):
        cross_validated_correct(config, rows, folds=1, models_dir=models_dir, work_dir=tmp_path)
