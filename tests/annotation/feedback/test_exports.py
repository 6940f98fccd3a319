"""Exports of the feedback kinds (DESIGN section 7): edit and rating pairs in the pair formats, `sft` rows
(TRL's conversational SFT format), `safe-rlhf` (PKU-SafeRLHF's columns), `trl-harmless`, and `raw` keeping
everything; through the API, as a client reads them."""

import json
import uuid

import pytest

from annotation.data.imports import prompts_import
from annotation.models import Response, Role
from annotation.queue.submission import annotation_submit
from tests.factories import make_comparisons, member
from tests.helpers import api_client, hold_lease

PKU_COLUMNS = {
    "prompt", "response_0", "response_1", "is_response_0_safe", "is_response_1_safe",
    "response_0_harm_category", "response_1_harm_category", "response_0_severity_level",
    "response_1_severity_level", "better_response_id", "safer_response_id",
}  # fmt: skip


def export(user, project, **query) -> list[dict]:
    response = api_client(user).get(f"/api/v1/projects/{project.slug}/export/", query)
    assert response.status_code == 200, response.content
    return [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]


def submit(comparison, user, **body):
    hold_lease(comparison, user)
    return annotation_submit(comparison_id=comparison.pk, user=user, client_token=uuid.uuid4().hex, **body)


@pytest.fixture
def judged(hh_project, hh_annotator):
    """One comparison of A and B: A better and safer, B flagged violent (severe), B rewritten, and an answer
    written from scratch."""
    (comparison,) = make_comparisons(hh_project, 1)
    a, b = (item.response for item in comparison.items.select_related("response"))
    pa, pb = str(a.public_id), str(b.public_id)
    submit(
        comparison, hh_annotator, ranking=[[pa], [pb]], harmless_ranking=[[pa], [pb]],
        safety={pa: {"safe": True}, pb: {"safe": False, "categories": ["violence"], "severity": "severe"}},
        edits=[{"response": pb, "text": "B, rewritten."},
               {"response": None, "text": "Written from scratch."}],
    )  # fmt: skip
    return hh_project, comparison, a, b


def test_trl_has_ranking_and_edit_pairs(judged):
    project, comparison, a, b = judged
    rows = export(member(project, Role.ADMIN), project, format="trl")
    got = [(r["kind"], r["chosen"][0]["content"], r["rejected"][0]["content"], r["margin"]) for r in rows]
    assert got == [
        ("ranking", a.text, b.text, 1.0),
        ("edit", "B, rewritten.", b.text, 2.0),
        ("edit", "Written from scratch.", a.text, 2.0),
        ("edit", "Written from scratch.", b.text, 2.0),
    ]
    assert {r["comparison_id"] for r in rows} == {comparison.pk}
    assert [r["agreement"] for r in rows] == [1.0, None, None, None]
    standard = export(member(project, Role.ADMIN), project, format="trl-standard")
    assert [r["kind"] for r in standard] == ["ranking", "edit", "edit", "edit"]
    assert standard[1]["chosen"] == " B, rewritten." and standard[1]["prompt"].endswith("\n\nAssistant:")
    hh = export(member(project, Role.ADMIN), project, format="hh-rlhf")
    assert len(hh) == 4 and hh[1]["chosen"].endswith("Assistant: B, rewritten.")


def test_sft_rows_are_trl_conversational(judged, tmp_path):
    project, comparison, _a, b = judged
    rows = export(member(project, Role.ADMIN), project, format="sft")
    rewrite = Response.objects.get(edited_from=b)
    scratch = Response.objects.get(edited_from=None, source_model="edit")
    assert rows == [
        {
            "messages": [*comparison.prompt.messages, {"role": "assistant", "content": "B, rewritten."}],
            "source": "edit",
            "comparison_id": comparison.pk,
            "response_id": rewrite.pk,
        },
        {
            "messages": [
                *comparison.prompt.messages,
                {"role": "assistant", "content": "Written from scratch."},
            ],
            "source": "edit",
            "comparison_id": comparison.pk,
            "response_id": scratch.pk,
        },
    ]
    trl_data = pytest.importorskip("trl.data_utils")
    datasets = pytest.importorskip("datasets")
    path = tmp_path / "sft.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    dataset = datasets.load_dataset(
        "json", data_files=str(path), split="train", cache_dir=str(tmp_path / "c")
    )
    assert dataset.num_rows == 2 and all(trl_data.is_conversational(example) for example in dataset)


def test_safe_rlhf_has_pku_saferlhf_columns(judged, tmp_path):
    project, comparison, a, _b = judged
    (row,) = export(member(project, Role.ADMIN), project, format="safe-rlhf")
    assert set(row) >= PKU_COLUMNS and row["comparison_id"] == comparison.pk
    first_is_a = row["response_0"] == a.text
    safe_a, safe_b = ("is_response_0_safe", "is_response_1_safe")[:: 1 if first_is_a else -1]
    harm_b = "response_1_harm_category" if first_is_a else "response_0_harm_category"
    severity_b = "response_1_severity_level" if first_is_a else "response_0_severity_level"
    assert row[safe_a] is True and row[safe_b] is False
    assert row[harm_b]["Violence"] is True and not any(v for k, v in row[harm_b].items() if k != "Violence")
    assert len(row[harm_b]) == 19 and row[severity_b] == 3
    assert row["better_response_id"] == row["safer_response_id"] == (0 if first_is_a else 1)
    assert row["prompt"] == comparison.prompt.messages[0]["content"]
    datasets = pytest.importorskip("datasets")
    path = tmp_path / "safe.jsonl"
    path.write_text(json.dumps(row) + "\n")
    loaded = datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "c"))
    assert set(loaded.column_names) >= PKU_COLUMNS


def test_trl_harmless_and_raw(judged):
    project, _comparison, a, b = judged
    admin = member(project, Role.ADMIN)
    (harmless,) = export(admin, project, format="trl-harmless")
    assert (harmless["kind"], harmless["chosen"][0]["content"], harmless["rejected"][0]["content"]) == (
        "harmless", a.text, b.text,
    )  # fmt: skip
    (raw,) = export(admin, project, format="raw")
    assert raw["harmless_ranking"] == [[a.pk], [b.pk]]
    assert raw["safety"][str(b.pk)] == {"safe": False, "categories": ["violence"], "severity": "severe"}
    assert [(e["response"], e["text"]) for e in raw["edits"]] == [
        (b.pk, "B, rewritten."), (None, "Written from scratch."),
    ]  # fmt: skip


def test_a_scoring_project_gives_rating_pairs(scoring_project, scorer):
    scorer2 = member(scoring_project)
    scoring_project.overlap = 2
    scoring_project.save()
    line = {
        "id": "q",
        "prompt": "Tell me a joke.",
        "responses": [{"text": t} for t in ("good", "fine", "bad")],
    }
    prompts_import(project=scoring_project, lines=[json.dumps(line).encode()])
    scores = {"good": [(5, 5), (5, 5)], "fine": [(5, 4), (4, 5)], "bad": [(2, 2), (1, 3)]}
    for comparison in scoring_project.comparisons.all():
        response = comparison.items.get().response
        for user, (helpful, honest) in zip((scorer, scorer2), scores[response.text], strict=True):
            rated = {str(response.public_id): {"helpfulness": helpful, "honesty": honest}}
            submit(comparison, user, ratings=rated)
    rows = export(member(scoring_project, Role.ADMIN), scoring_project, format="trl")
    got = sorted(
        (r["chosen"][0]["content"], r["rejected"][0]["content"], r["margin"], r["kind"]) for r in rows
    )
    assert got == [("fine", "bad", 2.5, "rating"), ("good", "bad", 3.0, "rating")]  # good-fine: 0.5 apart
    assert all(r["n_annotations"] == 4 and r["prompt"] == [{"role": "user", "content": "Tell me a joke."}]
               for r in rows)  # fmt: skip
    standard = export(member(scoring_project, Role.ADMIN), scoring_project, format="trl-standard")
    assert sorted(r["margin"] for r in standard) == [2.5, 3.0]


def test_export_formats_are_validated(project, project_admin):
    response = api_client(project_admin).get(
        f"/api/v1/projects/{project.slug}/export/", {"format": "sft", "min_agreement": 0.5}
    )
    assert response.status_code == 400 and response.json()["field"] == "min_agreement"
    response = api_client(project_admin).get(f"/api/v1/projects/{project.slug}/export/", {"format": "pku"})
    assert response.status_code == 400 and response.json()["field"] == "format"


@pytest.mark.parametrize("fmt", ["trl", "sft", "safe-rlhf", "trl-harmless", "raw"])
def test_the_cli_writes_every_new_format_as_parquet(judged, tmp_path, fmt):
    from django.core.management import call_command

    pq = pytest.importorskip("pyarrow.parquet")
    project, *_ = judged
    path = tmp_path / f"{fmt}.parquet"
    call_command("export_preferences", project.slug, "--format", fmt, "--parquet", "--output", str(path))
    table = pq.read_table(path)
    assert table.num_rows == {"trl": 4, "sft": 2, "safe-rlhf": 1, "trl-harmless": 1, "raw": 1}[fmt]
    if fmt == "raw":
        assert table.column("edits").to_pylist()[0][0]["text"] == "B, rewritten."


def test_sft_with_include_chosen_adds_the_unanimous_winners(hh_project, hh_annotator):
    """`&include=chosen`: the winner every annotator chose becomes an SFT row; a split comparison gives none;
    include on another format is a 400 naming it."""
    hh_project.overlap = 2
    hh_project.save()
    unanimous, split = make_comparisons(hh_project, 2)
    second = member(hh_project)
    for comparison, orders in ((unanimous, ([0, 1], [0, 1])), (split, ([0, 1], [1, 0]))):
        public = [str(item.response.public_id) for item in comparison.items.select_related("response")]
        for user, order in zip((hh_annotator, second), orders, strict=True):
            submit(comparison, user, ranking=[[public[i]] for i in order])
    admin = member(hh_project, Role.ADMIN)
    assert export(admin, hh_project, format="sft") == []
    rows = export(admin, hh_project, format="sft", include="chosen")
    winner = unanimous.items.order_by("position").first().response
    assert rows == [
        {
            "messages": [*unanimous.prompt.messages, {"role": "assistant", "content": winner.text}],
            "source": "chosen",
            "comparison_id": unanimous.pk,
            "response_id": winner.pk,
        }
    ]
    refused = api_client(admin).get(f"/api/v1/projects/{hh_project.slug}/export/?format=trl&include=chosen")
    assert refused.status_code == 400 and refused.json()["field"] == "include"
