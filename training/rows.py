"""Reading and writing the JSONL rows the training side consumes and produces.

Prompts come in the import format (`{"id", "prompt"}` or `{"id", "messages"}`); preference pairs in the
`trl` export format (`prompt` / `chosen` / `rejected` as message lists, optional `margin`, `agreement`), and
`trl-standard` rows (the same as strings) are accepted too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

Message = dict[str, str]
Conversation = list[Message]


class RowError(ValueError):
    """A row that cannot be used, with its 1-based line number when read from a file."""


def read_jsonl(path: Path | str) -> list[dict[str, Any]]:
    """Reads a JSONL file (blank lines skipped).

    Raises:
        `RowError`: on invalid JSON or a line that is not an object, naming the line.
    """
    rows = []
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise RowError(f"{path}: line {number}: invalid JSON: {error.msg}") from error
            if not isinstance(row, dict):
                raise RowError(f"{path}: line {number}: expected a JSON object")
            row["_line"] = number
            rows.append(row)
    return rows


def write_jsonl(path: Path | str, rows: Iterable[dict[str, Any]]) -> int:
    """Writes rows as JSONL (UTF-8, non-ASCII kept), atomically (temp file then rename); returns the count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    count = 0
    with tmp.open("w", encoding="utf-8") as handle:
        for row in rows:
            clean = {k: v for k, v in row.items() if not k.startswith("_")}
            handle.write(json.dumps(clean, ensure_ascii=False) + "\n")
            count += 1
    tmp.replace(path)
    return count


def _where(row: dict[str, Any]) -> str:
    return f"line {row['_line']}: " if "_line" in row else ""


def _check_messages(messages: Any, row: dict[str, Any], field: str) -> Conversation:
    if not isinstance(messages, list) or not messages:
        raise RowError(f"{_where(row)}{field}: expected a non-empty list of messages")
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            raise RowError(f"{_where(row)}{field}: every message needs a string 'content'")
        if message.get("role") not in ("system", "user", "assistant"):
            raise RowError(f"{_where(row)}{field}: unknown role {message.get('role')!r}")
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def demonstration_messages(row: dict[str, Any]) -> Conversation:
    """The conversation of a PPO-ptx demonstration row: `messages` ending with an assistant turn."""
    messages = _check_messages(row.get("messages"), row, "messages")
    if messages[-1]["role"] != "assistant":
        raise RowError(f"{_where(row)}messages: a demonstration must end with an assistant message")
    return messages


def prompt_messages(row: dict[str, Any]) -> Conversation:
    """The conversation of an import-format prompt row (`prompt` string or `messages` list)."""
    if "messages" in row:
        messages = _check_messages(row["messages"], row, "messages")
    elif isinstance(row.get("prompt"), str):
        messages = [{"role": "user", "content": row["prompt"]}]
    elif isinstance(row.get("prompt"), list):
        messages = _check_messages(row["prompt"], row, "prompt")
    else:
        raise RowError(f"{_where(row)}prompt: a row needs 'prompt' (string) or 'messages' (list)")
    if messages[-1]["role"] != "user":
        raise RowError(f"{_where(row)}messages: the conversation must end with a user message")
    return messages


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
        raise RowError(f"{_where(row)}chosen/rejected: a preference row needs both")
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
        raise RowError(f"{_where(row)}margin: expected a number")
    if agreement is not None and not isinstance(agreement, int | float):
        raise RowError(f"{_where(row)}agreement: expected a number")
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
