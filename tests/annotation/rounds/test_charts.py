"""The dashboard's per-round charts."""

from annotation.models import RoundStatus, TrainingRound


def test_per_round_charts_include_reward_and_value_loss(project):
    from annotation.rounds.selectors import rounds_dashboard

    for index, (reward, losses) in enumerate([(0.2, [4.0, 3.0, 2.0, 1.0]), (0.7, [0.8, 0.6, 0.5, 0.25])]):
        TrainingRound.objects.create(
            project=project,
            status=RoundStatus.SUCCEEDED,
            metrics={
                "summary": {"rm_eval_accuracy": 0.6 + index / 10, "policy_reward_new": reward},
                "series": {"policy": [{"step": i, "value_loss": v} for i, v in enumerate(losses)]},
            },
        )
    charts = {str(chart).split("<title>")[1].split("</title>")[0]: str(chart) for chart in
              rounds_dashboard(project=project)["round_charts"]}  # fmt: skip
    assert "RM reward of the new policy (eval)" in charts and "value loss (end of PPO)" in charts
    # the last point's tooltip: the reward of the latest round, the mean of the last quarter of its losses
    assert "<title>0.7</title></circle>" in charts["RM reward of the new policy (eval)"]
    assert "<title>0.25</title></circle>" in charts["value loss (end of PPO)"]
