"""Project-level reads for the pages and the API."""

from typing import Any

from django.db.models import Count, Q

from annotation.models import Annotation, Comparison, ComparisonStatus, Project, Prompt


def project_overview(*, project: Project) -> dict[str, Any]:
    """Counts an admin glances at: prompts, comparisons by status, annotations received."""
    comparisons = Comparison.objects.filter(project=project).aggregate(
        total=Count("id"),
        open=Count("id", filter=Q(status=ComparisonStatus.OPEN)),
        complete=Count("id", filter=Q(status=ComparisonStatus.COMPLETE)),
    )

    return {
        "prompts": Prompt.objects.filter(project=project).count(),
        "comparisons": comparisons,
        "annotations": Annotation.objects.filter(project=project, is_live=True).count(),
        "members": project.memberships.count(),
    }
