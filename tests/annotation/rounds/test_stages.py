"""Acceptance rules of the stages, at the service level with the training library's calls replaced."""

import json
import threading

import pytest

from annotation.models import PolicyVersion, RewardModelVersion, RoundStatus, TrainingRound
from annotation.rounds import stages
from annotation.rounds.protocol import round_claim, round_finish
from annotation.rounds.services import round_launch
from tests.factories import TINY_ROUND as TINY
from tests.factories import loop_project_with_distinct_prompts, tiny_loop_project


def _stage_context(project, config, progress=None, should_stop=None) -> stages.StageContext:
    training_round = round_launch(project=project, config=config)
    token = round_claim(round_id=training_round.pk)
    return stages.StageContext(
        round_id=training_round.pk,
        runner=token,
        progress=progress or (lambda fraction, metrics: None),
        should_stop=should_stop or (lambda: False),
    )


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


def _finish_round(ctx) -> None:
    round_finish(round_id=ctx.round_id, runner=ctx.runner, status=RoundStatus.SUCCEEDED)


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
    ctx = _stage_context(project, {**TINY, "eval_fraction": 0.5, "require_improvement": True})
    stages.stage_snapshot(ctx)
    stages.stage_reward_model(ctx)
    assert seen["eval"] and not {json.dumps(r, sort_keys=True) for r in seen["eval"]} & {
        json.dumps(r, sort_keys=True) for r in seen["train"]
    }  # a real held-out share
    assert seen["init"] == "/rm/v1" and seen["previous_evaluated"] == 1
    summary = TrainingRound.objects.get(pk=ctx.round_id).metrics["summary"]
    reward_model = RewardModelVersion.objects.get(project=project, version=2)
    assert reward_model.accepted is accepted and summary["rm_accepted"] is accepted
    assert summary["rm_eval_is_train"] is False and reward_model.metrics["eval_is_train"] is False
    assert summary["rm_previous_eval_accuracy"] == 0.8
    assert stages._accepted_reward_model(project) == (reward_model if accepted else previous)
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
    first = _stage_context(project, TINY)
    stages.stage_snapshot(first)
    stages.stage_reward_model(first)
    _finish_round(first)
    assert seen["eval"] == seen["train"]
    rm1 = RewardModelVersion.objects.get(project=project, version=1)
    assert rm1.accepted and rm1.metrics["eval_is_train"] is True  # the first one is all there is

    second = _stage_context(project, TINY)
    stages.stage_snapshot(second)
    stages.stage_reward_model(second)
    rm2 = RewardModelVersion.objects.get(project=project, version=2)
    summary = TrainingRound.objects.get(pk=second.round_id).metrics["summary"]
    assert not rm2.accepted and summary["rm_accepted"] is False and summary["rm_eval_is_train"] is True
    assert "no held-out pairs" in summary["rm_rejected_because"] and "RM v1" in summary["rm_rejected_because"]
    assert seen["previous_evaluated"] == 0 and summary["rm_previous_eval_accuracy"] is None
    assert stages._accepted_reward_model(project) == rm1


def _fake_policy_training(monkeypatch, kl: float, win: float, after_kl=None) -> None:
    import training.evaluation
    import training.ppo

    def train_ppo(config, policy, reward, prompts, output, **kwargs):
        kwargs["progress"](1.0, {"reward_raw": 0.1, "value_loss": 0.5})
        return {"steps": 1, "reward_mean_final": 0.1}

    def kl_to_reference(policy, reference, prompts, **kwargs):
        if after_kl:
            after_kl()
        return {"kl": kl, "kl_per_token": kl / 10, "responses": len(prompts)}

    def win_rate(reward, a, b, prompts, *, progress=None, should_stop=None, **kwargs):
        progress(0.5, {"stage": "generated_a"})
        if should_stop():
            from training import TrainingCancelled

            raise TrainingCancelled("during win-rate evaluation")
        return {"win_rate": win, "mean_reward_a": 1.0, "mean_reward_b": 0.5}

    monkeypatch.setattr(training.ppo, "train_ppo", train_ppo)
    monkeypatch.setattr(training.evaluation, "kl_to_reference", kl_to_reference)
    monkeypatch.setattr(training.evaluation, "win_rate", win_rate)


@pytest.mark.parametrize(
    ("kl", "win", "reason"),
    [
        (9.0, 0.9, "KL 9.000 over the budget 8.0"),
        (1.0, 0.5, "win rate 0.50 not above 0.5"),
        (9.0, 0.4, "KL 9.000 over the budget 8.0; win rate 0.40 not above 0.5"),
        (1.0, 0.75, None),
    ],
    ids=["over-kl", "no-win", "both", "accepted"],
)
def test_policy_acceptance_needs_kl_within_budget_and_a_win_rate_above_half(db, monkeypatch, kl, win, reason):
    project, _, _ = tiny_loop_project()
    RewardModelVersion.objects.create(
        project=project, version=1, base_model="tiny-reward-model", artifact_path="/rm/v1", accepted=True
    )
    base = project.current_policy
    _fake_policy_training(monkeypatch, kl=kl, win=win)
    fractions = []
    ctx = _stage_context(
        project,
        {"preset": "smoke", "kl_budget": 8.0, "require_improvement": True},
        progress=lambda fraction, metrics: fractions.append(fraction),
    )
    stages.stage_policy(ctx)
    summary = TrainingRound.objects.get(pk=ctx.round_id).metrics["summary"]
    project.refresh_from_db()
    assert summary["policy_kl_to_previous"] == kl and summary["policy_win_rate"] == win
    assert 0.85 + 0.15 * 0.5 in fractions  # the win-rate check reports progress inside the stage's range
    if reason:
        assert summary["policy_accepted"] is False and summary["policy_rejected_because"] == reason
        assert project.current_policy_id == base.pk
        assert list(PolicyVersion.objects.filter(project=project)) == [base]
    else:
        assert summary["policy_accepted"] is True and "policy_rejected_because" not in summary
        assert project.current_policy.version == 2 and project.current_policy.parent_id == base.pk


def test_cancel_during_the_acceptance_checks_registers_nothing(db, monkeypatch):
    from training import TrainingCancelled

    project, _, _ = tiny_loop_project()
    RewardModelVersion.objects.create(
        project=project, version=1, base_model="tiny-reward-model", artifact_path="/rm/v1", accepted=True
    )
    cancelled = threading.Event()
    _fake_policy_training(monkeypatch, kl=1.0, win=0.9, after_kl=cancelled.set)
    ctx = _stage_context(project, {"preset": "smoke", "kl_budget": 8.0}, should_stop=cancelled.is_set)
    with pytest.raises(TrainingCancelled, match="acceptance checks"):
        stages.stage_policy(ctx)
    assert PolicyVersion.objects.filter(project=project).count() == 1
    assert "policy_accepted" not in TrainingRound.objects.get(pk=ctx.round_id).metrics.get("summary", {})
