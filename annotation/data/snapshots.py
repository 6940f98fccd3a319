"""Dataset snapshots: an export frozen to a content-addressed file, so that a training round can say exactly
what it trained on. Same data, same filters -> same bytes -> same sha256 -> the same DatasetSnapshot."""

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from annotation.data.exports import preference_export
from annotation.errors import ApplicationError
from annotation.models import DatasetSnapshot, Project, Split
from training.checkpoints import atomic_file

SNAPSHOT_DIR = "snapshots"


def snapshot_file(snapshot: DatasetSnapshot) -> Path:
    """The absolute path of a snapshot's file (the record keeps it relative to PREFER_DATA_DIR)."""
    path = Path(snapshot.path)
    return path if path.is_absolute() else Path(settings.PREFER_DATA_DIR) / path


def dataset_snapshot_create(
    *,
    project: Project,
    split: str = Split.TRAIN,
    format: str = "trl",
    filters: dict | None = None,
    aggregation: str | None = None,
) -> DatasetSnapshot:
    """Freeze the project's `format` export of `split` (plus filters) to PREFER_DATA_DIR/snapshots/<slug>/
    <sha256>.jsonl and record it; returns the existing record when the same data was frozen before. A
    non-default `aggregation` (dawid-skene) is recorded beside the filters."""
    if split not in Split.values:
        raise ApplicationError(f"must be one of {', '.join(Split.values)}", field="split")
    if filters and filters.get("split") not in (None, split):
        raise ApplicationError("conflicts with the split argument", field="split")
    stream = preference_export(
        project=project, fmt=format, filters={**(filters or {}), "split": split}, aggregation=aggregation
    )
    recorded_filters = stream.filters.as_dict()
    if stream.aggregation != "majority":
        recorded_filters["aggregation"] = stream.aggregation

    directory = Path(settings.PREFER_DATA_DIR) / SNAPSHOT_DIR / project.slug
    digest = hashlib.sha256()
    with atomic_file(directory / "snapshot.jsonl") as out:
        for chunk in stream.ndjson():
            digest.update(chunk)
            out.file.write(chunk)
        sha256 = digest.hexdigest()
        # Named by its hash: same name means same bytes, so replacing what another process wrote is harmless.
        out.path = directory / f"{sha256}.jsonl"
    final = out.path

    relative = str(final.relative_to(Path(settings.PREFER_DATA_DIR)))
    with transaction.atomic():
        # Serialise snapshot creation per project so that two identical snapshots share one record.
        Project.objects.select_for_update().filter(pk=project.pk).first()
        existing = DatasetSnapshot.objects.filter(
            project=project, format=format, sha256=sha256, filters=recorded_filters
        ).first()
        if existing is not None:
            return existing
        return DatasetSnapshot.objects.create(
            project=project,
            format=format,
            filters=recorded_filters,
            path=relative,
            sha256=sha256,
            row_count=stream.row_count,
            annotations_up_to=stream.max_annotation_id,
        )


def snapshot_rows(snapshot: DatasetSnapshot) -> Iterator[dict[str, Any]]:
    """The snapshot's rows, one dict per line, in their frozen order (streamed from the file)."""
    with snapshot_file(snapshot).open("rb") as handle:
        for line in handle:
            yield json.loads(line)


def snapshot_verify(snapshot: DatasetSnapshot) -> bool:
    """Whether the file on disk still has the recorded sha256."""
    digest = hashlib.sha256()
    try:
        with snapshot_file(snapshot).open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    except FileNotFoundError:
        return False
    return digest.hexdigest() == snapshot.sha256
