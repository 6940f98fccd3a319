"""Fixtures of the issue-12 tests: a project with gold items and ordinary comparisons."""

import pytest

from annotation.data.gold import gold_mark
from annotation.models import Role
from tests.factories import make_comparisons, member


@pytest.fixture
def gold_project(project):
    """Overlap 3, a gold bar of 0.7 after 3 items, 4 gold items (position 0 is the right answer) and 4
    ordinary comparisons."""
    project.overlap = 3
    project.gold_min_seen = 3
    project.gold_min_accuracy = 0.7
    project.save()
    golds = make_comparisons(project, 4)
    for comparison in golds:
        order = list(comparison.items.order_by("position").values_list("response_id", flat=True))
        gold_mark(comparison=comparison, ranking=[[order[0]], [order[1]]], explanation="A is right")
    ordinary = make_comparisons(project, 4)
    return project, golds, ordinary


@pytest.fixture
def crew(gold_project):
    """Three annotators and an admin of gold_project."""
    project, _, _ = gold_project
    return [member(project, Role.ANNOTATOR) for _ in range(3)], member(project, Role.ADMIN)
