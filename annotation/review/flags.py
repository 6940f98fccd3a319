"""Reasons for review raised outside the annotations: after a round, the accepted reward model contradicting
a unanimous human verdict with high confidence (a label error, or a blind spot of the model)."""

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from annotation.models import Comparison, ReviewFlag, ReviewReason, TrainingRound

RM_CONFIDENCE = 0.9  # the reward model's probability that the humans' rejected side is better
MIN_VOTES = 2  # "unanimous" needs more than one annotator


def unanimous_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The `trl` rows whose verdict every annotator shared (and no reviewer decided already)."""
    return [
        row
        for row in rows
        if row.get("agreement") == 1.0
        and row.get("n_annotations", 0) >= MIN_VOTES
        and not row.get("adjudicated")
    ]


@transaction.atomic
def rm_disagreements_record(
    *, training_round: TrainingRound, rows: list[dict[str, Any]], p_rejected_better: list[float]
) -> int:
    """Flag for review each unanimous row the round's reward model contradicts with at least RM_CONFIDENCE;
    returns how many were flagged (a row flagged by this round before is not flagged twice)."""
    flagged = 0
    project_comparisons = set(
        Comparison.objects.filter(
            project_id=training_round.project_id, pk__in=[row["comparison_id"] for row in rows]
        ).values_list("pk", flat=True)
    )
    for row, p in zip(rows, p_rejected_better, strict=True):
        if p < RM_CONFIDENCE or row["comparison_id"] not in project_comparisons:
            continue
        _, created = ReviewFlag.objects.get_or_create(
            comparison_id=row["comparison_id"],
            reason=ReviewReason.RM_DISAGREES,
            round=training_round,
            defaults={"project_id": training_round.project_id, "detail": {"p_rejected_better": round(p, 4)}},
        )
        flagged += created
    return flagged
