"""Dataset snapshots: content-addressed files, stable hashes, one record per distinct content."""

import hashlib
import json

import pytest
from django.db import connection, transaction

from annotation.data.snapshots import dataset_snapshot_create, snapshot_file, snapshot_rows, snapshot_verify
from annotation.errors import ApplicationError
from annotation.models import DatasetSnapshot, Prompt, Role
from tests.factories import ProjectFactory, make_comparisons, member
from tests.helpers import annotate, api_client


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.PREFER_DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture
def project(db):
    project = ProjectFactory(overlap=2, slug="snap")
    comparisons = make_comparisons(project, 3, texts=["一个回答", "Another answer"])
    Prompt.objects.filter(pk=comparisons[2].prompt_id).update(split="eval")
    alice, bob = member(project), member(project)
    annotate(comparisons[0], alice, order=[0, 1], strength="strong")
    annotate(comparisons[0], bob, order=[0, 1], strength="slight")
    annotate(comparisons[1], alice, order=[1, 0])
    annotate(comparisons[2], bob, order=[1, 0])
    project.test_users = (alice, bob)
    project.test_comparisons = comparisons
    return project


def test_snapshot_file_hash_rows_and_record(project, data_dir):
    snapshot = dataset_snapshot_create(project=project)
    path = snapshot_file(snapshot)
    assert path == data_dir / "snapshots" / "snap" / f"{snapshot.sha256}.jsonl"
    assert snapshot.path == f"snapshots/snap/{snapshot.sha256}.jsonl"  # relative to PREFER_DATA_DIR
    assert hashlib.sha256(path.read_bytes()).hexdigest() == snapshot.sha256
    rows = list(snapshot_rows(snapshot))
    assert snapshot.row_count == len(rows) == 2  # train split only: comparisons 0 and 1
    assert [row["comparison_id"] for row in rows] == [c.pk for c in project.test_comparisons[:2]]
    assert rows[0]["margin"] == 1.25 and rows[0]["chosen"][0]["content"]
    assert snapshot.format == "trl" and snapshot.filters == {"split": "train"}
    assert snapshot.annotations_up_to == max(
        project.test_comparisons[1].annotations.values_list("id", flat=True)
    )
    assert list(data_dir.glob("snapshots/snap/.*")) == []  # no temp file left
    assert snapshot_verify(snapshot)
    path.write_bytes(path.read_bytes() + b"\n")
    assert not snapshot_verify(snapshot)


def test_unchanged_data_gives_the_same_hash_and_record(project, data_dir):
    first = dataset_snapshot_create(project=project)
    again = dataset_snapshot_create(project=project)
    assert again.pk == first.pk and DatasetSnapshot.objects.count() == 1
    other_format = dataset_snapshot_create(project=project, format="hh-rlhf")
    assert other_format.sha256 != first.sha256 and DatasetSnapshot.objects.count() == 2

    annotate(project.test_comparisons[1], project.test_users[1], order=[1, 0], strength="clear")
    changed = dataset_snapshot_create(project=project)
    assert changed.sha256 != first.sha256 and changed.pk != first.pk
    assert changed.annotations_up_to > first.annotations_up_to
    assert snapshot_file(first).exists() and snapshot_file(changed).exists()


def test_hash_does_not_depend_on_the_export_path_or_chunking(project, data_dir):
    snapshot = dataset_snapshot_create(project=project, format="raw", split="eval")
    response = api_client(member(project, Role.ADMIN)).get(
        f"/api/v1/projects/{project.slug}/export/", {"format": "raw", "split": "eval"}
    )
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == snapshot.sha256
    (row,) = snapshot_rows(snapshot)
    assert row == json.loads(body) and row["prompt"]["split"] == "eval"


def test_filters_are_recorded_and_validated(project, data_dir):
    snapshot = dataset_snapshot_create(project=project, filters={"min_annotations": 2, "min_agreement": 0.5})
    assert snapshot.filters == {"min_agreement": 0.5, "min_annotations": 2, "split": "train"}
    assert snapshot.row_count == 1
    for kwargs, field in [
        ({"split": "all"}, "split"),
        ({"filters": {"split": "eval"}}, "split"),
        ({"format": "csv"}, "format"),
        ({"filters": {"min_agreement": 3}}, "min_agreement"),
    ]:
        with pytest.raises(ApplicationError) as error:
            dataset_snapshot_create(project=project, **kwargs)
        assert error.value.field == field


def test_empty_snapshot_is_recorded(db, data_dir):
    project = ProjectFactory()
    snapshot = dataset_snapshot_create(project=project)
    assert snapshot.row_count == 0 and snapshot.sha256 == hashlib.sha256(b"").hexdigest()
    assert list(snapshot_rows(snapshot)) == []


@pytest.mark.django_db(transaction=True)
def test_snapshot_taken_outside_a_transaction_hashes_like_one_taken_inside(data_dir):
    # On its own the export runs in a REPEATABLE READ, READ ONLY transaction of its own; inside a caller's
    # transaction it reads in that one. Same data, same bytes either way.
    project = ProjectFactory(overlap=2, slug="snap-isolated")
    comparisons = make_comparisons(project, 2)
    alice, bob = member(project), member(project)
    annotate(comparisons[0], alice, order=[0, 1], strength="strong")
    annotate(comparisons[0], bob, order=[0, 1])
    annotate(comparisons[1], alice, order=[1, 0])
    assert not connection.in_atomic_block
    first = dataset_snapshot_create(project=project)
    again = dataset_snapshot_create(project=project)
    with transaction.atomic():
        inside = dataset_snapshot_create(project=project)
    assert first.pk == again.pk == inside.pk and first.row_count == 2
    assert hashlib.sha256(snapshot_file(first).read_bytes()).hexdigest() == first.sha256
