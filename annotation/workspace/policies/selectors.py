"""The models page's jobs: the project's recent fill-the-queue generations."""

from dataclasses import dataclass

from annotation.models import ACTIVE_ROUND_STATUSES, GenerationJob, Project

RECENT_JOBS = 10


@dataclass(frozen=True)
class Jobs:
    rows: list[GenerationJob]
    active: bool


def fill_jobs(*, project: Project) -> Jobs:
    """The newest generations of the project, and whether one is still queued or running."""
    rows = list(GenerationJob.objects.filter(project=project).order_by("-created_at", "-id")[:RECENT_JOBS])
    return Jobs(rows=rows, active=any(job.status in ACTIVE_ROUND_STATUSES for job in rows))
