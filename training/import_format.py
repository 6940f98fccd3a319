"""The prompt import format (DESIGN section 7): one JSON object a line, and its one parser.

Pure functions over bytes: no Django, no torch, no database. Both sides use it: the web app's import
(`manage.py import_prompts`, `POST .../prompts/import/`, through annotation/data/imports.py) and the training
library's prompt files (`python -m training generate --input`, `ppo --prompts`, through `training.rows`), so a
line the import rejects is rejected by the training CLI with the same `line N: field: message`. It lives in
`training/` because the training library may not import the web app; the web app may import it (it does
not import torch).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from training.import_gold import ImportedGold, parse_gold

ROLES = ("system", "user", "assistant")
TOP_LEVEL_KEYS = {"id", "prompt", "messages", "responses", "split", "metadata", "gold"}
SPLITS = ("train", "eval")
MAX_ID_LENGTH = 255
MAX_MODEL_NAME_LENGTH = 255
MAX_METADATA_BYTES = 64 * 1024
# The largest message content or response text, in bytes (the web app passes PREFER_MAX_TEXT_BYTES, whose
# default this is).
DEFAULT_MAX_TEXT_BYTES = 256 * 1024
# The longest line read whole (the web app passes PREFER_MAX_IMPORT_LINE_BYTES): a prompt and its responses,
# each under the text limit, fit many times over; a file with no newlines is not buffered into memory.
DEFAULT_MAX_LINE_BYTES = 8 * 1024 * 1024
_SKIP_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class OverlongLine:
    """Stands for a line longer than the reader's limit: its bytes were skipped, not kept."""

    length: int
    limit: int

    def error(self, number: int, source: str = "") -> RowError:
        message = f"is {self.length} bytes long, over the limit of {self.limit} bytes a line"
        return RowError(number, "(line)", message, source=source)


def read_lines(
    stream: IO[bytes], *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
) -> Iterator[bytes | OverlongLine]:
    """The lines of a binary stream, each read with a bounded `readline` (linear time and memory whatever
    the file: one without newlines is one OverlongLine, not a quadratic buffer).

    Args:
        stream: a binary file object (an upload, an open file).
        max_line_bytes (`int`): the longest line, newline excluded, yielded as bytes.
    """
    while line := stream.readline(max_line_bytes + 1):
        if len(line) > max_line_bytes and not line.endswith(b"\n"):
            length = len(line)
            while rest := stream.readline(_SKIP_CHUNK):
                length += len(rest)
                if rest.endswith(b"\n"):
                    break
            yield OverlongLine(length=length, limit=max_line_bytes)
        else:
            yield line


class _NonFiniteNumber(ValueError):
    """JSON's NaN/Infinity extensions: Python accepts them, Postgres jsonb does not."""


def _refuse_constant(name: str) -> None:
    raise _NonFiniteNumber(name)


def _text_problem(value: str) -> str | None:
    """Why a string can't be stored as Postgres text/jsonb, or None when it can."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired surrogate (not valid Unicode)"
    return None


def _metadata_problem(value: Any, path: str = "metadata") -> tuple[str, str] | None:
    """The first (field, message) in a metadata tree that jsonb would refuse, or None."""
    if isinstance(value, str):
        problem = _text_problem(value)
        return (path, problem) if problem else None
    if isinstance(value, dict):
        for key, item in value.items():
            problem = _text_problem(key)
            if problem:
                return (path, f"a key {problem}")
            found = _metadata_problem(item, f"{path}.{key}")
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _metadata_problem(item, f"{path}[{index}]")
            if found:
                return found
    return None


class RowError(ValueError):
    """One invalid row of an input file: `line N: field: message` (`field` is `(line)` for the whole line,
    `(file)` for the file). `source` (a path) prefixes the text when set; `line` is None for a row that did
    not come from a file."""

    def __init__(self, line: int | None, field: str, message: str, *, source: str = "") -> None:
        self.line = line
        self.field = field
        self.message = message
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{self.source + ': ' if self.source else ''}{where}{self.field}: {self.message}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RowError):
            return NotImplemented
        return (self.line, self.field, self.message, self.source) == (
            other.line,
            other.field,
            other.message,
            other.source,
        )

    def __hash__(self) -> int:
        return hash((self.line, self.field, self.message, self.source))

    def as_dict(self) -> dict[str, Any]:
        """`{line, field, message}`, as the import API reports it."""
        return {"line": self.line, "field": self.field, "message": self.message}


@dataclass(frozen=True)
class ImportedResponse:
    text: str
    model: str


@dataclass(frozen=True)
class ImportRow:
    line: int | None
    external_id: str
    messages: list[dict[str, str]]
    split: str = "train"
    metadata: dict[str, Any] = field(default_factory=dict)
    responses: list[ImportedResponse] = field(default_factory=list)
    gold: ImportedGold | None = None


class _LineErrors:
    def __init__(self, line: int | None) -> None:
        self.line = line
        self.items: list[RowError] = []

    def add(self, field_name: str, message: str) -> None:
        self.items.append(RowError(self.line, field_name, message))


def _check_text(value: Any, field_name: str, errors: _LineErrors, max_text_bytes: int) -> str | None:
    if not isinstance(value, str):
        errors.add(field_name, f"must be a string, got {type(value).__name__}")
        return None
    if not value.strip():
        errors.add(field_name, "must not be empty")
        return None
    size = len(value.encode("utf-8", errors="surrogatepass"))
    if size > max_text_bytes:
        errors.add(field_name, f"is {size} bytes, over the limit of {max_text_bytes} bytes")
        return None
    problem = _text_problem(value)
    if problem:
        errors.add(field_name, problem)
        return None
    return value


def _parse_messages(value: Any, errors: _LineErrors, max_text_bytes: int) -> list[dict[str, str]] | None:
    if not isinstance(value, list) or not value:
        errors.add("messages", "must be a non-empty list of {role, content} objects")
        return None
    messages: list[dict[str, str]] = []
    for index, message in enumerate(value):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            errors.add(where, "must be an object with role and content")
            continue
        role = message.get("role")
        if role not in ROLES:
            errors.add(f"{where}.role", f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
            continue
        if role == "system" and index != 0:
            errors.add(f"{where}.role", "a system message may only come first")
            continue
        content = _check_text(message.get("content"), f"{where}.content", errors, max_text_bytes)
        if content is not None:
            messages.append({"role": role, "content": content})
    if len(messages) != len(value):
        return None
    if messages[-1]["role"] != "user":
        errors.add("messages", f"conversation must end with a user turn, not {messages[-1]['role']!r}")
        return None
    return messages


def _parse_responses(
    value: Any, errors: _LineErrors, max_text_bytes: int, responses_needed: int
) -> list[ImportedResponse] | None:
    if not isinstance(value, list):
        errors.add("responses", "must be a list of {text, model} objects")
        return None
    if len(value) < responses_needed:
        errors.add(
            "responses", f"has {len(value)} responses; this project compares {responses_needed} per task"
        )
        return None
    responses: list[ImportedResponse] = []
    for index, item in enumerate(value):
        where = f"responses[{index}]"
        if not isinstance(item, dict):
            errors.add(where, "must be an object with text and model")
            continue
        text = _check_text(item.get("text"), f"{where}.text", errors, max_text_bytes)
        model = item.get("model", "imported")
        if not isinstance(model, str) or not model.strip() or len(model) > MAX_MODEL_NAME_LENGTH:
            errors.add(
                f"{where}.model", f"must be a non-empty string of at most {MAX_MODEL_NAME_LENGTH} chars"
            )
            continue
        problem = _text_problem(model)
        if problem:
            errors.add(f"{where}.model", problem)
            continue
        if text is not None:
            responses.append(ImportedResponse(text=text, model=model.strip()))
    return responses if len(responses) == len(value) else None


def _parse_object(
    obj: Any, errors: _LineErrors, *, max_text_bytes: int, responses_needed: int
) -> ImportRow | None:
    """The row of one decoded line, or None with the reasons added to `errors`."""
    if not isinstance(obj, dict):
        errors.add("(line)", f"must be a JSON object, got {type(obj).__name__}")
        return None
    unknown = sorted(set(obj) - TOP_LEVEL_KEYS)
    if unknown:
        errors.add(
            unknown[0],
            f"unknown field; allowed: {', '.join(sorted(TOP_LEVEL_KEYS))} (put extras in metadata)",
        )
    raw_id = obj.get("id")
    external_id: str | None = None
    if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
        errors.add("id", "is required and must be a string")
    else:
        external_id = str(raw_id).strip()
        if not external_id:
            errors.add("id", "must not be empty")
        elif len(external_id) > MAX_ID_LENGTH:
            errors.add("id", f"must be at most {MAX_ID_LENGTH} characters")
        elif id_problem := _text_problem(external_id):
            errors.add("id", id_problem)
    messages: list[dict[str, str]] | None = None
    if "prompt" in obj and "messages" in obj:
        errors.add("prompt", "give either prompt or messages, not both")
    elif "prompt" in obj:
        text = _check_text(obj["prompt"], "prompt", errors, max_text_bytes)
        messages = [{"role": "user", "content": text}] if text is not None else None
    elif "messages" in obj:
        messages = _parse_messages(obj["messages"], errors, max_text_bytes)
    else:
        errors.add("messages", "one of prompt or messages is required")
    split = obj.get("split", "train")
    if split not in SPLITS:
        errors.add("split", f"must be one of {', '.join(SPLITS)}, got {split!r}")
    metadata = obj.get("metadata", {})
    if not isinstance(metadata, dict):
        errors.add("metadata", "must be an object")
    elif metadata_problem := _metadata_problem(metadata):
        errors.add(*metadata_problem)
    elif len(json.dumps(metadata, ensure_ascii=False).encode()) > MAX_METADATA_BYTES:
        errors.add("metadata", f"is over the limit of {MAX_METADATA_BYTES} bytes")
    responses: list[ImportedResponse] | None = []
    if "responses" in obj:
        responses = _parse_responses(obj["responses"], errors, max_text_bytes, responses_needed)
    gold = None
    if "gold" in obj:
        n_responses = len(obj["responses"]) if "responses" in obj and responses is not None else None
        gold, gold_problems = parse_gold(obj["gold"], n_responses, responses_needed)
        for problem in gold_problems:
            errors.add(*problem)
    if errors.items or messages is None or responses is None or external_id is None:
        return None
    return ImportRow(
        line=errors.line,
        external_id=external_id,
        messages=messages,
        split=split,
        metadata=metadata,
        responses=responses,
        gold=gold,
    )


BLANK = object()  # what decode_line returns for a blank line (skipped, as JSON's null is not)


def decode_line(number: int, raw: bytes) -> Any:
    """One line of a JSONL file decoded: UTF-8, strict JSON (no NaN/Infinity), no NUL byte; a byte order mark
    on line 1 is dropped. Returns the JSON value, or `BLANK` for a blank line.

    Raises:
        `RowError`: naming the line, with field `(line)`.
    """
    if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]  # a UTF-8 byte order mark from some editors
    if b"\x00" in raw:
        raise RowError(number, "(line)", "contains a NUL byte")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RowError(number, "(line)", f"is not valid UTF-8 (byte {exc.start})") from exc
    if not text.strip():
        return BLANK
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise RowError(number, "(line)", f"invalid JSON: {exc.msg} at column {exc.colno}") from exc
    except _NonFiniteNumber as exc:
        raise RowError(number, "(line)", f"invalid JSON: {exc} is not a JSON number") from exc
    except RecursionError as exc:
        raise RowError(number, "(line)", "invalid JSON: nested too deeply") from exc


def parse_prompt_object(
    obj: Any,
    line: int | None,
    *,
    responses_needed: int = 0,
    max_text_bytes: int = DEFAULT_MAX_TEXT_BYTES,
) -> tuple[ImportRow | None, list[RowError]]:
    """One decoded line checked by every rule of the format: `(row, [])`, or `(None, errors)`.

    Args:
        obj: the line's JSON value.
        line (`int`, *optional*): its 1-based line number (for the errors).
        responses_needed (`int`): a line's `responses` must have at least this many (the project's
            responses per task; 0 where there is no project, as in the training CLI).
        max_text_bytes (`int`): the largest message content or response text, in UTF-8 bytes.
    """
    errors = _LineErrors(line)
    row = _parse_object(obj, errors, max_text_bytes=max_text_bytes, responses_needed=responses_needed)
    return (row if not errors.items else None), errors.items


def parse_prompts_jsonl(
    lines: Iterable[bytes | OverlongLine],
    *,
    responses_needed: int,
    max_text_bytes: int,
    max_errors: int = 1000,
) -> tuple[list[ImportRow], list[RowError]]:
    """Parse every line; return the valid rows and every error (the caller writes nothing if any)."""
    rows: list[ImportRow] = []
    errors: list[RowError] = []
    first_line_of_id: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        if len(errors) >= max_errors:
            errors.append(RowError(number, "(file)", f"stopped after {max_errors} errors"))
            break
        if isinstance(raw, OverlongLine):
            errors.append(raw.error(number))
            continue
        try:
            obj = decode_line(number, raw)
        except RowError as error:
            errors.append(error)
            continue
        if obj is BLANK:
            continue
        row, line_errors = parse_prompt_object(
            obj, number, max_text_bytes=max_text_bytes, responses_needed=responses_needed
        )
        if row is not None:
            if row.external_id in first_line_of_id:
                first = first_line_of_id[row.external_id]
                line_errors.append(
                    RowError(number, "id", f"duplicate id {row.external_id!r} (first seen on line {first})")
                )
            else:
                first_line_of_id[row.external_id] = number
                rows.append(row)
        errors.extend(line_errors)
    return rows, errors


def group_responses(responses: list[ImportedResponse], size: int) -> list[list[int]]:
    """Indices of the comparisons a line's responses become: groups of the project's size covering every
    response at least once (wrapping around to fill the last group)."""
    n = len(responses)
    if n < size:
        return []
    count = -(-n // size)
    return [[(start * size + offset) % n for offset in range(size)] for start in range(count)]
