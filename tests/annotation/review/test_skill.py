"""Dawid-Skene consensus (crowd-kit) over pair votes: skilled annotators outweigh a colluding majority; the
export, the CLI and a round's snapshot take aggregation=dawid-skene."""

import io
import json

import pytest
from django.core.management import call_command

from annotation.data.consensus import FIRST, SECOND, AnnotationRecord, ComparisonRecord, ResponseRecord
from annotation.data.skill import dawid_skene_fit
from annotation.data.snapshots import dataset_snapshot_create
from annotation.models import Role, TrainingRound
from annotation.rounds.config import ConfigError, RoundConfig
from annotation.rounds.stages.snapshot import stage_snapshot
from tests.factories import TINY_ROUND, make_comparisons, member
from tests.helpers import annotate, api_client, stage_context


def _record(index: int, votes: dict[int, str]) -> ComparisonRecord:
    first, second = 2 * index + 1, 2 * index + 2
    return ComparisonRecord(
        id=index,
        created_at="",
        is_gold=False,
        prompt_external_id=str(index),
        split="train",
        messages=[{"role": "user", "content": "q"}],
        responses=[ResponseRecord(first, "a", "m"), ResponseRecord(second, "b", "m")],
        annotations=[
            AnnotationRecord(
                100 * index + who, who, [[first], [second]] if vote == FIRST else [[second], [first]]
            )
            for who, vote in votes.items()
        ],
    )


def _noisy_majority(n: int = 30) -> tuple[list[ComparisonRecord], dict[int, str]]:
    """Annotators 1 and 2 always give the truth; 3, 4 and 5 are wrong on two items in five each, on
    different items except every fifth, where all three are wrong together: there the majority (3 of 5)
    is wrong, and only the annotators' records (skill) can tell."""
    records, truth = [], {}
    for i in range(n):
        right = FIRST if i % 2 else SECOND
        wrong = SECOND if right == FIRST else FIRST
        truth[i] = right
        noisy = {k: wrong if i % 5 in (0, k - 2) else right for k in (3, 4, 5)}
        records.append(_record(i, {1: right, 2: right, **noisy}))
    return records, truth


def test_dawid_skene_follows_the_skilled_annotators_where_the_majority_is_wrong():
    records, truth = _noisy_majority()
    majority_wrong = [i for i in truth if i % 5 == 0]
    assert len(majority_wrong) == 6
    fit = dawid_skene_fit(records)
    picked = {i: fit.outcomes[i][(2 * i + 1, 2 * i + 2)] for i in truth}
    assert picked == truth
    assert fit.skills[1] > 0.95 and fit.skills[2] > 0.95
    assert all(0.4 < fit.skills[k] < 0.8 for k in (3, 4, 5))


def test_no_votes_no_fit():
    assert dawid_skene_fit([]).outcomes == {} and dawid_skene_fit([]).skills == {}


def test_the_export_takes_aggregation_and_rejects_an_unknown_one(project):
    project.overlap = 3
    project.save()
    comparisons = make_comparisons(project, 6)
    users = [member(project, Role.ANNOTATOR) for _ in range(3)]
    for index, comparison in enumerate(comparisons):
        for k, user in enumerate(users):
            annotate(comparison, user, order=[1, 0] if (k == 2 and index % 2) else [0, 1])
    admin = member(project, Role.ADMIN)
    url = f"/api/v1/projects/{project.slug}/export/?format=trl"
    response = api_client(admin).get(url + "&aggregation=dawid-skene")
    assert response.status_code == 200
    rows = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    assert len(rows) == 6 and all(not row["adjudicated"] for row in rows)
    bad = api_client(admin).get(url + "&aggregation=mean")
    assert bad.status_code == 400 and bad.json()["field"] == "aggregation"
    out = io.StringIO()
    call_command(
        "export_preferences", project.slug, "--format", "trl", "--aggregation", "dawid-skene", stdout=out
    )
    assert len(out.getvalue().splitlines()) == 6
    snapshot = dataset_snapshot_create(project=project, aggregation="dawid-skene")
    assert snapshot.filters["aggregation"] == "dawid-skene" and snapshot.row_count == 6
    assert dataset_snapshot_create(project=project).pk != snapshot.pk  # majority is another snapshot


def test_a_rounds_snapshot_uses_the_configured_aggregation(project, settings, tmp_path):
    settings.PREFER_DATA_DIR = tmp_path
    with pytest.raises(ConfigError, match="aggregation"):
        RoundConfig.from_dict({"aggregation": "mean"})
    project.overlap = 2
    project.save()
    for comparison in make_comparisons(project, 3):
        for user in (member(project, Role.ANNOTATOR), member(project, Role.ANNOTATOR)):
            annotate(comparison, user, order=[0, 1])
    ctx = stage_context(project, {**TINY_ROUND, "aggregation": "dawid-skene", "min_pairs": 1})
    stage_snapshot(ctx)
    snapshot = TrainingRound.objects.get(pk=ctx.round_id).snapshot
    assert snapshot.filters == {"aggregation": "dawid-skene", "split": "train"} and snapshot.row_count == 3
