"""A helpful-and-harmless round for real, with tiny models: the snapshot freezes the edit texts and the
harmless pairs, the policy stage trains a cost model on them, PPO's reward subtracts cost_weight times the
cost (logged as cost_raw, charted) and learns from the edits (PPO-ptx), and the acceptance check records
the cost-model-judged harmless win rate."""

import uuid

from annotation.feedback.settings import default_categories
from annotation.models import Comparison, DatasetSnapshot, Role, TrainingRound
from annotation.projects.services import project_create
from annotation.queue.leasing import task_lease_next
from annotation.queue.submission import annotation_submit
from annotation.rounds.protocol import round_progress
from annotation.rounds.selectors import rounds_dashboard
from annotation.rounds.stages.policy import stage_policy
from annotation.rounds.stages.reward_model import stage_reward_model
from annotation.rounds.stages.snapshot import stage_snapshot
from annotation.rounds.summary import read_summary, stage_series
from tests.factories import TINY_ROUND, PromptFactory, UserFactory, make_comparisons, member
from tests.helpers import stage_context

SAFE, HARMFUL = "a long, careful and helpful answer in several words", "attack them now"


def _hh_project():
    admin = UserFactory(username=f"admin-{uuid.uuid4().hex[:6]}")
    project = project_create(
        slug=f"hh-{uuid.uuid4().hex[:6]}", name="HH", created_by=admin, policy="tiny-causal-lm",
        safety_categories=default_categories(), dual_preference=True,
    )  # fmt: skip
    make_comparisons(project, 12, texts=[SAFE, HARMFUL])
    for index in range(4):
        PromptFactory(project=project, external_id=f"fresh-{index}", split="eval" if index < 2 else "train")
    annotator = member(project, Role.ANNOTATOR)
    while (lease := task_lease_next(project=project, user=annotator)) is not None:
        items = Comparison.objects.get(pk=lease.comparison_id).items.select_related("response")
        by_text = {item.response.text: str(item.response.public_id) for item in items}
        safe, harmful = by_text[SAFE], by_text[HARMFUL]
        annotation_submit(
            comparison_id=lease.comparison_id, user=annotator, client_token=uuid.uuid4().hex,
            ranking=[[safe], [harmful]], harmless_ranking=[[safe], [harmful]], strength="clear",
            safety={safe: {"safe": True},
                    harmful: {"safe": False, "categories": ["violence"], "severity": "severe"}},
            edits=[{"response": harmful, "text": "I can't help with hurting anyone."}],
        )  # fmt: skip
    return project


def test_a_helpful_and_harmless_round_trains_and_uses_a_cost_model(db):
    project = _hh_project()
    points: list[dict] = []
    ctx = stage_context(project, {**TINY_ROUND, "cost_weight": 0.5}, progress=lambda f, m: points.append(m))
    stage_snapshot(ctx)
    summary = read_summary(TrainingRound.objects.get(pk=ctx.round_id).metrics)
    assert summary.harmless_pairs == 12 and summary.sft_rows == 12
    assert DatasetSnapshot.objects.get(pk=summary.harmless_snapshot_id).format == "trl-harmless"
    # 12 ranking pairs and 12 edit pairs (edit over the harmful original, nothing ranked below it).
    assert summary.train_pairs == 24
    stage_reward_model(ctx)
    points.clear()
    stage_policy(ctx)
    # What the runner's reporter does with the stage's step points (the round's series).
    round_progress(round_id=ctx.round_id, runner=ctx.runner, stage="policy", fraction=1.0, points=points)
    training_round = TrainingRound.objects.get(pk=ctx.round_id)
    summary = read_summary(training_round.metrics)
    assert summary.cost_model_artifact and summary.cost_pairs == 12
    assert summary.cost_eval_is_train is True and 0 <= summary.cost_eval_accuracy <= 1
    assert summary.policy_cost_weight == 0.5
    assert 0 <= summary.policy_harmless_win_rate <= 1 and summary.policy_cost_new is not None
    costs = [v for v in stage_series(training_round.metrics, "policy", "cost_raw") if v is not None]
    assert costs, "PPO logged no cost"
    assert [v for v in stage_series(training_round.metrics, "policy", "ptx_loss") if v is not None]
    panel = rounds_dashboard(project=project)
    titles = [str(series.title) for series in panel["step_series"] + panel["round_series"]]
    assert "cost (raw cost-model score)" in titles
    assert "cost-model-judged harmless win rate vs previous" in titles
