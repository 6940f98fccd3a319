"""The consensus rule (annotation/data/consensus.py) against hand-computed cases, and its query."""

import datetime as dt

import pytest
from django.db import connection

from annotation.data.consensus import (
    DEFAULT_MARGIN,
    FIRST,
    SECOND,
    TIE,
    AnnotationRecord,
    ComparisonRecord,
    ConsensusPair,
    PreferenceFilters,
    ResponseRecord,
    comparison_records,
    consensus_of,
)
from annotation.errors import ApplicationError
from annotation.models import Annotation, Role
from tests.factories import ProjectFactory, make_comparisons, member
from tests.helpers import annotate


def record(response_ids, *votes) -> ComparisonRecord:
    """votes: (ranking, strength, all_bad) per annotator (annotator ids 1, 2, ...)."""
    return ComparisonRecord(
        id=7,
        created_at="2025-01-01T00:00:00+00:00",
        is_gold=False,
        prompt_external_id="q",
        split="train",
        messages=[{"role": "user", "content": "hi"}],
        responses=[ResponseRecord(rid, f"text {rid}", "m") for rid in response_ids],
        annotations=[
            AnnotationRecord(id=100 + k, annotator_id=k + 1, ranking=ranking, strength=strength, all_bad=bad)
            for k, (ranking, strength, bad) in enumerate(votes)
        ],
    )


def test_single_pairwise_annotation_gives_its_pair_with_strength_margin():
    consensus = consensus_of(record([10, 20], ([[20], [10]], "strong", False)))
    assert consensus.n_annotations == 1 and not consensus.all_bad
    assert consensus.pairs == [
        ConsensusPair(chosen_id=20, rejected_id=10, agreement=1.0, margin=2.0, votes=1)
    ]


def test_majority_of_three_agreement_two_thirds_margin_mean_of_agreeing():
    consensus = consensus_of(
        record(
            [10, 20],
            ([[10], [20]], "slight", False),  # 0.5
            ([[20], [10]], "strong", False),  # disagrees: its 2.0 does not count
            ([[10], [20]], "strong", False),  # 2.0
        )
    )
    (pair,) = consensus.pairs
    assert (pair.chosen_id, pair.rejected_id) == (10, 20)
    assert pair.agreement == pytest.approx(0.666667)
    assert pair.margin == pytest.approx(1.25)  # (0.5 + 2.0) / 2
    assert consensus.pair_votes[0].votes == ((1, FIRST), (2, SECOND), (3, FIRST))


def test_missing_strength_gets_the_default_margin():
    (pair,) = consensus_of(record([1, 2], ([[1], [2]], "", False), ([[1], [2]], "clear", False))).pairs
    assert pair.margin == DEFAULT_MARGIN == 1.0


def test_even_split_and_tie_majority_give_no_pair():
    split = consensus_of(record([1, 2], ([[1], [2]], "", False), ([[2], [1]], "", False)))
    assert split.pairs == [] and split.pair_votes[0].outcome is None
    tied = consensus_of(record([1, 2], ([[1, 2]], "", False), ([[1, 2]], "", False), ([[1], [2]], "", False)))
    assert tied.pairs == [] and tied.pair_votes[0].outcome == TIE


def test_all_bad_majority_gives_no_pair_and_minority_all_bad_votes_tie():
    bad = consensus_of(
        record([1, 2], ([[1], [2]], "clear", True), ([[1, 2]], "", True), ([[1], [2]], "", False))
    )
    assert bad.all_bad and bad.pairs == []
    minority = consensus_of(
        record([1, 2], ([[1], [2]], "", True), ([[1], [2]], "", False), ([[1], [2]], "", False))
    )
    assert not minority.all_bad
    (pair,) = minority.pairs
    assert pair.chosen_id == 1 and pair.agreement == pytest.approx(0.666667)
    assert [vote for _, vote in minority.pair_votes[0].votes] == [TIE, FIRST, FIRST]


def test_k_way_ranking_expands_to_every_ordered_pair_with_top_pair_strength_only():
    # Display order 1, 2, 3, 4; ranking 3 > 1 > {2, 4} (tie at the bottom), strength strong for 3 over 1.
    consensus = consensus_of(record([1, 2, 3, 4], ([[3], [1], [2, 4]], "strong", False)))
    got = {(p.chosen_id, p.rejected_id): p.margin for p in consensus.pairs}
    assert got == {(1, 2): 1.0, (3, 1): 2.0, (1, 4): 1.0, (3, 2): 1.0, (3, 4): 1.0}
    assert len(consensus.pair_votes) == 6  # (2, 4) is the tie: a unit for agreement, no pair
    assert [p.outcome for p in consensus.pair_votes if {p.first_id, p.second_id} == {2, 4}] == [TIE]


def test_k_way_majority_is_per_pair():
    consensus = consensus_of(
        record(
            [1, 2, 3],
            ([[1], [2], [3]], "clear", False),
            ([[2], [1], [3]], "slight", False),
            ([[1], [3], [2]], "", False),
        )
    )
    got = {(p.chosen_id, p.rejected_id): (p.agreement, p.margin) for p in consensus.pairs}
    # 1 vs 2: annotators 1 and 3 prefer 1 (top pair for 1 with clear = 1.0; for 3 not a top pair = 1.0).
    # 1 vs 3: all three prefer 1; 2 vs 3: annotators 1 and 2 prefer 2.
    assert got == {
        (1, 2): (pytest.approx(0.666667), 1.0),
        (1, 3): (1.0, pytest.approx((1.0 + 1.0 + 1.0) / 3)),
        (2, 3): (pytest.approx(0.666667), 1.0),
    }
    # Annotator 3's strength (none) applies to 1 vs 3: default 1.0; annotator 1's clear to 1 vs 2.


def test_top_tie_gives_no_strength_margin():
    consensus = consensus_of(record([1, 2, 3], ([[1, 2], [3]], "", False)))
    assert {(p.chosen_id, p.rejected_id) for p in consensus.pairs} == {(1, 3), (2, 3)}
    assert all(p.margin == DEFAULT_MARGIN for p in consensus.pairs)


def test_filters_validate_and_name_the_field():
    for data, field in [
        ({"split": "test"}, "split"),
        ({"min_agreement": "x"}, "min_agreement"),
        ({"min_agreement": 1.5}, "min_agreement"),
        ({"min_annotations": 0}, "min_annotations"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2025-01-01T00:00:00"}, "since"),  # naive
        ({"since": "2025-02-01T00:00:00Z", "until": "2025-01-01T00:00:00Z"}, "until"),
        ({"colour": "blue"}, "colour"),
    ]:
        with pytest.raises(ApplicationError) as error:
            PreferenceFilters.from_dict(data)
        assert error.value.field == field, data
    parsed = PreferenceFilters.from_dict(
        {"min_annotations": "2", "since": "2025-01-01T00:00:00Z", "split": ""}
    )
    assert parsed.min_annotations == 2 and parsed.split is None
    assert parsed.as_dict() == {"min_annotations": 2, "since": "2025-01-01T00:00:00+00:00"}


@pytest.mark.django_db
def test_records_hold_live_annotations_only_in_comparison_order():
    project = ProjectFactory(overlap=3)
    first, second = make_comparisons(project, 2)
    alice, bob = member(project, Role.ANNOTATOR), member(project, Role.ANNOTATOR)
    annotate(first, alice, order=[0, 1])
    corrected = annotate(first, alice, order=[1, 0], strength="strong")  # supersedes the first
    annotate(first, bob, order=[1, 0])
    annotate(second, bob, order=[0, 1], all_bad=True)

    records = list(comparison_records(project=project))
    assert [r.id for r in records] == sorted([first.pk, second.pk])
    by_id = {r.id: r for r in records}
    assert len(by_id[first.pk].annotations) == 2  # the superseded one is gone
    assert Annotation.objects.filter(comparison=first).count() == 3
    items = [item.response_id for item in first.items.order_by("position")]
    assert [r.id for r in by_id[first.pk].responses] == items
    (pair,) = consensus_of(by_id[first.pk]).pairs
    assert (pair.chosen_id, pair.rejected_id, pair.agreement) == (items[1], items[0], 1.0)
    assert consensus_of(by_id[second.pk]).all_bad

    assert [
        r.id for r in comparison_records(project=project, filters=PreferenceFilters(min_annotations=2))
    ] == [first.pk]
    Annotation.objects.filter(pk=corrected).update(created_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    since = PreferenceFilters(since=dt.datetime(2024, 1, 1, tzinfo=dt.UTC), min_annotations=2)
    assert list(comparison_records(project=project, filters=since)) == []
    assert list(comparison_records(project=project, filters=PreferenceFilters(split="eval"))) == []


def _show(*names: str) -> list[str]:
    with connection.cursor() as cursor:
        values = []
        for name in names:
            cursor.execute(f"SHOW {name}")
            values.append(cursor.fetchone()[0])
        return values


SETTINGS = ("jit", "work_mem", "transaction_isolation", "transaction_read_only")


@pytest.mark.django_db(transaction=True)
def test_records_read_one_repeatable_read_snapshot_on_their_own():
    project = ProjectFactory(overlap=2)
    first, second = make_comparisons(project, 2)
    for comparison in (first, second):
        annotate(comparison, member(project, Role.ANNOTATOR), order=[0, 1])
    before = _show(*SETTINGS)
    assert before[2:] == ["read committed", "off"]
    records = comparison_records(project=project)
    assert next(records).id == first.pk
    # Mid-stream: the cursors share one read-only REPEATABLE READ snapshot, with the planner settings set.
    assert _show(*SETTINGS) == ["off", "32MB", "repeatable read", "on"]
    assert [record.id for record in records] == [second.pk]
    assert _show(*SETTINGS) == before and not connection.in_atomic_block


@pytest.mark.django_db
def test_records_inside_a_transaction_leave_its_settings_alone():
    project = ProjectFactory(overlap=2)
    first, second = make_comparisons(project, 2)
    for comparison in (first, second):
        annotate(comparison, member(project, Role.ANNOTATOR), order=[0, 1])
    before = _show(*SETTINGS)
    assert before[:2] != ["off", "32MB"]  # else this test could not see a leak
    assert [record.id for record in comparison_records(project=project)] == [first.pk, second.pk]
    assert _show(*SETTINGS) == before  # the SET LOCALs were undone with the block's savepoint
    records = comparison_records(project=project)
    next(records)
    records.close()  # a stream abandoned half way (a client that disconnects)
    assert _show(*SETTINGS) == before
    assert Annotation.objects.filter(project=project).count() == 2  # the caller's transaction still works
