"""The import format: valid files land whole, invalid ones are reported line by line and write nothing."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from annotation.data.imports import ImportRejected, prompts_import
from annotation.errors import ApplicationError
from annotation.models import Comparison, ComparisonItem, Prompt, Response
from tests.helpers import api_client


def jsonl(*objects) -> bytes:
    return b"".join(json.dumps(o, ensure_ascii=False).encode("utf-8") + b"\n" for o in objects)


def lines(data: bytes) -> list[bytes]:
    return io.BytesIO(data).readlines()


def nothing_written(project) -> bool:
    return not Prompt.objects.filter(project=project).exists() and not Comparison.objects.exists()


def test_valid_file_with_prompts_messages_and_responses(project):
    big = "长" * 40_000  # 120 KB of UTF-8
    data = jsonl(
        {"id": "q1", "prompt": "Hello 👋 你好"},
        {
            "id": "q2",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello!"},
                {"role": "user", "content": "解释一下递归。"},
            ],
            "split": "eval",
            "metadata": {"topic": "cs"},
        },
        {
            "id": "q3",
            "prompt": big,
            "responses": [{"text": "A " + big, "model": "m1"}, {"text": "B", "model": "m2"}],
        },
    )
    result = prompts_import(project=project, lines=lines(data))
    assert (result.created, result.duplicates, result.comparisons) == (3, 0, 1)
    q2 = Prompt.objects.get(project=project, external_id="q2")
    assert (
        q2.split == "eval"
        and q2.metadata == {"topic": "cs"}
        and q2.messages[-1]["content"] == "解释一下递归。"
    )
    q1 = Prompt.objects.get(project=project, external_id="q1")
    assert q1.messages == [{"role": "user", "content": "Hello 👋 你好"}]
    comparison = Comparison.objects.get(project=project)
    assert comparison.prompt.external_id == "q3" and comparison.annotations_wanted == project.overlap
    assert sorted(
        Response.objects.filter(prompt=comparison.prompt).values_list("source_model", flat=True)
    ) == [
        "m1",
        "m2",
    ]
    assert ComparisonItem.objects.filter(comparison=comparison).count() == 2


def test_reimport_adds_nothing(project):
    data = jsonl(
        {"id": "a", "prompt": "x", "responses": [{"text": "1"}, {"text": "2"}]}, {"id": "b", "prompt": "y"}
    )
    prompts_import(project=project, lines=lines(data))
    again = prompts_import(project=project, lines=lines(data))
    assert (again.created, again.duplicates, again.comparisons) == (0, 2, 0)
    assert Prompt.objects.filter(project=project).count() == 2 and Comparison.objects.count() == 1


def test_more_responses_than_needed_cover_every_response(project):
    data = jsonl({"id": "a", "prompt": "x", "responses": [{"text": t, "model": t} for t in "pqr"]})
    result = prompts_import(project=project, lines=lines(data))
    assert result.comparisons == 2
    used = set(ComparisonItem.objects.values_list("response__text", flat=True))
    assert used == {"p", "q", "r"}


@pytest.mark.parametrize(
    ("raw", "field", "fragment"),
    [
        (b'{"id": "x", "prompt": "ok"', "(line)", "invalid JSON"),
        (b'{"id": "x", "prompt": "bad \xff byte"}', "(line)", "not valid UTF-8"),
        (b'{"id": "x", "prompt": "nul \x00 byte"}', "(line)", "NUL byte"),
        (b'{"id": "x", "prompt": "escaped nul \\u0000"}', "prompt", "NUL"),
        (
            b'{"id": "x", "messages": [{"role": "robot", "content": "hi"}]}',
            "messages[0].role",
            "unknown role",
        ),
        (
            b'{"id": "x", "messages": [{"role": "user", "content": "q"}, '
            b'{"role": "assistant", "content": "a"}]}',
            "messages",
            "end with a user turn",
        ),
        (b'{"id": "x", "messages": [{"role": "user", "content": "  "}]}', "messages[0].content", "empty"),
        (b'{"id": "x", "prompt": "q", "responses": [{"text": "only one"}]}', "responses", "compares 2"),
        (b'{"prompt": "no id"}', "id", "required"),
        (b'{"id": "x", "prompt": "q", "split": "test"}', "split", "train, eval"),
        (b'{"id": "x", "prompt": "q", "colour": "blue"}', "colour", "unknown field"),
        (b"[1, 2]", "(line)", "JSON object"),
        # Values Python's json accepts but Postgres jsonb/text would refuse (a 500 before the check).
        (b'{"id": "x", "prompt": "q", "metadata": {"a": ["\\u0000"]}}', "metadata.a[0]", "NUL"),
        (b'{"id": "x", "prompt": "q", "metadata": {"\\u0000": 1}}', "metadata", "a key contains a NUL"),
        (b'{"id": "x", "prompt": "q", "metadata": {"score": NaN}}', "(line)", "NaN is not a JSON number"),
        (b'{"id": "x", "prompt": "q", "metadata": {"s": "\\ud800"}}', "metadata.s", "unpaired surrogate"),
        (b'{"id": "\\udfff", "prompt": "q"}', "id", "unpaired surrogate"),
        (b'{"id": "x", "prompt": "\\ud83d"}', "prompt", "unpaired surrogate"),
        (
            b'{"id": "x", "prompt": "q", "metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            "(line)",
            "nested too deeply",
        ),
    ],
)
def test_invalid_line_is_named_and_nothing_written(project, raw, field, fragment):
    data = jsonl({"id": "good", "prompt": "fine", "responses": [{"text": "1"}, {"text": "2"}]}) + raw + b"\n"
    with pytest.raises(ImportRejected) as excinfo:
        prompts_import(project=project, lines=lines(data))
    [error] = excinfo.value.errors
    assert (error.line, error.field) == (2, field)
    assert fragment in error.message
    assert str(error).startswith(f"line 2: {field}: ")
    assert nothing_written(project)


def test_text_over_limit_is_refused(project, settings):
    settings.PREFER_MAX_TEXT_BYTES = 1000
    data = jsonl({"id": "x", "prompt": "é" * 600})
    with pytest.raises(ImportRejected) as excinfo:
        prompts_import(project=project, lines=lines(data))
    assert "1200 bytes, over the limit of 1000" in str(excinfo.value.errors[0])


def test_file_over_the_import_limit_is_refused(project, settings):
    settings.PREFER_MAX_IMPORT_BYTES = 100
    data = jsonl(*({"id": f"q{i}", "prompt": "a question"} for i in range(10)))
    with pytest.raises(ApplicationError) as excinfo:
        prompts_import(project=project, lines=lines(data))
    assert excinfo.value.field == "file" and "over the import limit of 100 bytes" in excinfo.value.message
    assert nothing_written(project)


def test_every_error_reported_and_duplicate_ids_in_file(project):
    data = jsonl({"id": "a", "prompt": "x"}, {"id": "a", "prompt": "y"}, {"id": "b"}) + b"nope\n"
    with pytest.raises(ImportRejected) as excinfo:
        prompts_import(project=project, lines=lines(data))
    assert [str(e) for e in excinfo.value.errors] == [
        "line 2: id: duplicate id 'a' (first seen on line 1)",
        "line 3: messages: one of prompt or messages is required",
        "line 4: (line): invalid JSON: Expecting value at column 1",
    ]
    assert nothing_written(project)


def test_empty_file_is_refused(project):
    with pytest.raises(ApplicationError, match="no prompts"):
        prompts_import(project=project, lines=[b"\n", b"  \n"])


def test_cli_import_reports_lines_and_exits_nonzero(project, tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(jsonl({"id": "a", "prompt": "x"}) + b'{"id": "b", "messages": []}\n')
    with pytest.raises(CommandError, match="1 invalid line"):
        call_command("import_prompts", project.slug, str(path))
    assert "line 2: messages: must be a non-empty list" in capsys.readouterr().err
    assert nothing_written(project)
    good = tmp_path / "good.jsonl"
    good.write_bytes(jsonl({"id": "a", "prompt": "x"}, {"id": "b", "prompt": "中文"}))
    call_command("import_prompts", project.slug, str(good))
    assert "created 2, duplicates 0" in capsys.readouterr().out
    call_command("import_prompts", project.slug, str(good))
    assert "created 0, duplicates 2" in capsys.readouterr().out


def test_api_import(project, project_admin, annotator):
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = f"/api/v1/projects/{project.slug}/prompts/import/"
    good = SimpleUploadedFile(
        "p.jsonl", jsonl({"id": "a", "prompt": "x", "responses": [{"text": "1"}, {"text": "2"}]})
    )
    response = api_client(project_admin).post(url, {"file": good}, format="multipart")
    assert response.status_code == 201, response.content
    assert response.json() == {"created": 1, "duplicates": 0, "comparisons": 1}

    bad = SimpleUploadedFile(
        "p.jsonl", b'{"id": "z", "prompt": "ok"}\n{"id": "y", "messages": [{"role": "x"}]}\n'
    )
    response = api_client(project_admin).post(url, {"file": bad}, format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "line": 2,
            "field": "messages[0].role",
            "message": "unknown role 'x'; expected one of system, user, assistant",
        }
    ]
    assert not Prompt.objects.filter(external_id="z").exists()

    again = SimpleUploadedFile("p.jsonl", b'{"id": "q", "prompt": "ok"}\n')
    assert api_client(annotator).post(url, {"file": again}, format="multipart").status_code == 403
    assert api_client(project_admin).post(url, {}, format="multipart").json()["field"] == "file"


def test_an_upload_declared_over_the_limit_is_refused_before_it_is_read(project, project_admin, settings):
    settings.PREFER_MAX_IMPORT_BYTES = 1000
    big = io.BytesIO(b'{"id": "q1", "prompt": "x"}\n' * 5000)  # 140 kB, over limit + envelope allowance
    big.name = "big.jsonl"
    response = api_client(project_admin).post(
        f"/api/v1/projects/{project.slug}/prompts/import/", {"file": big}, format="multipart"
    )
    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "import_too_large" and body["field"] == "file" and "1000 bytes" in body["detail"]
    assert nothing_written(project)


def test_an_uploaded_file_over_the_limit_is_refused_by_its_size(project, project_admin, settings):
    settings.PREFER_MAX_IMPORT_BYTES = 1000
    data = io.BytesIO(jsonl(*({"id": f"q{i}", "prompt": "a question"} for i in range(40))))  # ~1.3 kB
    data.name = "p.jsonl"
    response = api_client(project_admin).post(
        f"/api/v1/projects/{project.slug}/prompts/import/", {"file": data}, format="multipart"
    )
    assert response.status_code == 413 and "over the import limit" in response.json()["detail"]
    assert nothing_written(project)


def test_a_line_over_the_line_limit_is_a_line_error_read_in_linear_time(project, project_admin, settings):
    settings.PREFER_MAX_IMPORT_LINE_BYTES = 4096
    # 2 MB without a newline after a good line: one line error, nothing written, and never held whole.
    data = io.BytesIO(jsonl({"id": "ok", "prompt": "fine"}) + b"[" * 2_000_000 + b"\n" + jsonl({"id": "z"}))
    data.name = "p.jsonl"
    response = api_client(project_admin).post(
        f"/api/v1/projects/{project.slug}/prompts/import/", {"file": data}, format="multipart"
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors[0] == {
        "line": 2,
        "field": "(line)",
        "message": "is 2000001 bytes long, over the limit of 4096 bytes a line",
    }
    assert [e["line"] for e in errors] == [2, 3]  # line 3 (no prompt) is still checked
    assert nothing_written(project)


def test_deeply_nested_json_is_a_line_error(project):
    with pytest.raises(ImportRejected) as excinfo:
        prompts_import(project=project, lines=[b"[" * 100_000 + b"]" * 100_000 + b"\n"])
    assert str(excinfo.value.errors[0]) == "line 1: (line): invalid JSON: nested too deeply"
