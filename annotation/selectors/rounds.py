"""Reads about training rounds and model versions, scoped to what the user administers."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from annotation.models import PolicyVersion, Project, RewardModelVersion, Role, TrainingRound
from annotation.selectors.access import ROLE_RANK, role_in_project
from annotation.services.errors import NotFound, PermissionDenied


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


def project_models(*, project: Project) -> dict[str, Any]:
    """Policy and reward-model versions with their metrics, newest first."""
    return {
        "policies": list(PolicyVersion.objects.filter(project=project).order_by("-version")),
        "reward_models": list(RewardModelVersion.objects.filter(project=project).order_by("-version")),
    }
