"""The reward-model stage's acceptance rule (better than chance, not worse than the last accepted one, both
by a one-sided test on the held-out pairs), with the training library's calls replaced."""

import json

import pytest

from annotation.models import RewardModelVersion, RoundKind, TrainingRound
from annotation.rounds.selectors import accepted_reward_model
from annotation.rounds.stages.context import StageError
from annotation.rounds.stages.reward_model import stage_reward_model
from annotation.rounds.stages.snapshot import stage_snapshot
from tests.factories import TINY_ROUND as TINY
from tests.factories import loop_project_with_distinct_prompts, tiny_loop_project
from tests.helpers import stage_context

GOOD = [1.0] * 36 + [0.0] * 4
CHANCE = [1.0, 0.0] * 20
WORSE = [1.0] * 28 + [0.0] * 12  # better than chance, but 8 pairs worse than GOOD and none better


def _fake_reward_training(monkeypatch, new: list[float], previous: list[float]) -> dict:
    import training.reward

    seen: dict = {"previous_evaluated": 0}

    def train_reward_model(config, train_rows, eval_rows, output, **kwargs):
        seen.update(train=train_rows, eval=eval_rows, init=kwargs.get("init"))
        return {"eval_accuracy": sum(new) / len(new), "train_loss": 0.3}

    def pairwise_correct(path, rows, **kwargs):
        if str(path) == "/rm/v1":
            seen["previous_evaluated"] += 1
            return previous
        return new

    monkeypatch.setattr(training.reward, "train_reward_model", train_reward_model)
    monkeypatch.setattr(training.reward, "pairwise_correct", pairwise_correct)
    # The accepted model then scores the round's responses (the comparison page's RM score).
    monkeypatch.setattr(
        training.reward, "score", lambda path, conversations, **kwargs: [0.0] * len(conversations)
    )
    return seen


@pytest.mark.parametrize(
    ("new", "accepted", "reason"),
    [
        (CHANCE, False, "not better than chance on held-out pairs (accuracy 0.50 on 40 held-out pairs"),
        (WORSE, False, "worse than RM v1 on the same held-out pairs (accuracy 0.70 on 40"),
        (GOOD, True, None),
    ],
    ids=["chance", "worse", "as-good"],
)
def test_reward_model_is_accepted_only_when_it_is_better_than_chance_and_not_worse(
    db, settings, tmp_path, monkeypatch, new, accepted, reason
):
    settings.PREFER_DATA_DIR = tmp_path
    project, _, _ = loop_project_with_distinct_prompts()
    previous = RewardModelVersion.objects.create(
        project=project, version=1, base_model="tiny-reward-model", artifact_path="/rm/v1", accepted=True
    )
    seen = _fake_reward_training(monkeypatch, new=new, previous=GOOD)
    ctx = stage_context(project, {**TINY, "eval_fraction": 0.5, "require_improvement": True})
    stage_snapshot(ctx)
    stage_reward_model(ctx)  # a previous accepted reward model can still judge: the round goes on
    assert seen["eval"] and not {json.dumps(r, sort_keys=True) for r in seen["eval"]} & {
        json.dumps(r, sort_keys=True) for r in seen["train"]
    }  # a real held-out share
    assert seen["init"] == "/rm/v1" and seen["previous_evaluated"] == 1
    summary = TrainingRound.objects.get(pk=ctx.round_id).metrics["summary"]
    reward_model = RewardModelVersion.objects.get(project=project, version=2)
    assert reward_model.accepted is accepted and summary["rm_accepted"] is accepted
    assert summary["rm_eval_pairs"] == 40 and summary["rm_eval_ci_low"] < summary["rm_eval_accuracy"]
    assert summary["rm_previous_eval_accuracy"] == pytest.approx(0.9)
    assert accepted_reward_model(project=project) == (reward_model if accepted else previous)
    assert summary["rm_judge_version"] == (2 if accepted else 1)
    if reason:
        assert summary["rm_rejected_because"].startswith(reason), summary["rm_rejected_because"]
        assert reward_model.metrics["rejected_because"] == summary["rm_rejected_because"]
    else:
        assert "rm_rejected_because" not in summary and summary["rm_better_than_chance"] is True


def test_one_pair_in_six_is_not_a_regression(db, settings, tmp_path, monkeypatch):
    settings.PREFER_DATA_DIR = tmp_path
    project, _, _ = loop_project_with_distinct_prompts()
    RewardModelVersion.objects.create(
        project=project, version=1, base_model="tiny-reward-model", artifact_path="/rm/v1", accepted=True
    )
    _fake_reward_training(monkeypatch, new=[1.0] * 29 + [0.0], previous=[1.0] * 30)
    ctx = stage_context(project, {**TINY, "eval_fraction": 0.5, "require_improvement": True})
    stage_snapshot(ctx)
    stage_reward_model(ctx)
    assert RewardModelVersion.objects.get(project=project, version=2).accepted


@pytest.mark.parametrize("kind", [RoundKind.PPO, RoundKind.DPO])
def test_with_no_reward_model_able_to_judge_a_ppo_round_stops_and_a_dpo_round_goes_on(
    db, settings, tmp_path, monkeypatch, kind
):
    settings.PREFER_DATA_DIR = tmp_path
    project, _, _ = loop_project_with_distinct_prompts()
    _fake_reward_training(monkeypatch, new=CHANCE, previous=GOOD)
    ctx = stage_context(project, {**TINY, "eval_fraction": 0.5, "require_improvement": True}, kind=kind)
    stage_snapshot(ctx)
    if kind == RoundKind.PPO:
        with pytest.raises(
            StageError, match=r"learned nothing the held-out pairs confirm.*stops before the policy"
        ):
            stage_reward_model(ctx)
    else:
        stage_reward_model(ctx)
    summary = TrainingRound.objects.get(pk=ctx.round_id).metrics["summary"]
    assert summary["rm_accepted"] is False and summary["rm_better_than_chance"] is False
    assert "rm_judge_version" not in summary and accepted_reward_model(project=project) is None


def test_a_reward_model_judged_on_its_own_train_pairs_is_not_accepted(db, settings, tmp_path, monkeypatch):
    settings.PREFER_DATA_DIR = tmp_path
    project, _, _ = tiny_loop_project()  # every prompt is the same text: nothing can be held out
    seen = _fake_reward_training(monkeypatch, new=GOOD, previous=GOOD)
    ctx = stage_context(project, TINY)  # a pipeline check: the round goes on with this reward model
    stage_snapshot(ctx)
    stage_reward_model(ctx)
    assert seen["eval"] == seen["train"]
    rm1 = RewardModelVersion.objects.get(project=project, version=1)
    summary = TrainingRound.objects.get(pk=ctx.round_id).metrics["summary"]
    assert not rm1.accepted and summary["rm_eval_is_train"] is True
    assert "no held-out pairs" in summary["rm_rejected_because"]


@pytest.mark.parametrize("folds", [0, 3], ids=["held-out-only", "cross-validated"])
def test_a_held_out_slice_too_small_for_a_verdict_is_joined_by_the_train_pairs_judged_out_of_fold(
    db, settings, tmp_path, monkeypatch, folds
):
    """3 of 4 held-out pairs right cannot exclude chance; the same model's recipe judging every train pair
    out of fold can. Each fold model trains from the base model, never on the pairs it judges."""
    import training.reward

    settings.PREFER_DATA_DIR = tmp_path
    project, _, _ = loop_project_with_distinct_prompts(40)
    trained: list[dict] = []

    def train_reward_model(config, train_rows, eval_rows, output, **kwargs):
        trained.append({"rows": train_rows, "init": kwargs.get("init"), "output": output})
        return {"train_loss": 0.3}

    def pairwise_correct(path, rows, **kwargs):
        if path == trained[0]["output"]:  # the round's own model on the held-out slice: 3 of 4... right
            return [1.0 if i % 4 else 0.0 for i in range(len(rows))]
        judged = {json.dumps(r, sort_keys=True) for r in rows}
        seen = next(t for t in trained if t["output"] == path)["rows"]
        assert not judged & {json.dumps(r, sort_keys=True) for r in seen}  # out of fold
        return [1.0 if i % 8 else 0.0 for i in range(len(rows))]

    monkeypatch.setattr(training.reward, "train_reward_model", train_reward_model)
    monkeypatch.setattr(training.reward, "pairwise_correct", pairwise_correct)
    monkeypatch.setattr(training.reward, "score", lambda path, c, **kwargs: [0.0] * len(c))
    config = {
        **TINY, "eval_fraction": 0.15, "require_improvement": True,
        "cross_validation_folds": folds, "cross_validate_below": 24,
    }  # fmt: skip
    ctx = stage_context(project, config)
    stage_snapshot(ctx)
    if folds:
        stage_reward_model(ctx)
    else:
        with pytest.raises(StageError, match="not better than chance"):
            stage_reward_model(ctx)
    summary = TrainingRound.objects.get(pk=ctx.round_id).metrics["summary"]
    held_out = summary["rm_eval_pairs"] - summary.get("rm_out_of_fold_pairs", 0)
    assert 2 <= held_out < 24
    if not folds:
        assert len(trained) == 1 and summary["rm_accepted"] is False
        assert f"on {held_out} held-out pairs" in summary["rm_rejected_because"]
        return
    train_rows = trained[0]["rows"]
    assert len(trained) == 1 + folds and all(t["init"] is None for t in trained[1:])
    assert summary["rm_out_of_fold_pairs"] == len(train_rows)
    assert summary["rm_accepted"] is True and summary["rm_better_than_chance"] is True
    assert summary["rm_eval_pairs"] == held_out + len(train_rows)
    assert not list((tmp_path / "projects").rglob("*-folds"))  # the fold models' directory is gone
