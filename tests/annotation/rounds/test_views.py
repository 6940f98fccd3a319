"""The rounds panel (the dashboard polls it): each round's row shows what its stages recorded."""

from django.test import Client

from annotation.models import RoundStatus, TrainingRound


def test_the_panel_rows_show_the_recorded_summary(project, project_admin):
    accepted = TrainingRound.objects.create(
        project=project,
        status=RoundStatus.SUCCEEDED,
        metrics={
            "summary": {
                "rm_eval_accuracy": 0.6125,
                "policy_accepted": True,
                "policy_win_rate": 0.71,
                "policy_kl_to_previous": 1.25,
                "policy_version": 2,
                "generated_comparisons": 4,
            }
        },
    )
    rejected = TrainingRound.objects.create(
        project=project,
        status=RoundStatus.SUCCEEDED,
        metrics={
            "summary": {"policy_accepted": False, "policy_rejected_because": "KL 9.000 over the budget"}
        },
    )
    client = Client()
    client.force_login(project_admin)
    html = client.get(f"/p/{project.slug}/rounds/panel/").content.decode()
    first = html.split(f'data-round="{accepted.pk}"')[1].split("</tr>")[0]
    assert "0.613" in first and "0.71" in first and "1.250" in first
    assert "policy v2 accepted, 4 new comparisons" in first
    second = html.split(f'data-round="{rejected.pk}"')[1].split("</tr>")[0]
    assert "policy rejected: KL 9.000 over the budget" in second and "–" in second


def test_the_panel_says_when_ppo_stopped_at_the_budget_or_a_round_fell_back(project, project_admin):
    stopped = TrainingRound.objects.create(
        project=project,
        status=RoundStatus.SUCCEEDED,
        metrics={
            "summary": {
                "policy_accepted": True, "policy_version": 2, "generated_comparisons": 4,
                "policy_stopped_at_step": 7, "policy_updates": 5,
            }
        },
    )  # fmt: skip
    fell_back = TrainingRound.objects.create(
        project=project,
        status=RoundStatus.SUCCEEDED,
        metrics={"summary": {"policy_accepted": True, "policy_version": 3, "policy_earlier_step": 25}},
    )
    client = Client()
    client.force_login(project_admin)
    html = client.get(f"/p/{project.slug}/rounds/panel/").content.decode()
    first = html.split(f'data-round="{stopped.pk}"')[1].split("</tr>")[0]
    assert "PPO stopped at step 7: its rollout passed the KL budget, so the policy after 5 updates" in first
    assert "checkpoint" not in first
    second = html.split(f'data-round="{fell_back.pk}"')[1].split("</tr>")[0]
    assert "judged the checkpoint of step 25: the final policy was past the KL budget" in second
    assert "PPO stopped" not in second
    client.cookies["django_language"] = "zh-hans"
    chinese = client.get(f"/p/{project.slug}/rounds/panel/").content.decode()
    assert "PPO 在第 7 步停止" in chinese and "评估的是第 25 步的检查点" in chinese
