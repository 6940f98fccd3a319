"""The rounds panel (the dashboard polls it): each round's row shows what its stages recorded."""

from django.test import Client

from annotation.models import RoundStatus, TrainingRound


def _finished_round(project, **summary) -> TrainingRound:
    return TrainingRound.objects.create(
        project=project, status=RoundStatus.SUCCEEDED, metrics={"summary": summary}
    )


def _row(html: str, training_round: TrainingRound) -> str:
    """The panel's table row of one round."""
    return html.split(f'data-round="{training_round.pk}"')[1].split("</tr>")[0]


def test_the_panel_rows_show_the_recorded_summary(project, project_admin):
    accepted = _finished_round(
        project, rm_eval_accuracy=0.6125, policy_accepted=True, policy_win_rate=0.71,
        policy_kl_to_previous=1.25, policy_version=2, generated_comparisons=4,
    )  # fmt: skip
    rejected = _finished_round(
        project, policy_accepted=False, policy_rejected_because="KL 9.000 over the budget"
    )
    client = Client()
    client.force_login(project_admin)
    html = client.get(f"/p/{project.slug}/rounds/panel/").content.decode()
    first = _row(html, accepted)
    assert "0.613" in first and "0.71" in first and "1.250" in first
    assert "policy v2 accepted, 4 new comparisons" in first
    second = _row(html, rejected)
    assert "policy rejected: KL 9.000 over the budget" in second and "–" in second


def test_the_panel_says_when_ppo_stopped_at_the_budget_or_a_round_fell_back(project, project_admin):
    stopped = _finished_round(
        project, policy_accepted=True, policy_version=2, generated_comparisons=4,
        policy_stopped_at_step=7, policy_updates=5,
    )  # fmt: skip
    fell_back = _finished_round(project, policy_accepted=True, policy_version=3, policy_earlier_step=25)
    client = Client()
    client.force_login(project_admin)
    html = client.get(f"/p/{project.slug}/rounds/panel/").content.decode()
    first = _row(html, stopped)
    assert "PPO stopped at step 7: its rollout passed the KL budget, so the policy after 5 updates" in first
    assert "checkpoint" not in first
    second = _row(html, fell_back)
    assert "judged the checkpoint of step 25: the final policy was past the KL budget" in second
    assert "PPO stopped" not in second
    client.cookies["django_language"] = "zh-hans"
    chinese = client.get(f"/p/{project.slug}/rounds/panel/").content.decode()
    assert "PPO 在第 7 步停止" in chinese and "评估的是第 25 步的检查点" in chinese
