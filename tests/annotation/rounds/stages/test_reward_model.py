"""The reward-model stage's acceptance rule, with the training library's calls replaced."""

import json

import pytest

from annotation.models import RewardModelVersion, TrainingRound
from annotation.rounds.selectors import accepted_reward_model
from annotation.rounds.stages.reward_model import stage_reward_model
from annotation.rounds.stages.snapshot import stage_snapshot
from tests.factories import TINY_ROUND as TINY
from tests.factories import loop_project_with_distinct_prompts, tiny_loop_project
from tests.helpers import finish_round, stage_context


def _fake_reward_training(monkeypatch, new_accuracy: float, previous_accuracy: float) -> dict:
    import training.reward

    seen: dict = {"previous_evaluated": 0}

    def train_reward_model(config, train_rows, eval_rows, output, **kwargs):
        seen.update(train=train_rows, eval=eval_rows, init=kwargs.get("init"))
        return {"eval_accuracy": new_accuracy, "train_loss": 0.3}

    def pairwise_accuracy(path, rows, **kwargs):
        seen["previous_evaluated"] += 1
        return {"accuracy": previous_accuracy}

    monkeypatch.setattr(training.reward, "train_reward_model", train_reward_model)
    monkeypatch.setattr(training.reward, "pairwise_accuracy", pairwise_accuracy)
    return seen


@pytest.mark.parametrize(
    ("new", "accepted"), [(0.6, False), (0.8, True), (0.9, True)], ids=["worse", "equal", "better"]
)
def test_reward_model_is_accepted_only_if_not_worse_on_held_out_pairs(
    db, settings, tmp_path, monkeypatch, new, accepted
):
    settings.PREFER_DATA_DIR = tmp_path
    project, _, _ = loop_project_with_distinct_prompts()
    previous = RewardModelVersion.objects.create(
        project=project, version=1, base_model="tiny-reward-model", artifact_path="/rm/v1", accepted=True
    )
    seen = _fake_reward_training(monkeypatch, new_accuracy=new, previous_accuracy=0.8)
    ctx = stage_context(project, {**TINY, "eval_fraction": 0.5, "require_improvement": True})
    stage_snapshot(ctx)
    stage_reward_model(ctx)
    assert seen["eval"] and not {json.dumps(r, sort_keys=True) for r in seen["eval"]} & {
        json.dumps(r, sort_keys=True) for r in seen["train"]
    }  # a real held-out share
    assert seen["init"] == "/rm/v1" and seen["previous_evaluated"] == 1
    summary = TrainingRound.objects.get(pk=ctx.round_id).metrics["summary"]
    reward_model = RewardModelVersion.objects.get(project=project, version=2)
    assert reward_model.accepted is accepted and summary["rm_accepted"] is accepted
    assert summary["rm_eval_is_train"] is False and reward_model.metrics["eval_is_train"] is False
    assert summary["rm_previous_eval_accuracy"] == 0.8
    assert accepted_reward_model(project=project) == (reward_model if accepted else previous)
    if not accepted:
        assert summary["rm_rejected_because"] == "held-out accuracy 0.600 below RM v1's 0.800"
        assert reward_model.metrics["rejected_because"] == summary["rm_rejected_because"]
    else:
        assert "rm_rejected_because" not in summary


def test_reward_model_judged_on_its_own_train_pairs_does_not_replace_an_accepted_one(
    db, settings, tmp_path, monkeypatch
):
    settings.PREFER_DATA_DIR = tmp_path
    project, _, _ = tiny_loop_project()  # every prompt is the same text: nothing can be held out
    seen = _fake_reward_training(monkeypatch, new_accuracy=0.99, previous_accuracy=0.5)
    first = stage_context(project, TINY)
    stage_snapshot(first)
    stage_reward_model(first)
    finish_round(first)
    assert seen["eval"] == seen["train"]
    rm1 = RewardModelVersion.objects.get(project=project, version=1)
    assert rm1.accepted and rm1.metrics["eval_is_train"] is True  # the first one is all there is

    second = stage_context(project, TINY)
    stage_snapshot(second)
    stage_reward_model(second)
    rm2 = RewardModelVersion.objects.get(project=project, version=2)
    summary = TrainingRound.objects.get(pk=second.round_id).metrics["summary"]
    assert not rm2.accepted and summary["rm_accepted"] is False and summary["rm_eval_is_train"] is True
    assert "no held-out pairs" in summary["rm_rejected_because"] and "RM v1" in summary["rm_rejected_because"]
    assert seen["previous_evaluated"] == 0 and summary["rm_previous_eval_accuracy"] is None
    assert accepted_reward_model(project=project) == rm1
