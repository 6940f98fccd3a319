"""Annotator quality for admins (issue 12): each annotator's gold record and flag (data/gold.py) and the
Dawid-Skene skill estimate (data/skill.py), merged into the per-annotator rows of the project stats beside
the annotation count, median time and agreement with the others."""

from typing import Any

from annotation.data.consensus import comparison_records
from annotation.data.gold import gold_records
from annotation.data.skill import dawid_skene_fit
from annotation.models import Project


def annotator_quality(*, project: Project) -> dict[int, dict[str, Any]]:
    """annotator id -> {gold_seen, gold_accuracy, flagged, skill}. Skill is fitted on every counted vote of
    the project (rejected annotations and excluded annotators are out, as in the consensus)."""
    gold = gold_records(project=project)
    skills = dawid_skene_fit(comparison_records(project=project)).skills
    figures: dict[int, dict[str, Any]] = {}
    for annotator_id in set(gold) | set(skills):
        record = gold.get(annotator_id)
        figures[annotator_id] = {
            "gold_seen": record.seen if record else 0,
            "gold_accuracy": record.accuracy if record else None,
            "flagged": record.flagged if record else False,
            "skill": skills.get(annotator_id),
        }
    return figures


NO_FIGURES = {"gold_seen": 0, "gold_accuracy": None, "flagged": False, "skill": None}
