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
