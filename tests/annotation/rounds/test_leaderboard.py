"""Human win rate of each policy over its parent, and the Bradley-Terry leaderboard of all versions."""

import pytest

from annotation.data.comparisons import comparisons_create
from annotation.models import PolicyVersion, Response, Role, TrainingRound
from annotation.rounds.leaderboard import bradley_terry, head_to_head, leaderboard, project_policies
from annotation.rounds.summary import PolicyVerdict, summary_update
from tests.factories import ProjectFactory, PromptFactory, member
from tests.helpers import annotate, api_client


def test_bradley_terry_orders_versions_by_their_games():
    games = [(2, 1, 1.0)] * 14 + [(2, 1, 0.0)] * 4 + [(2, 1, 0.5)] * 2 + [(3, 2, 1.0)] * 9 + [(3, 2, 0.0)] * 3
    scores = bradley_terry(games)
    assert scores[3] > scores[2] > scores[1] and abs(sum(scores.values())) < 1e-9
    board = leaderboard(games)
    assert [s.version for s in board] == [3, 2, 1]
    assert all(s.ci_low <= s.score <= s.ci_high for s in board)
    assert {s.version: s.comparisons for s in board} == {1: 20, 2: 32, 3: 12}
    record = head_to_head(games, 2, 1)
    assert (record.wins, record.losses, record.ties) == (14, 4, 2)
    assert record.rate == pytest.approx(0.75) and record.ci_low < 0.75 < record.ci_high
    assert head_to_head(games, 1, 2).rate == pytest.approx(0.25)
    assert head_to_head(games, 3, 1).rate is None


def _policy_project(db):
    project = ProjectFactory(overlap=2)
    v1 = PolicyVersion.objects.create(project=project, version=1, model_ref="tiny-causal-lm")
    training_round = TrainingRound.objects.create(project=project, status="succeeded")
    verdict = PolicyVerdict(
        policy_accepted=True, policy_kl_to_previous=2.5, policy_win_rate=0.8, policy_reward_new=1.0,
        policy_reward_previous=0.5, policy_artifact="/x", policy_win_ci_low=0.7, policy_win_ci_high=0.9,
    )  # fmt: skip
    summary_update(training_round.metrics, verdict)
    training_round.save()
    v2 = PolicyVersion.objects.create(
        project=project, version=2, model_ref="/x", parent=v1, produced_by=training_round
    )
    project.current_policy = v2
    project.save()
    groups = []
    for index in range(6):
        prompt = PromptFactory(project=project, external_id=f"q{index}")
        groups.append(
            [
                Response.objects.create(prompt=prompt, text=f"new {index}", policy_version=v2),
                Response.objects.create(prompt=prompt, text=f"old {index}", policy_version=v1),
            ]
        )
    comparisons = comparisons_create(project=project, groups=groups, round=training_round)
    return project, comparisons, training_round


def test_the_annotators_verdict_on_the_generate_stages_comparisons(db):
    project, comparisons, training_round = _policy_project(db)
    alice, bob = member(project, Role.ANNOTATOR), member(project, Role.ANNOTATOR)
    for index, comparison in enumerate(comparisons):
        items = list(comparison.items.select_related("response").order_by("position"))
        new = next(i.position for i in items if i.response.text.startswith("new"))
        old = 1 - new
        # Four clear wins for the new policy, one loss, one split vote (no plurality: a draw).
        if index < 4:
            order_a = order_b = [new, old]
        elif index == 4:
            order_a = order_b = [old, new]
        else:
            order_a, order_b = [new, old], [old, new]
        annotate(comparison, alice, order=order_a)
        annotate(comparison, bob, order=order_b)
    policies = project_policies(project=project)
    v2 = next(v for v in policies["versions"] if v["version"] == 2)
    assert v2["parent"] == 1 and v2["round"] == training_round.pk and v2["is_current"]
    assert (v2["human"]["wins"], v2["human"]["losses"], v2["human"]["ties"]) == (4, 1, 1)
    assert v2["human"]["rate"] == pytest.approx(4.5 / 6) and v2["rm_win_rate"] == 0.8
    assert v2["rm_ci_low"] == 0.7 and v2["kl_to_parent"] == 2.5
    assert [s["version"] for s in policies["leaderboard"]] == [2, 1] and policies["games"] == 6


def test_policies_api_is_for_project_admins(db):
    project, _, _ = _policy_project(db)
    admin, annotator = member(project, Role.ADMIN), member(project, Role.ANNOTATOR)
    response = api_client(admin).get(f"/api/v1/projects/{project.slug}/policies/")
    assert response.status_code == 200
    body = response.json()
    assert [v["version"] for v in body["versions"]] == [1, 2]
    assert body["versions"][1]["human"] == {"wins": 0, "losses": 0, "ties": 0, "rate": None, "ci_low": None,
                                           "ci_high": None}  # fmt: skip
    assert body["leaderboard"] == [] and body["games"] == 0
    assert api_client(annotator).get(f"/api/v1/projects/{project.slug}/policies/").status_code == 403
    assert api_client(None).get(f"/api/v1/projects/{project.slug}/policies/").status_code in (401, 403)
