"""Reads about training rounds and model versions, scoped to what the user administers."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext_lazy as _

from annotation.access import ROLE_RANK, role_in_project
from annotation.errors import NotFound, PermissionDenied
from annotation.models import PolicyVersion, Project, RewardModelVersion, Role, TrainingRound
from annotation.rounds.summary import RoundSummary, read_summary, stage_series


@dataclass(frozen=True)
class RoundRow:
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


POLICY_CHARTS = [
    ("reward_raw", _("reward (raw RM score)")),
    ("kl_ref", _("KL to reference")),
    ("value_loss", _("value loss")),
]
DPO_CHARTS = [("loss", _("DPO loss")), ("reward_margin", _("reward margin"))]
ROUND_CHARTS: list[tuple[Callable[[RoundSummary], float | None], str]] = [
    (lambda s: s.rm_eval_accuracy, _("RM held-out accuracy")),
    (lambda s: s.policy_win_rate, _("RM-judged win rate vs previous")),
    (lambda s: s.policy_kl_to_previous, _("KL to previous policy")),
    (lambda s: s.policy_reward_new, _("RM reward of the new policy (eval)")),
]
# Per-round values taken from the end of the policy stage's step series (mean of its last quarter).
ROUND_SERIES_CHARTS = [("value_loss", _("value loss (end of PPO)"))]


def _final(training_round: TrainingRound, stage: str, key: str) -> float | None:
    values = [v for v in stage_series(training_round.metrics, stage, key) if v is not None]
    window = values[-max(1, len(values) // 4) :]
    return sum(window) / len(window) if window else None


def rounds_dashboard(*, project: Project) -> dict[str, Any]:
    """Everything the dashboard's rounds panel shows: rounds with live state, step charts of the latest round,
    per-round charts, and the model versions."""
    from annotation.rounds.charts import line_chart

    rounds = list(
        TrainingRound.objects.filter(project=project)
        .select_related("reward_model", "policy", "snapshot", "triggered_by")
        .order_by("-created_at")[:20]
    )
    latest = rounds[0] if rounds else None
    step_charts = []
    if latest is not None:
        step_charts.append(
            line_chart(stage_series(latest.metrics, "reward_model", "accuracy"), title=_("RM train accuracy"))
        )
        specs = DPO_CHARTS if latest.kind == "dpo" else POLICY_CHARTS
        step_charts.extend(
            line_chart(stage_series(latest.metrics, "policy", key), title=title) for key, title in specs
        )
    chronological = list(reversed(rounds))
    summaries = [read_summary(r.metrics) for r in chronological]
    round_charts = [
        line_chart([value(s) for s in summaries], title=title, x_label=_("round"))
        for value, title in ROUND_CHARTS
    ]
    round_charts.extend(
        line_chart([_final(r, "policy", key) for r in chronological], title=title, x_label=_("round"))
        for key, title in ROUND_SERIES_CHARTS
    )
    return {
        "rounds": rounds,
        # The table's rows: each round with its summary read through the typed accessor.
        "rows": [RoundRow(round=r, summary=read_summary(r.metrics)) for r in rounds],
        "latest": latest,
        "active": next((r for r in rounds if r.is_active), None),
        "step_charts": step_charts,
        "round_charts": round_charts,
        **project_models(project=project),
    }
