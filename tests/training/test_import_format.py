"""One parser for the prompt import format: the training side (read_jsonl + prompt_messages, what
`python -m training generate --input` and `ppo --prompts` use) rejects exactly what the web app's import
rejects, with the same `line N: field: message`."""

import json

import pytest

from training.import_format import DEFAULT_MAX_TEXT_BYTES, RowError, parse_prompts_jsonl
from training.rows import demonstration_messages, preference_pair, prompt_messages, read_jsonl

GOOD = b'{"id": "good", "prompt": "fine", "responses": [{"text": "1"}, {"text": "2"}]}\n'
# Lines the import rejects (tests/annotation/data/test_imports.py has the full list, against the database).
BAD = [
    b"not json",
    b'{"id": "x", "prompt": "q", "metadata": {"score": NaN}}',
    b"[1, 2]",
    b"null",
    b'{"id": "x", "prompt": "a\\u0000b"}',
    b'{"id": "x", "messages": [{"role": "robot", "content": "hi"}]}',
    b'{"id": "x", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}',
    b'{"id": "x", "messages": [{"role": "user", "content": "  "}]}',
    b'{"id": "x", "messages": [{"role": "user", "content": "q"}, {"role": "system", "content": "s"}]}',
    b'{"prompt": "no id"}',
    b'{"id": "x", "prompt": "q", "split": "test"}',
    b'{"id": "x", "prompt": "q", "colour": "blue"}',
    b'{"id": "x", "prompt": [{"role": "user", "content": "q"}]}',
    b'{"id": "x", "prompt": "q", "metadata": {"s": "\\ud800"}}',
    b'{"id": "x", "prompt": "' + b"a" * (DEFAULT_MAX_TEXT_BYTES + 1) + b'"}',
    b'{"id": "x", "prompt": "q", "responses": [{"text": ""}]}',
    b"\xff\xfe",
]


def _training_side(path) -> list:
    return [prompt_messages(row) for row in read_jsonl(path)]


@pytest.mark.parametrize("bad", BAD, ids=range(len(BAD)))
def test_the_training_side_rejects_what_the_import_rejects_with_the_same_message(tmp_path, bad):
    data = GOOD + bad + b"\n"
    _, errors = parse_prompts_jsonl(
        data.splitlines(keepends=True), responses_needed=0, max_text_bytes=DEFAULT_MAX_TEXT_BYTES
    )
    assert errors and errors[0].line == 2
    path = tmp_path / "prompts.jsonl"
    path.write_bytes(data)
    with pytest.raises(RowError) as excinfo:
        _training_side(path)
    error = excinfo.value
    assert (error.line, error.field, error.message) == (errors[0].line, errors[0].field, errors[0].message)
    assert str(error) in {f"{path}: {errors[0]}", str(errors[0])}


def test_what_the_import_accepts_the_training_side_reads_as_the_same_conversations(tmp_path):
    rows = [
        {"id": "q1", "prompt": "你好"},
        {
            "id": "q2",
            "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        },
        {"id": 3, "prompt": "q", "split": "eval", "metadata": {"k": [1]}, "responses": [{"text": "a"}]},
    ]
    data = b"\xef\xbb\xbf" + b"\n".join(json.dumps(r, ensure_ascii=False).encode() for r in rows) + b"\n\n"
    parsed, errors = parse_prompts_jsonl(
        data.splitlines(keepends=True), responses_needed=0, max_text_bytes=DEFAULT_MAX_TEXT_BYTES
    )
    assert errors == []
    path = tmp_path / "prompts.jsonl"
    path.write_bytes(data)
    assert _training_side(path) == [row.messages for row in parsed]


def test_one_row_error_class_for_prompts_pairs_and_demonstrations():
    with pytest.raises(RowError) as prompt:
        prompt_messages({"_line": 4, "id": "x"})
    with pytest.raises(RowError) as pair:
        preference_pair({"_line": 5, "chosen": "a"})
    with pytest.raises(RowError) as demo:
        demonstration_messages({"_line": 6, "messages": [{"role": "user", "content": "q"}]})
    assert str(prompt.value) == "line 4: messages: one of prompt or messages is required"
    assert str(pair.value) == "line 5: chosen/rejected: a preference row needs both"
    assert str(demo.value) == "line 6: messages: a demonstration must end with an assistant message"
    assert prompt.value.as_dict() == {
        "line": 4,
        "field": "messages",
        "message": "one of prompt or messages is required",
    }
    assert RowError(1, "id", "x") == RowError(1, "id", "x") != RowError(2, "id", "x")
    assert str(RowError(None, "prompt", "must not be empty")) == "prompt: must not be empty"


def test_read_lines_bounds_every_line():
    import io

    from training.import_format import OverlongLine, read_lines

    data = b"abc\n" + b"x" * 10 + b"\n" + b"y" * 11 + b"\n" + b"tail"
    assert list(read_lines(io.BytesIO(data), max_line_bytes=10)) == [
        b"abc\n",
        b"x" * 10 + b"\n",  # exactly the limit, newline excluded
        OverlongLine(length=12, limit=10),
        b"tail",  # the last line needs no newline
    ]
    assert list(read_lines(io.BytesIO(b""), max_line_bytes=10)) == []
