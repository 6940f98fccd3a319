"""The dashboard's per-round charts: the selector returns the curves as data, the page draws them."""

from annotation.models import RoundStatus, TrainingRound
from annotation.rounds.charts import rounds_panel
from annotation.rounds.selectors import rounds_dashboard


def test_per_round_charts_include_reward_and_value_loss(project):

    for index, (reward, losses) in enumerate([(0.2, [4.0, 3.0, 2.0, 1.0]), (0.7, [0.8, 0.6, 0.5, 0.25])]):
        TrainingRound.objects.create(
            project=project,
            status=RoundStatus.SUCCEEDED,
            metrics={
                "summary": {"rm_eval_accuracy": 0.6 + index / 10, "policy_reward_new": reward},
                "series": {"policy": [{"step": i, "value_loss": v} for i, v in enumerate(losses)]},
            },
        )
    data = {str(series.title): series.values for series in rounds_dashboard(project=project)["round_series"]}
    assert data["RM reward of the new policy (eval)"] == [0.2, 0.7]  # oldest round first
    assert data["value loss (end of PPO)"] == [1.0, 0.25] and data["RM held-out accuracy"] == [0.6, 0.7]
    assert "<svg" not in repr(rounds_dashboard(project=project))  # drawing is the page's job
    charts = {str(chart).split("<title>")[1].split("</title>")[0]: str(chart) for chart in
              rounds_panel(project=project)["round_charts"]}  # fmt: skip
    assert "RM reward of the new policy (eval)" in charts and "value loss (end of PPO)" in charts
    # the last point's tooltip: the reward of the latest round, the mean of the last quarter of its losses
    assert "<title>0.7</title></circle>" in charts["RM reward of the new policy (eval)"]
    assert "<title>0.25</title></circle>" in charts["value loss (end of PPO)"]
