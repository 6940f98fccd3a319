"""The policy stage's acceptance rule (KL budget, win rate) and its cancellation, with the training library's
calls replaced."""

import threading

import pytest

from annotation.models import PolicyVersion, RewardModelVersion, TrainingRound
from annotation.rounds.stages.policy import stage_policy
from tests.factories import tiny_loop_project
from tests.helpers import stage_context


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
    ctx = stage_context(
        project,
        {"preset": "smoke", "kl_budget": 8.0, "require_improvement": True},
        progress=lambda fraction, metrics: fractions.append(fraction),
    )
    stage_policy(ctx)
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
    ctx = stage_context(project, {"preset": "smoke", "kl_budget": 8.0}, should_stop=cancelled.is_set)
    with pytest.raises(TrainingCancelled, match="acceptance checks"):
        stage_policy(ctx)
    assert PolicyVersion.objects.filter(project=project).count() == 1
    assert "policy_accepted" not in TrainingRound.objects.get(pk=ctx.round_id).metrics.get("summary", {})
