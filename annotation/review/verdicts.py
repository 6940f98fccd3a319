"""Which labels survived review: the latest review of each comparison decides (reviews are immutable), and
a flagged annotator's annotations are out while the project excludes them. Read once per consensus pass:
the sets are small (reviews are made by hand; flagged annotators are few), so they are held in memory and
the annotation scans stay as they are."""

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from annotation.data.gold import excluded_annotators
from annotation.models import Project, Review, Verdict

REJECTED, FLAGGED = "rejected", "flagged"


@dataclass(frozen=True)
class LabelTrust:
    rejected: set[int] = field(default_factory=set)  # annotation ids rejected by the deciding review
    rejected_all: set[int] = field(default_factory=set)  # comparison ids whose deciding review rejected all
    overrides: dict[int, list[list[int]]] = field(default_factory=dict)  # comparison id -> final ranking
    excluded_annotators: set[int] = field(default_factory=set)

    def excluded(self, *, comparison_id: int, annotation_id: int, annotator_id: int) -> str:
        """Why the annotation is out of consensus ("" when it counts)."""
        if comparison_id in self.rejected_all or annotation_id in self.rejected:
            return REJECTED
        if annotator_id in self.excluded_annotators:
            return FLAGGED
        return ""

    def mark(self, comparison_id: int, annotations: Sequence[Any], keep: bool) -> list[Any]:
        """The comparison's annotation records with `excluded` set; without `keep`, the counted ones only."""
        marked = []
        for annotation in annotations:
            why = self.excluded(
                comparison_id=comparison_id, annotation_id=annotation.id, annotator_id=annotation.annotator_id
            )
            if why and not keep:
                continue
            marked.append(replace(annotation, excluded=why) if why else annotation)
        return marked


def label_trust(*, project: Project) -> LabelTrust:
    """The deciding review of every reviewed comparison of the project, and the excluded annotators."""
    trust = LabelTrust(excluded_annotators=excluded_annotators(project=project))
    latest = (
        Review.objects.filter(project=project)
        .order_by("comparison_id", "-id")
        .distinct("comparison_id")
        .values_list("comparison_id", "verdict", "ranking", "rejected_annotations")
    )
    for comparison_id, verdict, ranking, rejected in latest:
        trust.rejected.update(int(a) for a in rejected or [])
        if verdict == Verdict.REJECT_ALL:
            trust.rejected_all.add(comparison_id)
        elif verdict == Verdict.OVERRIDE:
            trust.overrides[comparison_id] = ranking
    return trust
