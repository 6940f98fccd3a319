"""The scheduler (beat, every minute): launch a round for a project once it has enough new preferences."""

import logging

from annotation.errors import ApplicationError, Conflict
from annotation.models import ACTIVE_ROUND_STATUSES, Annotation, Project, TrainingRound
from annotation.rounds.services import round_launch

logger = logging.getLogger(__name__)


def new_preferences_since_last_round(*, project: Project) -> int:
    last = (
        TrainingRound.objects.filter(project=project)
        .order_by("-created_at")
        .values("annotations_up_to")
        .first()
    )
    watermark = last["annotations_up_to"] if last else 0
    return Annotation.objects.filter(project=project, is_live=True, id__gt=watermark).count()


def rounds_schedule() -> list[int]:
    """Launch a round for every project with auto rounds on and enough new preferences since its last
    round. The watermark recorded at launch means the same data never triggers twice."""
    launched = []
    for project in Project.objects.filter(auto_round_enabled=True):
        if TrainingRound.objects.filter(project=project, status__in=ACTIVE_ROUND_STATUSES).exists():
            continue
        if new_preferences_since_last_round(project=project) < project.auto_round_min_new_preferences:
            continue
        try:
            launched.append(
                round_launch(project=project, trigger="schedule", config=project.auto_round_config).pk
            )
        except Conflict:
            continue
        except ApplicationError as exc:  # one project's bad auto-round config must not stop the others
            logger.error("auto round for project %s not launched: %s", project.slug, exc.text)
            continue
    return launched
