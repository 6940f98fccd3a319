"""Importing prompts (and pre-generated responses) from the JSONL format of DESIGN section 7."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.db import transaction

from annotation.data.comparisons import comparisons_create
from annotation.data.gold import gold_mark
from annotation.errors import ApplicationError
from annotation.models import Project, Prompt, Response
from training.import_format import OverlongLine, RowError, group_responses, parse_prompts_jsonl, read_lines

BATCH = 2000


@dataclass(frozen=True)
class ImportResult:
    created: int
    duplicates: int
    comparisons: int


class ImportRejected(ApplicationError):
    """The file had invalid lines: every one is listed and nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        first = errors[0]
        super().__init__(
            f"{len(errors)} invalid line(s); nothing was imported. First: {first}",
            code="invalid_import",
            extra={"errors": [error.as_dict() for error in errors]},
        )
        self.errors = errors


def import_too_large(size: int | None = None) -> ApplicationError:
    limit = settings.PREFER_MAX_IMPORT_BYTES
    told = f" ({size} bytes)" if size is not None else ""
    return ApplicationError(
        f"the file{told} is over the import limit of {limit} bytes (PREFER_MAX_IMPORT_BYTES); split it",
        field="file",
        code="import_too_large",
        status=413,
    )


def _within_limit(lines: Iterable[bytes | OverlongLine], limit: int) -> Iterator[bytes | OverlongLine]:
    total = 0
    for line in lines:
        total += line.length if isinstance(line, OverlongLine) else len(line)
        if total > limit:
            raise import_too_large()
        yield line


def upload_lines(stream: IO[bytes]) -> Iterator[bytes | OverlongLine]:
    """An uploaded or opened file's lines, each read with the line limit (PREFER_MAX_IMPORT_LINE_BYTES)."""
    return read_lines(stream, max_line_bytes=settings.PREFER_MAX_IMPORT_LINE_BYTES)


def prompts_import(*, project: Project, lines: Iterable[bytes | OverlongLine]) -> ImportResult:
    """Validate every line, then write all of it or nothing; ids already in the project are skipped."""
    rows, errors = parse_prompts_jsonl(
        _within_limit(lines, settings.PREFER_MAX_IMPORT_BYTES),
        responses_needed=project.responses_per_task,
        max_text_bytes=settings.PREFER_MAX_TEXT_BYTES,
    )
    if errors:
        raise ImportRejected(errors)
    if not rows:
        raise ApplicationError("the file has no prompts", field="file", code="empty_import")
    with transaction.atomic():
        # Serialise imports per project so that two uploads of the same ids cannot both pass the check.
        Project.objects.select_for_update().filter(pk=project.pk).get()
        ids = [row.external_id for row in rows]
        existing: set[str] = set()
        for start in range(0, len(ids), BATCH):
            existing.update(
                Prompt.objects.filter(
                    project=project, external_id__in=ids[start : start + BATCH]
                ).values_list("external_id", flat=True)
            )
        new_rows = [row for row in rows if row.external_id not in existing]
        prompts = Prompt.objects.bulk_create(
            [
                Prompt(
                    project=project,
                    external_id=row.external_id,
                    messages=row.messages,
                    split=row.split,
                    metadata=row.metadata,
                )
                for row in new_rows
            ],
            batch_size=BATCH,
        )
        response_objs: list[Response] = []
        for prompt, row in zip(prompts, new_rows, strict=True):
            response_objs.extend(
                Response(
                    prompt=prompt, text=r.text, source_model=r.model, generation_params={"imported": True}
                )
                for r in row.responses
            )
        created_responses = Response.objects.bulk_create(response_objs, batch_size=BATCH)
        groups = []
        golds = []  # (index of its comparison, the line's gold answer in response ids)
        cursor = 0
        for row in new_rows:
            mine = created_responses[cursor : cursor + len(row.responses)]
            cursor += len(row.responses)
            if row.gold is not None:  # a gold line holds exactly one task's responses
                golds.append((len(groups), row.gold, [[mine[i].pk for i in g] for g in row.gold.ranking]))
            groups.extend(
                [mine[i] for i in group]
                for group in group_responses(row.responses, project.responses_per_task)
            )
        comparisons = comparisons_create(project=project, groups=groups) if groups else []
        for index, gold, ranking in golds:
            gold_mark(comparison=comparisons[index], ranking=ranking, explanation=gold.explanation)
    return ImportResult(
        created=len(new_rows), duplicates=len(rows) - len(new_rows), comparisons=len(comparisons)
    )
