"""Creating comparisons: a prompt and 2..K responses in a stored random display order."""

import secrets
from collections.abc import Sequence

from annotation.models import Comparison, ComparisonItem, Project, Response, TrainingRound


def comparisons_create(
    *,
    project: Project,
    groups: Sequence[Sequence[Response]],
    round: TrainingRound | None = None,
) -> list[Comparison]:
    """Create one comparison per group of responses (each group: one prompt's responses, the project's
    size), with a per-comparison random display order. Call inside the caller's transaction."""
    rng = secrets.SystemRandom()
    comparisons = Comparison.objects.bulk_create(
        [
            Comparison(
                project=project, prompt_id=group[0].prompt_id, annotations_wanted=project.overlap, round=round
            )
            for group in groups
        ]
    )
    items: list[ComparisonItem] = []
    for comparison, group in zip(comparisons, groups, strict=True):
        if len(group) != project.responses_per_task or len({r.prompt_id for r in group}) != 1:
            raise ValueError("a comparison needs the project's number of responses, all of one prompt")
        order = list(group)
        rng.shuffle(order)
        items.extend(
            ComparisonItem(comparison=comparison, response=response, position=position)
            for position, response in enumerate(order)
        )
    ComparisonItem.objects.bulk_create(items)
    return comparisons
