"""What an annotator is shown for a task: the conversation and the responses in stored display order,
rendered safely, with no trace of which model wrote which response."""

from datetime import datetime
from typing import Any

from annotation.models import Annotation, Comparison, ComparisonItem, Project
from annotation.rendering import render_markdown


def task_payload(*, comparison_id: int, leased_until: datetime, user_id: int) -> dict[str, Any]:
    comparison = Comparison.objects.select_related("prompt", "project").get(pk=comparison_id)
    project: Project = comparison.project
    items = (
        ComparisonItem.objects.filter(comparison_id=comparison_id)
        .order_by("position")
        .values_list("response__public_id", "response__text")
    )
    return {
        "id": comparison.pk,
        "kind": "ranking" if project.responses_per_task > 2 else "pairwise",
        "prompt": {
            "messages": [
                {"role": m["role"], "content": m["content"], "html": render_markdown(m["content"])}
                for m in comparison.prompt.messages
            ]
        },
        "responses": [
            {"id": str(public_id), "text": text, "html": render_markdown(text)} for public_id, text in items
        ],
        "rating_axes": project.rating_axes,
        "rating_scale_max": project.rating_scale_max,
        "lease_expires_at": leased_until.isoformat(),
        "done": Annotation.objects.filter(project_id=project.pk, annotator_id=user_id, is_live=True).count(),
    }
