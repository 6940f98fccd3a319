"""Exports (DESIGN section 7) through the API and the CLI: the rows TRL and HH-RLHF readers expect, raw
rows one per live annotation, filters, roles, pseudonyms."""

import hashlib
import io
import json
import re

import pytest
from django.core.checks import Tags, run_checks
from django.core.management import CommandError, call_command

from annotation.data.pseudonyms import annotator_pseudonym, annotator_pseudonymiser
from annotation.formats.exports import transcript
from annotation.models import Annotation, PolicyVersion, Prompt, Response, Role
from tests.factories import ProjectFactory, make_comparisons, member
from tests.helpers import annotate, api_client

CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Name a colour."},
    {"role": "assistant", "content": "Blue."},
    {"role": "user", "content": "Another one, 请用中文?"},
]


def export(user, project, **query) -> tuple[int, list[dict], dict]:
    response = api_client(user).get(f"/api/v1/projects/{project.slug}/export/", query)
    if not response.streaming:
        return response.status_code, [], response.json()
    body = b"".join(response.streaming_content)
    assert response["Content-Type"] == "application/x-ndjson"
    return response.status_code, [json.loads(line) for line in body.splitlines()], {}


@pytest.fixture
def labelled(db):
    """A pairwise project with three annotators over four comparisons:
    c0: 2 prefer B (strong, clear), 1 prefers A -> B over A, agreement 2/3, margin 1.5
    c1: 1 prefers A (slight) -> A over B, margin 0.5
    c2: tie -> no pair; c3: all bad -> no pair; plus a superseded annotation on c1."""
    project = ProjectFactory(overlap=3, slug="labelled")
    comparisons = make_comparisons(project, 4, texts=["Red.", "Green."])
    Prompt.objects.filter(pk=comparisons[0].prompt_id).update(messages=CONVERSATION)
    users = [member(project, Role.ANNOTATOR) for _ in range(3)]
    c0, c1, c2, c3 = comparisons
    annotate(c0, users[0], order=[1, 0], strength="strong")
    annotate(c0, users[1], order=[1, 0], strength="clear")
    annotate(c0, users[2], order=[0, 1], strength="slight")
    annotate(c1, users[0], order=[1, 0])
    annotate(c1, users[0], order=[0, 1], strength="slight", ratings={0: {"helpfulness": 6}}, rationale="tidy")
    annotate(c2, users[1], order=[[0, 1]])
    annotate(c3, users[2], order=[0, 1], all_bad=True)
    return project, comparisons, users


def texts_by_position(comparison) -> list[str]:
    return [item.response.text for item in comparison.items.select_related("response").order_by("position")]


def test_trl_export_rows(labelled):
    project, (c0, c1, *_), _ = labelled
    admin = member(project, Role.ADMIN)
    status, rows, _ = export(admin, project, format="trl")
    assert status == 200
    assert [(row["comparison_id"], row["n_annotations"]) for row in rows] == [(c0.pk, 3), (c1.pk, 1)]
    first, second = rows
    t0, t1 = texts_by_position(c0), texts_by_position(c1)
    assert first["prompt"] == CONVERSATION
    assert first["chosen"] == [{"role": "assistant", "content": t0[1]}]
    assert first["rejected"] == [{"role": "assistant", "content": t0[0]}]
    assert first["agreement"] == pytest.approx(2 / 3, abs=1e-6) and first["margin"] == 1.5
    assert (second["chosen"][0]["content"], second["rejected"][0]["content"]) == (t1[0], t1[1])
    assert second["agreement"] == 1.0 and second["margin"] == 0.5
    assert set(first) == {
        "prompt",
        "chosen",
        "rejected",
        "margin",
        "comparison_id",
        "n_annotations",
        "agreement",
        "adjudicated",
        "kind",
    }
    assert first["kind"] == "ranking"


CHAT_TEMPLATE = (
    "{% for m in messages %}<{{ m['role'] }}> {{ m['content'] }} [EOS] {% endfor %}"
    "{% if add_generation_prompt %}<assistant> {% endif %}"
)


def _tiny_chat_tokenizer(texts):
    """A word-level tokenizer whose vocabulary is the words of `texts`, built here (no download)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    splitter = pre_tokenizers.Whitespace()
    words = {
        word
        for text in [*texts, "<system> <user> <assistant>"]
        for word, _ in splitter.pre_tokenize_str(text)
    }
    vocab = {token: index for index, token in enumerate(["[UNK]", "[PAD]", "[EOS]", *sorted(words)])}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = splitter
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]", eos_token="[EOS]"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def test_trl_export_loads_with_datasets_and_passes_trl_checks(labelled, tmp_path):
    datasets = pytest.importorskip("datasets")
    trl_data = pytest.importorskip("trl.data_utils")
    project, *_ = labelled
    _, rows, _ = export(member(project, Role.ADMIN), project, format="trl")
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    dataset = datasets.load_dataset(
        "json", data_files=str(path), split="train", cache_dir=str(tmp_path / "c")
    )
    assert dataset.num_rows == 2
    assert {"prompt", "chosen", "rejected", "margin"} <= set(dataset.column_names)

    tokenizer = _tiny_chat_tokenizer(
        [m["content"] for row in rows for m in row["prompt"] + row["chosen"] + row["rejected"]]
    )
    for example in dataset:
        assert trl_data.is_conversational(example)
        rendered = trl_data.apply_chat_template(example, tokenizer)
        assert rendered["prompt"].endswith("<assistant> ")
        assert rendered["chosen"] != rendered["rejected"]
        prompt_ids = tokenizer(rendered["prompt"])["input_ids"]
        chosen_ids = tokenizer(rendered["prompt"] + rendered["chosen"])["input_ids"]
        assert chosen_ids[: len(prompt_ids)] == prompt_ids and len(chosen_ids) > len(prompt_ids)
        assert tokenizer.unk_token_id not in chosen_ids  # every word of the export reached the vocabulary


def test_trl_standard_and_hh_rlhf_are_transcripts_sharing_the_conversation(labelled):
    project, (c0, *_), _ = labelled
    admin = member(project, Role.ADMIN)
    _, standard, _ = export(admin, project, format="trl-standard")
    _, hh, _ = export(admin, project, format="hh-rlhf")
    conversation = transcript(CONVERSATION)
    assert conversation == (
        "\n\nSystem: Be brief.\n\nHuman: Name a colour.\n\nAssistant: Blue.\n\nHuman: Another one, 请用中文?"
        "\n\nAssistant:"
    )
    t0 = texts_by_position(c0)
    assert standard[0]["prompt"] == conversation and standard[0]["chosen"] == " " + t0[1]
    assert hh[0] == {"chosen": f"{conversation} {t0[1]}", "rejected": f"{conversation} {t0[0]}"}
    for row in hh:
        shared = next(
            (i for i, (a, b) in enumerate(zip(row["chosen"], row["rejected"], strict=False)) if a != b),
            None,
        )
        assert shared is not None and row["chosen"][:shared].endswith("\n\nAssistant: ")
        assert row["chosen"][:shared].count("\n\nHuman: ") >= 1
    assert [row["prompt"] + row["chosen"] for row in standard] == [row["chosen"] for row in hh]


def test_raw_has_one_row_per_live_annotation_with_pseudonyms(labelled):
    project, (c0, c1, c2, c3), users = labelled
    _, rows, _ = export(member(project, Role.ADMIN), project, format="raw")
    live = Annotation.objects.filter(project=project, is_live=True)
    assert len(rows) == live.count() == 6 and Annotation.objects.filter(project=project).count() == 7
    assert sorted(row["annotation_id"] for row in rows) == sorted(live.values_list("id", flat=True))
    assert [row["comparison_id"] for row in rows] == [c0.pk] * 3 + [c1.pk, c2.pk, c3.pk]
    corrected = next(row for row in rows if row["comparison_id"] == c1.pk)
    ids = [item.response_id for item in c1.items.order_by("position")]
    assert corrected["ranking"] == [[ids[0]], [ids[1]]] and corrected["strength"] == "slight"
    assert corrected["ratings"] == {str(ids[0]): {"helpfulness": 6}} and corrected["rationale"] == "tidy"
    first = c1.items.order_by("position").select_related("response").first().response
    # display order is random per comparison: the source is whichever model wrote the first shown response
    assert corrected["responses"][0] == {
        "id": ids[0],
        "text": texts_by_position(c1)[0],
        "source": first.source_model,
    }
    assert next(row for row in rows if row["comparison_id"] == c3.pk)["all_bad"] is True
    tie = next(row for row in rows if row["comparison_id"] == c2.pk)["ranking"]
    assert len(tie) == 1 and sorted(tie[0]) == sorted(item.response_id for item in c2.items.all())
    by_user = {annotator_pseudonym(user.pk, project_id=project.pk): user for user in users}
    assert {row["annotator"] for row in rows} == set(by_user)
    body = json.dumps(rows)
    for user in users:
        assert user.username not in body
        assert f'"annotator": {user.pk}' not in body
    assert "annotator_id" not in body


def test_pseudonym_is_stable_keyed_per_project_and_reveals_no_id(settings):
    def pseudonym(user_id: int, project_id: int = 7) -> str:
        return annotator_pseudonym(user_id, project_id=project_id)

    first = pseudonym(42)
    assert first == pseudonym(42) and first != pseudonym(43)
    assert re.fullmatch(r"ann_[0-9a-f]{20}", first)
    # Two projects' datasets cannot be joined on the annotator.
    assert pseudonym(42, project_id=8) != first
    # Not an unkeyed hash of the id, which anyone could recompute for every small integer.
    for guess in ("42", "user:42", "project:7:user:42"):
        assert hashlib.sha256(guess.encode()).hexdigest()[:20] != first[4:]
    settings.PREFER_PSEUDONYM_KEY = "another-key"
    assert pseudonym(42) != first
    settings.PREFER_PSEUDONYM_KEY = ""
    assert pseudonym(42) == first  # falls back to the SECRET_KEY-derived key
    settings.SECRET_KEY = "a-different-secret-key-of-reasonable-length-0123456789"
    assert pseudonym(42) != first


def test_deploy_check_warns_when_pseudonyms_would_follow_secret_key(settings):
    settings.PREFER_PSEUDONYM_KEY = ""
    found = run_checks(include_deployment_checks=True, tags=[Tags.security])
    assert [message.id for message in found if message.id.startswith("prefer.")] == ["prefer.W001"]
    assert not [m for m in run_checks(tags=[Tags.security]) if m.id.startswith("prefer.")]  # deploy only
    settings.PREFER_PSEUDONYM_KEY = "a-long-random-pseudonym-key"
    found = run_checks(include_deployment_checks=True, tags=[Tags.security])
    assert not [message for message in found if message.id.startswith("prefer.")]


def test_k_way_export_has_one_row_per_ordered_pair(db):
    project = ProjectFactory(responses_per_task=3, overlap=1)
    (comparison,) = make_comparisons(project, 1, texts=["a", "b", "c"])
    annotate(comparison, member(project), order=[2, 0, 1], strength="strong")
    _, rows, _ = export(member(project, Role.ADMIN), project, format="trl")
    texts = texts_by_position(comparison)
    pairs = {(row["chosen"][0]["content"], row["rejected"][0]["content"]): row["margin"] for row in rows}
    assert pairs == {(texts[2], texts[0]): 2.0, (texts[2], texts[1]): 1.0, (texts[0], texts[1]): 1.0}


def test_k_way_hh_rlhf_export_has_one_transcript_pair_per_ordered_pair(db):
    project = ProjectFactory(responses_per_task=3, overlap=1)
    (comparison,) = make_comparisons(project, 1, texts=["a", "b", "c"])
    annotate(comparison, member(project), order=[2, 0, 1], strength="strong")
    _, rows, _ = export(member(project, Role.ADMIN), project, format="hh-rlhf")
    conversation = transcript(Prompt.objects.get(pk=comparison.prompt_id).messages)
    t = texts_by_position(comparison)
    # Ranked 2 > 0 > 1 (display positions): one row per pair, pairs in display order (0-1, 0-2, 1-2).
    assert rows == [
        {"chosen": f"{conversation} {t[0]}", "rejected": f"{conversation} {t[1]}"},
        {"chosen": f"{conversation} {t[2]}", "rejected": f"{conversation} {t[0]}"},
        {"chosen": f"{conversation} {t[2]}", "rejected": f"{conversation} {t[1]}"},
    ]


def test_filters(labelled):
    project, (c0, c1, *_), _ = labelled
    admin = member(project, Role.ADMIN)
    assert [r["comparison_id"] for r in export(admin, project, format="trl", min_agreement=0.9)[1]] == [c1.pk]
    assert [r["comparison_id"] for r in export(admin, project, format="trl", min_annotations=2)[1]] == [c0.pk]
    assert export(admin, project, format="trl", split="eval")[1] == []
    assert len(export(admin, project, format="raw", until="2000-01-01T00:00:00Z")[1]) == 0
    assert len(export(admin, project, format="raw", since="2000-01-01T00:00:00Z")[1]) == 6
    assert export(admin, project, format="trl", policy_version=1)[1] == []  # imported responses only


def test_policy_version_filter_keeps_comparisons_with_a_response_of_that_version(labelled):
    project, (_, c1, *_), _ = labelled
    admin = member(project, Role.ADMIN)
    v1 = PolicyVersion.objects.create(project=project, version=1, model_ref="tiny-causal-lm")
    v2 = PolicyVersion.objects.create(project=project, version=2, model_ref="tiny-causal-lm", parent=v1)
    generated, other = (item.response for item in c1.items.order_by("position"))
    Response.objects.filter(pk=generated.pk).update(policy_version=v2, source_model="")
    (row,) = export(admin, project, format="trl", policy_version=2)[1]
    assert row["comparison_id"] == c1.pk and row["chosen"][0]["content"] == generated.text
    assert export(admin, project, format="trl", policy_version=1)[1] == []
    raw = export(admin, project, format="raw", policy_version="2")[1]
    assert {r["comparison_id"] for r in raw} == {c1.pk}  # its one live annotation
    assert [r["source"] for r in raw[0]["responses"]] == ["policy-v2", other.source_model]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"format": "csv"}, "format"),
        ({}, "format"),
        ({"format": "trl", "min_agreement": "high"}, "min_agreement"),
        ({"format": "trl", "min_agreement": "2"}, "min_agreement"),
        ({"format": "trl", "min_agreement": "-0.1"}, "min_agreement"),
        ({"format": "trl", "min_annotations": "0"}, "min_annotations"),
        ({"format": "trl", "since": "yesterday"}, "since"),
        ({"format": "trl", "split": "test"}, "split"),
        ({"format": "raw", "min_agreement": "0.5"}, "min_agreement"),
        ({"format": "trl", "since": "2025-02-01T00:00:00Z", "until": "2025-01-01T00:00:00Z"}, "until"),
    ],
)
def test_bad_query_is_400_naming_the_field(labelled, query, field):
    project, *_ = labelled
    status, _, body = export(member(project, Role.ADMIN), project, **query)
    assert status == 400 and body["field"] == field


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("since", "2025-01-01T00:00:00", "must include a UTC offset (e.g. 2025-01-31T00:00:00Z)"),
        ("until", "2025-01-01 12:00", "must include a UTC offset (e.g. 2025-01-31T00:00:00Z)"),
        ("min_agreement", "1.5", "must be between 0 and 1"),
        ("min_annotations", "0", "must be at least 1"),
    ],
)
def test_api_and_cli_reject_the_same_input_with_the_same_message(labelled, option, value, message):
    # Naive date-times are rejected by both (not read as server time by one and refused by the other).
    project, *_ = labelled
    status, _, body = export(member(project, Role.ADMIN), project, format="raw", **{option: value})
    assert status == 400 and body["field"] == option and body["detail"].endswith(message)
    flag = "--" + option.replace("_", "-")
    with pytest.raises(CommandError) as error:
        call_command("export_preferences", project.slug, "--format", "raw", flag, value)
    assert str(error.value) == f"{flag}: {message}"


def test_export_roles(labelled, site_admin, outsider):
    project, _, (annotator, *_) = labelled
    assert export(annotator, project, format="trl")[0] == 403
    assert export(member(project, Role.REVIEWER), project, format="trl")[0] == 403
    assert export(outsider, project, format="trl")[0] == 404
    assert export(site_admin, project, format="trl")[0] == 200
    anonymous = api_client().get(f"/api/v1/projects/{project.slug}/export/", {"format": "trl"})
    assert anonymous.status_code == 401


def test_cli_stdout_file_parquet_and_dataset(labelled, tmp_path):
    project, *_ = labelled
    admin = member(project, Role.ADMIN)
    _, api_rows, _ = export(admin, project, format="trl")
    out = io.StringIO()
    call_command("export_preferences", project.slug, "--format", "trl", stdout=out)
    assert [json.loads(line) for line in out.getvalue().splitlines()] == api_rows

    target = tmp_path / "out" / "raw.jsonl"
    call_command("export_preferences", project.slug, "--format", "raw", "--output", str(target))
    assert len(target.read_text(encoding="utf-8").splitlines()) == 6
    assert [p.name for p in target.parent.iterdir()] == ["raw.jsonl"]  # no temp file left behind

    pq = pytest.importorskip("pyarrow.parquet")
    parquet = tmp_path / "pairs.parquet"
    call_command("export_preferences", project.slug, "--format", "trl", "--parquet", "--output", str(parquet))
    assert pq.read_table(parquet).to_pylist() == api_rows
    raw_parquet = tmp_path / "raw.parquet"
    call_command(
        "export_preferences", project.slug, "--format", "raw", "--parquet", "--output", str(raw_parquet)
    )
    assert pq.read_table(raw_parquet).num_rows == 6

    datasets = pytest.importorskip("datasets")
    directory = tmp_path / "hf"
    call_command(
        "export_preferences", project.slug, "--format", "trl", "--hf-dataset", "--output", str(directory)
    )
    loaded = datasets.load_from_disk(str(directory))
    assert loaded.num_rows == 2 and loaded[0]["prompt"] == CONVERSATION


def test_cli_errors(labelled):
    project, *_ = labelled
    with pytest.raises(CommandError, match="no project"):
        call_command("export_preferences", "nope")
    with pytest.raises(CommandError, match="--min-annotations: must be at least 1"):
        call_command("export_preferences", project.slug, "--min-annotations", "0")
    with pytest.raises(CommandError, match="need --output"):
        call_command("export_preferences", project.slug, "--parquet")


def test_fast_raw_lines_equal_the_encoded_raw_rows(labelled):
    from annotation.data.consensus import comparison_records
    from annotation.formats.exports import ndjson_line, raw_lines, raw_rows

    project, *_ = labelled
    records = list(comparison_records(project=project, full=True))
    assert sum(len(record.annotations) for record in records) == 6
    for record in records:
        pseudonym = annotator_pseudonymiser(project_id=project.pk)
        assert list(raw_lines(record, pseudonym)) == [ndjson_line(row) for row in raw_rows(record, pseudonym)]
