"""Reading and writing the JSONL rows the training side consumes and produces.

Prompts come in the import format (`{"id", "prompt"}` or `{"id", "messages"}`), checked by the import's own
parser (`training.import_format`): a row the web app's import rejects is rejected here, with the same
`line N: field: message`. Preference pairs come in the `trl` export format (`prompt` / `chosen` /
`rejected` as message lists, optional `margin`, `agreement`), and `trl-standard` rows (the same as strings)
are accepted too. Every problem is a `RowError` (the import's one class).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from training.checkpoints import atomic_file
from training.import_format import BLANK, OverlongLine, RowError, decode_line, parse_prompt_object, read_lines

Message = dict[str, str]
Conversation = list[Message]

__all__ = [
    "Conversation",
    "Message",
    "RowError",
    "demonstration_messages",
    "preference_pair",
    "preference_pairs",
    "prompt_messages",
    "read_jsonl",
    "read_prompts",
    "write_jsonl",
]


def read_jsonl(path: Path | str) -> list[dict[str, Any]]:
    """Reads a JSONL file, decoding each line as the import does (UTF-8, strict JSON, no NUL byte; blank
    lines skipped). Each row gets its line number as `_line`.

    Raises:
        `RowError`: on the first line that is not a JSON object, naming the file and the line.
    """
    rows = []
    with Path(path).open("rb") as handle:
        for number, raw in enumerate(read_lines(handle), start=1):
            if isinstance(raw, OverlongLine):
                raise raw.error(number, source=str(path))
            try:
                row = decode_line(number, raw)
            except RowError as error:
                raise RowError(error.line, error.field, error.message, source=str(path)) from None
            if row is BLANK:
                continue
            if not isinstance(row, dict):
                message = f"must be a JSON object, got {type(row).__name__}"
                raise RowError(number, "(line)", message, source=str(path))
            row["_line"] = number
            rows.append(row)
    return rows


def write_jsonl(path: Path | str, rows: Iterable[dict[str, Any]]) -> int:
    """Writes rows as JSONL (UTF-8, non-ASCII kept; keys starting with `_` left out), atomically
    (`training.checkpoints.atomic_file`); returns the count."""
    count = 0
    with atomic_file(path, "w") as out:
        for row in rows:
            clean = {k: v for k, v in row.items() if not k.startswith("_")}
            out.file.write(json.dumps(clean, ensure_ascii=False) + "\n")
            count += 1
    return count


def _error(row: dict[str, Any], field: str, message: str) -> RowError:
    return RowError(row.get("_line"), field, message)


def _check_messages(messages: Any, row: dict[str, Any], field: str) -> Conversation:
    if not isinstance(messages, list) or not messages:
        raise _error(row, field, "expected a non-empty list of messages")
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            raise _error(row, field, "every message needs a string 'content'")
        if message.get("role") not in ("system", "user", "assistant"):
            raise _error(row, field, f"unknown role {message.get('role')!r}")
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def demonstration_messages(row: dict[str, Any]) -> Conversation:
    """The conversation of a PPO-ptx demonstration row: `messages` ending with an assistant turn."""
    messages = _check_messages(row.get("messages"), row, "messages")
    if messages[-1]["role"] != "assistant":
        raise _error(row, "messages", "a demonstration must end with an assistant message")
    return messages


def prompt_messages(row: dict[str, Any]) -> Conversation:
    """The conversation of an import-format prompt row (`prompt` string or `messages` list), checked by every
    rule of the import (`training.import_format.parse_prompt_object`; no project, so no minimum number of
    `responses`).

    Raises:
        `RowError`: the row's first problem, as the import reports it (`line N: field: message`).
    """
    obj = {key: value for key, value in row.items() if key != "_line"}
    parsed, errors = parse_prompt_object(obj, row.get("_line"))
    if parsed is None:
        raise errors[0]
    return parsed.messages


def read_prompts(path: Path | str) -> tuple[list[dict[str, Any]], list[Conversation]]:
    """A prompts file in the import format: its rows and their conversations, every line checked by the
    import's rules, duplicate ids included.

    Raises:
        `RowError`: the first problem, as the import reports it (`line N: field: message`).
    """
    rows = read_jsonl(path)
    conversations = [prompt_messages(row) for row in rows]
    first_line: dict[str, int] = {}
    for row in rows:
        key = str(row["id"]).strip()
        if key in first_line:
            message = f"duplicate id {key!r} (first seen on line {first_line[key]})"
            raise RowError(row["_line"], "id", message, source=str(path))
        first_line[key] = row["_line"]
    return rows, conversations


def _side(value: Any, row: dict[str, Any], field: str) -> Conversation:
    if isinstance(value, str):
        return [{"role": "assistant", "content": value}]
    return _check_messages(value, row, field)


def preference_pair(row: dict[str, Any]) -> dict[str, Any]:
    """Normalises a `trl` / `trl-standard` preference row.

    Returns:
        `{"prompt": [messages], "chosen": [messages], "rejected": [messages], "margin": float,
        "agreement": float | None}`.
    """
    if "chosen" not in row or "rejected" not in row:
        raise _error(row, "chosen/rejected", "a preference row needs both")
    prompt = row.get("prompt", [])
    if isinstance(prompt, str):
        prompt = [{"role": "user", "content": prompt}]
    elif prompt:
        prompt = _check_messages(prompt, row, "prompt")
    margin = row.get("margin", 0.0)
    agreement = row.get("agreement")
    if margin is None:
        margin = 0.0
    if not isinstance(margin, int | float) or isinstance(margin, bool):
        raise _error(row, "margin", "expected a number")
    if agreement is not None and not isinstance(agreement, int | float):
        raise _error(row, "agreement", "expected a number")
    return {
        "prompt": prompt,
        "chosen": _side(row["chosen"], row, "chosen"),
        "rejected": _side(row["rejected"], row, "rejected"),
        "margin": float(margin),
        "agreement": None if agreement is None else float(agreement),
    }


def preference_pairs(rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """`preference_pair` over many rows."""
    for row in rows:
        yield preference_pair(row)
