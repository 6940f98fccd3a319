"""Reads about training rounds and model versions, scoped to what the user administers."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext_lazy as _

from annotation.access import ROLE_RANK, role_in_project
from annotation.errors import NotFound, PermissionDenied
from annotation.models import (
    PolicyVersion,
    Project,
    RewardModelVersion,
    Role,
    RoundKind,
    RoundStage,
    TrainingRound,
)
from annotation.rounds.summary import RoundSummary, read_summary, stage_series


@dataclass(frozen=True)
class RoundRow:
    """A row of the rounds table: the round and what its stages recorded."""

    round: TrainingRound
    summary: RoundSummary


def round_for_user(*, user: AbstractBaseUser, round_id: int) -> TrainingRound:
    """A round of a project the user administers: 404 if the user is no member, 403 below admin."""
    training_round = (
        TrainingRound.objects.select_related("project", "reward_model", "policy", "snapshot")
        .filter(pk=round_id)
        .first()
    )
    role = role_in_project(user=user, project=training_round.project) if training_round else None
    if training_round is None or role is None:
        raise NotFound("No such round.")
    if ROLE_RANK[Role(role)] < ROLE_RANK[Role.ADMIN]:
        raise PermissionDenied("Only project admins see training rounds.")
    return training_round


def accepted_reward_model(*, project: Project) -> RewardModelVersion | None:
    """The project's newest accepted reward model (the one the policy stage trains against), if any."""
    return RewardModelVersion.objects.filter(project=project, accepted=True).order_by("-version").first()


def project_models(*, project: Project) -> dict[str, Any]:
    """Policy and reward-model versions with their metrics, newest first."""
    return {
        "policies": list(PolicyVersion.objects.filter(project=project).order_by("-version")),
        "reward_models": list(RewardModelVersion.objects.filter(project=project).order_by("-version")),
    }


@dataclass(frozen=True)
class Series:
    """One curve of the rounds panel: its title and a value (or None) per step or per round."""

    title: str
    values: list[float | None]
    per_round: bool = False  # x axis: rounds, oldest first (else the steps of the latest round)


# What the panel plots: metric keys of the latest round's step series, per stage ...
POLICY_SERIES = [
    ("reward_raw", _("reward (raw RM score)")),
    ("kl_ref", _("KL to reference")),
    ("value_loss", _("value loss")),
]
# Helpful-and-harmless rounds (issue 11) also plot the cost model's score; other rounds have no such curve.
COST_SERIES = [("cost_raw", _("cost (raw cost-model score)"))]
DPO_SERIES = [("loss", _("DPO loss")), ("reward_margin", _("reward margin"))]
# ... what each round recorded ...
ROUND_SUMMARY_SERIES: list[tuple[Callable[[RoundSummary], float | None], str]] = [
    (lambda s: s.rm_eval_accuracy, _("RM held-out accuracy")),
    (lambda s: s.policy_win_rate, _("RM-judged win rate vs previous")),
    (lambda s: s.policy_kl_to_previous, _("KL to previous policy")),
    (lambda s: s.policy_reward_new, _("RM reward of the new policy (eval)")),
    (lambda s: s.policy_harmless_win_rate, _("cost-model-judged harmless win rate vs previous")),
]
# ... and per-round values taken from the end of the policy stage's step series (mean of its last quarter).
ROUND_END_OF_POLICY_SERIES = [("value_loss", _("value loss (end of PPO)"))]


def _final(training_round: TrainingRound, stage: str, key: str) -> float | None:
    values = [v for v in stage_series(training_round.metrics, stage, key) if v is not None]
    window = values[-max(1, len(values) // 4) :]
    return sum(window) / len(window) if window else None


def rounds_dashboard(*, project: Project) -> dict[str, Any]:
    """Everything the dashboard's rounds panel shows, as data: the latest rounds (with live state and their
    summaries), the step curves of the latest round, the per-round curves, and the model versions. Drawing
    the curves is the page's job (annotation/rounds/charts.py)."""
    rounds = list(
        TrainingRound.objects.filter(project=project)
        .select_related("reward_model", "policy", "snapshot", "triggered_by")
        .order_by("-created_at")[:20]
    )
    latest = rounds[0] if rounds else None
    step_series = []
    if latest is not None:
        step_series.append(
            Series(_("RM train accuracy"), stage_series(latest.metrics, RoundStage.REWARD_MODEL, "accuracy"))
        )
        specs = DPO_SERIES if latest.kind == RoundKind.DPO else POLICY_SERIES
        step_series.extend(
            Series(title, stage_series(latest.metrics, RoundStage.POLICY, key)) for key, title in specs
        )
        for key, title in COST_SERIES:
            values = stage_series(latest.metrics, RoundStage.POLICY, key)
            if any(value is not None for value in values):
                step_series.append(Series(title, values))
    chronological = list(reversed(rounds))
    summaries = [read_summary(r.metrics) for r in chronological]
    round_series = [
        Series(title, [value(s) for s in summaries], per_round=True) for value, title in ROUND_SUMMARY_SERIES
    ]
    if all(s.policy_harmless_win_rate is None for s in summaries):  # no helpful-and-harmless round yet
        round_series = [series for series in round_series if series.title != ROUND_SUMMARY_SERIES[-1][1]]
    round_series.extend(
        Series(title, [_final(r, RoundStage.POLICY, key) for r in chronological], per_round=True)
        for key, title in ROUND_END_OF_POLICY_SERIES
    )
    return {
        "rounds": rounds,
        # The table's rows: each round with its summary read through the typed accessor.
        "rows": [RoundRow(round=r, summary=read_summary(r.metrics)) for r in rounds],
        "latest": latest,
        "active": next((r for r in rounds if r.is_active), None),
        "step_series": step_series,
        "round_series": round_series,
        **project_models(project=project),
    }
