"""Preference exports: consensus records in, rows of one format out, as a lazy stream whose memory does
not grow with the project (the API streams it, the CLI writes it, snapshots freeze it)."""

from collections.abc import Iterator, Mapping
from typing import Any

from annotation.data.consensus import PreferenceFilters, comparison_records, consensus_of
from annotation.data.pseudonyms import annotator_pseudonymiser
from annotation.data.skill import dawid_skene_fit
from annotation.errors import ApplicationError
from annotation.feedback.rows import RatingPairs
from annotation.formats.exports import FORMATS, PAIR_FORMATS, format_rows, ndjson_line, pair_row, raw_lines
from annotation.models import Project

NDJSON_CHUNK_BYTES = 256 * 1024
MAJORITY, DAWID_SKENE = "majority", "dawid-skene"
AGGREGATIONS = (MAJORITY, DAWID_SKENE)
INCLUDES = ("chosen",)  # sft: also the unanimous winners
EXPORT_OPTIONS = ("format", "aggregation", "include")  # what an export query holds besides its filters


class ExportStream:
    """Rows of `fmt` for the project, iterated once. After iteration, `row_count` and
    `max_annotation_id` (the newest annotation that went into them) describe what was produced."""

    def __init__(
        self,
        *,
        project: Project,
        fmt: str,
        filters: PreferenceFilters,
        aggregation: str = MAJORITY,
        include_chosen: bool = False,
    ) -> None:
        self.project = project
        self.fmt = fmt
        self.filters = filters
        self.aggregation = aggregation
        self.include_chosen = include_chosen
        self.row_count = 0
        self.max_annotation_id = 0

    def _per_comparison(self, encode: bool) -> Iterator[list[Any]]:
        raw = self.fmt == "raw"
        pseudonym = annotator_pseudonymiser(project_id=self.project.pk)
        skill = None
        if self.aggregation == DAWID_SKENE and not raw:  # a first pass fits the annotators' skill
            skill = dawid_skene_fit(comparison_records(project=self.project, filters=self.filters))
        # A scoring project's pairs come from rating differences across its tasks (annotation/feedback).
        ratings = RatingPairs() if self.project.is_scoring and self.fmt in PAIR_FORMATS else None
        categories = [category["slug"] for category in self.project.safety_categories]
        records = comparison_records(
            project=self.project, filters=self.filters, full=raw or bool(ratings), keep_excluded=raw
        )
        for record in records:
            if ratings is not None:
                ratings.add(record)
            if raw and encode:
                rows: list[Any] = list(raw_lines(record, pseudonym))
            else:
                outcomes = skill.outcomes.get(record.id, {}) if skill is not None else None
                consensus = None if raw else consensus_of(record, outcomes)
                rows = list(
                    format_rows(
                        self.fmt,
                        record,
                        consensus,
                        min_agreement=self.filters.min_agreement,
                        pseudonym=pseudonym,
                        categories=categories,
                        include_chosen=self.include_chosen,
                    )
                )
                if encode:
                    rows = [ndjson_line(row) for row in rows]
            if rows:
                self.row_count += len(rows)
                newest = max(annotation.id for annotation in record.annotations)
                self.max_annotation_id = max(self.max_annotation_id, newest)
                yield rows
            elif ratings is not None and record.annotations:
                newest = max(annotation.id for annotation in record.annotations)
                self.max_annotation_id = max(self.max_annotation_id, newest)
        if ratings is not None:
            rows = [pair_row(self.fmt, messages, pair) for messages, pair in ratings.pairs()]
            if encode:
                rows = [ndjson_line(row) for row in rows]
            self.row_count += len(rows)
            if rows:
                yield rows

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for rows in self._per_comparison(encode=False):
            yield from rows

    def ndjson(
        self, chunk_bytes: int = NDJSON_CHUNK_BYTES, first_chunk_bytes: int | None = None
    ) -> Iterator[bytes]:
        """The rows as NDJSON, in chunks of about chunk_bytes (few, large writes stream fastest); the first
        chunk goes out at first_chunk_bytes (a browser's download starts at once)."""
        buffer: list[bytes] = []
        size = 0
        limit = first_chunk_bytes if first_chunk_bytes is not None else chunk_bytes
        for lines in self._per_comparison(encode=True):
            buffer.extend(lines)
            size += sum(map(len, lines))
            if size >= limit:
                yield b"".join(buffer)
                buffer, size, limit = [], 0, chunk_bytes
        if buffer:
            yield b"".join(buffer)


def preference_export(
    *,
    project: Project,
    fmt: str,
    filters: Mapping[str, Any] | None = None,
    aggregation: str | None = None,
    include: str | None = None,
) -> ExportStream:
    """Validate the format and filters now (so bad input fails before any byte is sent) and return the
    lazy stream of rows. Raises ApplicationError naming the bad field. `aggregation`: majority (default)
    or dawid-skene (skill-weighted, data/skill.py); a reviewer's override beats both. `include="chosen"`
    (sft only): the unanimous winners as SFT rows beside the edits."""
    if fmt not in FORMATS:
        raise ApplicationError(f"must be one of {', '.join(FORMATS)}", field="format")
    aggregation = aggregation or MAJORITY
    if aggregation not in AGGREGATIONS:
        raise ApplicationError(f"must be one of {', '.join(AGGREGATIONS)}", field="aggregation")
    if include is not None and include not in INCLUDES:
        raise ApplicationError(f"must be one of {', '.join(INCLUDES)}", field="include")
    if include is not None and fmt != "sft":
        raise ApplicationError("applies to the sft format only", field="include")
    parsed = PreferenceFilters.from_dict(filters)
    if fmt in ("raw", "sft") and parsed.min_agreement is not None:
        raise ApplicationError(
            f"applies to preference pairs; the {fmt} format has no agreement", field="min_agreement"
        )
    return ExportStream(
        project=project, fmt=fmt, filters=parsed, aggregation=aggregation, include_chosen=include == "chosen"
    )


def export_from_query(*, project: Project, query: Mapping[str, Any]) -> ExportStream:
    """An export from a checked query (ExportQuerySerializer's data): the API's and the export page's door."""
    filters = {key: value for key, value in query.items() if key not in EXPORT_OPTIONS}
    return preference_export(
        project=project,
        fmt=query["format"],
        filters=filters,
        aggregation=query.get("aggregation"),
        include=query.get("include"),
    )
