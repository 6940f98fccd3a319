"""The policy stage's acceptance rule (KL budget, a significant reward-model-judged win, DPO's own held-out
accuracy) and its cancellation, with the training library's calls replaced."""

import threading
from pathlib import Path

import pytest

from annotation.models import PolicyVersion, RewardModelVersion, RoundKind, TrainingRound
from annotation.rounds.stages.policy import stage_policy
from annotation.rounds.stages.snapshot import stage_snapshot
from tests.factories import loop_project_with_distinct_prompts, tiny_loop_project
from tests.helpers import stage_context


def _fake_policy_training(
    monkeypatch, kl: float, win: dict | None, margins=None, after_sampling=None
) -> dict:
    import training.dpo
    import training.evaluation
    import training.ppo
    from training.evaluation import PolicySamples

    seen: dict = {}

    def train(config, policy, *args, **kwargs):
        kwargs["progress"](1.0, {"reward_raw": 0.1, "value_loss": 0.5})
        seen["config"] = config
        return {"steps": 1, "reward_mean_final": 0.1}

    def sample_pair(candidate, baseline, prompts, *, generation, progress=None, should_stop=None, **kw):
        seen["generation"] = generation
        progress(0.5, {"stage": "sampled_candidate"})
        if after_sampling:
            after_sampling()
        if should_stop():
            from training import TrainingCancelled

            raise TrainingCancelled("during the acceptance checks")
        return PolicySamples([[]] * len(prompts), [[]] * len(prompts), [kl] * len(prompts), 10 * len(prompts))

    monkeypatch.setattr(training.ppo, "train_ppo", train)
    monkeypatch.setattr(training.dpo, "train_dpo", train)
    monkeypatch.setattr(training.evaluation, "sample_pair", sample_pair)
    monkeypatch.setattr(training.evaluation, "reward_judge", lambda ref, **kw: seen.setdefault("judge", ref))
    monkeypatch.setattr(
        training.evaluation, "judge_samples", lambda samples, prompts, judge, **kw: dict(win or {})
    )
    monkeypatch.setattr(training.dpo, "implicit_reward_margins", lambda *a, **kw: list(margins or []))
    return seen


SIGNIFICANT = {"win_rate": 0.7, "ci_low": 0.6, "ci_high": 0.8, "p_value": 0.001, "prompts": 32,
               "comparisons": 64, "mean_score_candidate": 1.0, "mean_score_baseline": 0.5}  # fmt: skip
NOT_SIGNIFICANT = {**SIGNIFICANT, "win_rate": 0.55, "ci_low": 0.45, "ci_high": 0.65, "p_value": 0.2}


def summary_of(ctx) -> dict:
    return TrainingRound.objects.get(pk=ctx.round_id).metrics["summary"]


def _reward_model(project, accepted=True):
    return RewardModelVersion.objects.create(
        project=project, version=1, base_model="tiny-reward-model", artifact_path="/rm/v1", accepted=accepted
    )


@pytest.mark.parametrize(
    ("kl", "win", "reason"),
    [
        (9.0, SIGNIFICANT, "KL 9.00 nats over the budget 8.0"),
        (1.0, NOT_SIGNIFICANT, "reward-model-judged win rate 0.55 (95% interval 0.45-0.65, 32 prompts) not "
         "significantly above 0.5 (one-sided p = 0.200)"),
        (1.0, SIGNIFICANT, None),
    ],
    ids=["over-kl", "not-significant", "accepted"],
)  # fmt: skip
def test_ppo_acceptance_needs_kl_within_budget_and_a_significant_win(db, monkeypatch, kl, win, reason):
    project, _, _ = tiny_loop_project()
    _reward_model(project)
    base = project.current_policy
    seen = _fake_policy_training(monkeypatch, kl=kl, win=win)
    fractions = []
    ctx = stage_context(
        project,
        {
            "preset": "smoke",
            "kl_budget": 8.0,
            "require_improvement": True,
            "generation": {"temperature": 0.6},
        },
        progress=lambda fraction, metrics: fractions.append(fraction),
    )
    stage_policy(ctx)
    summary = TrainingRound.objects.get(pk=ctx.round_id).metrics["summary"]
    project.refresh_from_db()
    assert summary["policy_kl_to_previous"] == kl and summary["policy_win_rate"] == win["win_rate"]
    assert summary["policy_win_p_value"] == win["p_value"] and summary["policy_judge"] == "reward_model"
    assert seen["judge"] == "/rm/v1"
    # One temperature: the acceptance checks sample at the round's generation temperature.
    assert seen["generation"].temperature == 0.6 and seen["generation"].seed == 1234
    assert 0.7 + 0.25 * 0.5 in fractions  # the checks report progress inside the stage's range
    if reason:
        assert summary["policy_accepted"] is False and summary["policy_rejected_because"] == reason
        assert project.current_policy_id == base.pk
        assert list(PolicyVersion.objects.filter(project=project)) == [base]
    else:
        assert summary["policy_accepted"] is True and "policy_rejected_because" not in summary
        assert project.current_policy.version == 2 and project.current_policy.parent_id == base.pk


def test_ppo_samples_at_the_rounds_generation_temperature(db, monkeypatch):
    project, _, _ = tiny_loop_project()
    _reward_model(project)
    seen = _fake_policy_training(monkeypatch, kl=1.0, win=SIGNIFICANT)
    ctx = stage_context(
        project, {"generation": {"temperature": 0.6, "max_new_tokens": 12}, "ppo": {"steps": 1}}
    )
    stage_policy(ctx)
    assert (seen["config"].temperature, seen["config"].max_new_tokens, seen["config"].lora) == (0.6, 12, True)


@pytest.mark.parametrize(
    ("margins", "judge", "accepted"),
    [([0.3] * 30, False, True), ([0.3, -0.3] * 15, False, False), ([0.3] * 30, True, True)],
    ids=["own-accuracy-alone", "own-accuracy-at-chance", "both-judges"],
)
def test_dpo_is_judged_by_its_own_held_out_accuracy_when_no_reward_model_can(db, monkeypatch, margins, judge,
                                                                              accepted):  # fmt: skip
    project, _, _ = loop_project_with_distinct_prompts()
    if judge:
        _reward_model(project)
    _fake_policy_training(monkeypatch, kl=1.0, win=SIGNIFICANT, margins=margins)
    ctx = stage_context(project, {"preset": "smoke", "require_improvement": True, "eval_fraction": 0.5},
                        kind=RoundKind.DPO)  # fmt: skip
    stage_snapshot(ctx)
    stage_policy(ctx)
    summary = TrainingRound.objects.get(pk=ctx.round_id).metrics["summary"]
    assert summary["policy_accepted"] is accepted
    assert summary["policy_judge"] == ("reward_model" if judge else "none")
    assert summary["dpo_eval_pairs"] == len(margins)
    if not judge:
        assert "policy_win_rate" in summary and summary["policy_win_rate"] is None
    if not accepted:
        assert (
            "DPO's own preference accuracy on 30 held-out pairs, 0.50" in summary["policy_rejected_because"]
        )


def test_cancel_during_the_acceptance_checks_registers_nothing(db, monkeypatch):
    from training import TrainingCancelled

    project, _, _ = tiny_loop_project()
    _reward_model(project)
    cancelled = threading.Event()
    _fake_policy_training(monkeypatch, kl=1.0, win=SIGNIFICANT, after_sampling=cancelled.set)
    ctx = stage_context(project, {"preset": "smoke", "kl_budget": 8.0}, should_stop=cancelled.is_set)
    with pytest.raises(TrainingCancelled, match="acceptance checks"):
        stage_policy(ctx)
    assert PolicyVersion.objects.filter(project=project).count() == 1
    assert "policy_accepted" not in TrainingRound.objects.get(pk=ctx.round_id).metrics.get("summary", {})


@pytest.mark.parametrize("kind", [RoundKind.DPO, RoundKind.PPO])
@pytest.mark.parametrize(
    ("final_kl", "earlier_kl", "accepted", "fell_back"),
    [(9.0, 3.0, True, True), (9.0, 8.5, False, False), (1.0, 3.0, True, False)],
    ids=["earlier-within", "both-over", "final-within"],
)
def test_a_policy_past_the_budget_falls_back_to_its_earlier_checkpoint(
    db, monkeypatch, final_kl, earlier_kl, accepted, fell_back, kind
):
    """The final policy drifted past the KL budget: the one it saved part-way (DPO: half-way; PPO: the last
    state a rollout measured within the budget) is judged instead when it is within the budget, and
    registered if it passes; otherwise the round rejects as before. A final policy that stands drops its
    part-way copy."""
    import training.dpo
    import training.evaluation
    import training.ppo
    from training.checkpoints import EARLIER_DIR, write_manifest

    project, _, _ = loop_project_with_distinct_prompts()
    _reward_model(project)
    seen = _fake_policy_training(monkeypatch, kl=final_kl, win=SIGNIFICANT, margins=[0.3] * 30)
    final_pair = training.evaluation.sample_pair

    def train(config, policy, *args, **kwargs):
        output = args[-1]  # DPO: (rows, output); PPO: (reward model, prompts, output)
        earlier = output / EARLIER_DIR
        earlier.mkdir(parents=True)
        write_manifest(earlier, kind="policy", base_model="tiny-causal-lm", metrics={"steps": 25})
        seen.update(config=config, output=output)
        return {"steps": 50} if kind == RoundKind.DPO else {"steps": 6, "updates": 5, "stopped_at_step": 7}

    def sample_pair(candidate, *args, **kwargs):
        samples = final_pair(
            candidate, *args, **{**kwargs, "progress": kwargs.get("progress") or (lambda f, m: None)}
        )
        if candidate.endswith(EARLIER_DIR):
            samples.kl[:] = [earlier_kl] * len(samples.kl)
        return samples

    monkeypatch.setattr(training.dpo, "train_dpo", train)
    monkeypatch.setattr(training.ppo, "train_ppo", train)
    monkeypatch.setattr(training.evaluation, "sample_pair", sample_pair)
    ctx = stage_context(project, {"eval_fraction": 0.5}, kind=kind)
    stage_snapshot(ctx)
    stage_policy(ctx)
    if kind == RoundKind.DPO:
        assert seen["config"].earlier_checkpoint == 0.5  # the rounds' default
    else:
        assert seen["config"].kl_stop == 8.0  # the round's KL budget
        assert summary_of(ctx)["policy_stopped_at_step"] == 7 and summary_of(ctx)["policy_updates"] == 5
    summary = TrainingRound.objects.get(pk=ctx.round_id).metrics["summary"]
    assert summary["policy_accepted"] is accepted
    assert summary.get("policy_earlier_step") == (25 if fell_back else None)
    if fell_back:
        assert summary["policy_kl_to_previous"] == earlier_kl
        registered = PolicyVersion.objects.get(project=project, version=2).artifact_path
        assert registered.endswith(EARLIER_DIR) and (Path(registered) / "prefer_manifest.json").exists()
    elif accepted:
        assert not (seen["output"] / EARLIER_DIR).exists()
    else:
        assert "KL 9.00 nats over the budget 8.0" in summary["policy_rejected_because"]
