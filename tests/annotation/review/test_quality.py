"""Annotator quality: gold record and flag, agreement, median time, skill; a flagged annotator's labels
leave consensus, snapshots and exports (raw marks them) while the project excludes them, until cleared."""

import json

from django.utils import timezone

from annotation.data.exports import preference_export
from annotation.data.gold import gold_records
from annotation.data.pseudonyms import annotator_pseudonym
from annotation.data.snapshots import dataset_snapshot_create, snapshot_rows
from annotation.data.stats import project_stats
from annotation.models import Comparison, Role
from tests.factories import member
from tests.helpers import annotate, api_client


def _label(golds, ordinary, good, bad):
    """`good` answer gold right and prefer A; `bad` answers gold wrong and prefers B."""
    for comparison in golds:
        for user in good:
            annotate(comparison, user, order=[0, 1], time_spent_ms=4000)
        annotate(comparison, bad, order=[1, 0], time_spent_ms=500)
    for comparison in ordinary:
        for user in good:
            annotate(comparison, user, order=[0, 1], time_spent_ms=4000)
        annotate(comparison, bad, order=[1, 0], time_spent_ms=500)


def test_gold_record_flags_below_the_bar_only_after_enough_items(gold_project, crew):
    project, golds, _ = gold_project
    (good, _, bad), _ = crew
    for comparison in golds[:2]:
        annotate(comparison, good, order=[0, 1])
        annotate(comparison, bad, order=[1, 0])
    records = gold_records(project=project)
    assert (records[bad.pk].seen, records[bad.pk].accuracy, records[bad.pk].flagged) == (2, 0.0, False)
    annotate(golds[2], bad, order=[1, 0])
    annotate(golds[2], good, order=[0, 1])
    records = gold_records(project=project)
    assert records[bad.pk].flagged and records[bad.pk].seen == 3
    assert not records[good.pk].flagged and records[good.pk].accuracy == 1.0


def test_a_correction_after_feedback_does_not_change_the_gold_record(gold_project, crew):
    project, golds, _ = gold_project
    (_, _, bad), _ = crew
    annotate(golds[0], bad, order=[1, 0])
    annotate(golds[0], bad, order=[0, 1])  # corrected once the expected answer was shown
    assert gold_records(project=project)[bad.pk].accuracy == 0.0


def test_stats_show_each_annotators_quality_to_admins_only(gold_project, crew):
    project, golds, ordinary = gold_project
    (a, b, bad), admin = crew
    project.overlap = 4
    project.save()
    Comparison.objects.filter(pk__in=[c.pk for c in ordinary]).update(annotations_wanted=4)
    c = member(project, Role.ANNOTATOR)
    _label(golds, ordinary, [a, b, c], bad)
    body = api_client(admin).get(f"/api/v1/projects/{project.slug}/stats/").json()
    rows = {row["annotator"]: row for row in body["annotators"]}
    worst = rows[annotator_pseudonym(bad.pk, project_id=project.pk)]
    best = rows[annotator_pseudonym(a.pk, project_id=project.pk)]
    assert (worst["gold_seen"], worst["gold_accuracy"], worst["flagged"]) == (4, 0.0, True)
    assert (best["gold_seen"], best["gold_accuracy"], best["flagged"]) == (4, 1.0, False)
    assert worst["agreement"] == 0.0 and best["agreement"] == 1.0
    assert worst["median_time_ms"] == 500 and best["median_time_ms"] == 4000
    assert worst["skill"] < 0.5 < best["skill"]
    reviewer = member(project, Role.REVIEWER)
    assert "annotators" not in api_client(reviewer).get(f"/api/v1/projects/{project.slug}/stats/").json()


def _pairs(project, **query):
    return [
        json.loads(line)
        for chunk in preference_export(project=project, fmt="trl", **query).ndjson()
        for line in chunk.splitlines()
    ]


def test_excluded_annotators_leave_consensus_snapshots_and_exports_until_cleared(gold_project, crew):
    project, golds, ordinary = gold_project
    (a, b, bad), admin = crew
    # The bad annotator and one honest one prefer B, so without exclusion B wins 2:1 on ordinary items.
    for comparison in ordinary:
        annotate(comparison, a, order=[0, 1])
        annotate(comparison, b, order=[1, 0])
        annotate(comparison, bad, order=[1, 0])
    for comparison in golds[:3]:
        annotate(comparison, bad, order=[1, 0])
    ordinary_ids = {c.pk for c in ordinary}
    before = [row for row in _pairs(project) if row["comparison_id"] in ordinary_ids]
    assert all(row["agreement"] == round(2 / 3, 6) for row in before)

    project.gold_exclude_below = True
    project.save()
    after = [row for row in _pairs(project) if row["comparison_id"] in ordinary_ids]
    assert after == []  # 1:1 between a and b: no pair once the bad votes are out
    raw = list(preference_export(project=project, fmt="raw"))
    marks = {(row["annotator"], row["excluded"]) for row in raw}
    bad_name = annotator_pseudonym(bad.pk, project_id=project.pk)
    assert (bad_name, "flagged") in marks and all(
        row["excluded"] is None for row in raw if row["annotator"] != bad_name
    )
    snapshot = dataset_snapshot_create(project=project, split="train")
    assert not [row for row in snapshot_rows(snapshot) if row["comparison_id"] in ordinary_ids]
    stats = project_stats(project=project, now=timezone.now())
    assert stats["agreement"]["comparisons"] == len(ordinary)  # a and b only: two votes each

    url = f"/api/v1/projects/{project.slug}/annotators/{bad_name}/clear-flag/"
    assert api_client(a).post(url).status_code in (403, 404)
    assert (
        api_client(admin)
        .post(f"/api/v1/projects/{project.slug}/annotators/ann_nobody/clear-flag/")
        .status_code
        == 404
    )
    assert api_client(admin).post(url).status_code == 204
    assert not gold_records(project=project).get(bad.pk)  # the record starts again
    restored = [row for row in _pairs(project) if row["comparison_id"] in ordinary_ids]
    assert restored == before
