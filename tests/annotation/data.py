"""Annotating comparisons through the real submit service, by display position (shared by the export,
snapshot and stats tests)."""

import uuid

from annotation.models import Comparison
from annotation.services.annotations import annotation_submit


def annotate(
    comparison: Comparison,
    user,
    *,
    order: list | None = None,
    strength: str = "",
    all_bad: bool = False,
    ratings: dict | None = None,
    rationale: str = "",
    time_spent_ms: int = 1000,
) -> int:
    """Submit user's judgement. `order` lists display positions best first; a nested list is a tie group,
    e.g. [[0, 1], 2]. Returns the annotation id."""
    public = [str(item.response.public_id) for item in comparison.items.select_related("response")]
    groups = [[public[p] for p in (g if isinstance(g, list) else [g])] for g in (order or range(len(public)))]
    rated = {public[p]: scores for p, scores in (ratings or {}).items()}
    result = annotation_submit(
        comparison_id=comparison.pk,
        user=user,
        client_token=uuid.uuid4().hex,
        ranking=groups,
        strength=strength,
        all_bad=all_bad,
        ratings=rated,
        rationale=rationale,
        time_spent_ms=time_spent_ms,
    )
    return result.annotation_id
