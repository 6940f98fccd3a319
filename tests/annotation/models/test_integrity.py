"""Invariants the database itself holds, whatever code (or a hand-written SQL fix) writes the rows."""

import pytest
from django.db import IntegrityError, connection, transaction

from annotation.models import Comparison, ComparisonStatus, Role
from tests.factories import ProjectFactory, make_comparisons, member


def _execute(sql: str, params: list) -> None:
    # Deferred constraints fire at commit: SET CONSTRAINTS ALL IMMEDIATE makes them fire at the statement.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(sql, params)


@pytest.mark.django_db
def test_rows_cannot_cross_projects():
    home, other = ProjectFactory(), ProjectFactory()
    comparison = make_comparisons(home, 1)[0]
    user = member(home, Role.ANNOTATOR)
    with pytest.raises(IntegrityError, match="assignment_comparison_same_project"):
        _execute(
            "INSERT INTO annotation_assignment (comparison_id, annotator_id, project_id, state, leased_until,"
            " skip_reason, created_at, updated_at) VALUES (%s, %s, %s, 'leased', now(), '', now(), now())",
            [comparison.pk, user.pk, other.pk],
        )
    with pytest.raises(IntegrityError, match="comparison_prompt_same_project"):
        _execute("UPDATE annotation_comparison SET project_id = %s WHERE id = %s", [other.pk, comparison.pk])


@pytest.mark.django_db
@pytest.mark.parametrize(("received", "status"), [(1, ComparisonStatus.OPEN), (0, ComparisonStatus.COMPLETE)])
def test_status_follows_the_counts(received, status):
    comparison = make_comparisons(ProjectFactory(overlap=1), 1)[0]
    with pytest.raises(IntegrityError, match="comparison_status_follows_counts"), transaction.atomic():
        Comparison.objects.filter(pk=comparison.pk).update(annotations_received=received, status=status)
