"""Submissions with the feedback kinds of issue 11: edits (Responses of their own), harm flags, the "which
is safer" verdict and score-only tasks; each bad value a 400 naming the field with nothing written."""

import json
import uuid

import pytest

from annotation.models import Annotation, Response
from tests.factories import make_comparisons
from tests.helpers import api_client, hold_lease


def _task(project, user):
    (comparison,) = make_comparisons(project, 1)
    hold_lease(comparison, user)
    return comparison, [str(item.response.public_id) for item in comparison.items.select_related("response")]


def _post(user, comparison, body):
    body = {"client_token": uuid.uuid4().hex, **body}
    return api_client(user).post(f"/api/v1/tasks/{comparison.pk}/annotations/?next=1", body, format="json")


def test_an_edit_becomes_a_response_of_its_own(hh_project, hh_annotator):
    comparison, (a, b) = _task(hh_project, hh_annotator)
    original = Response.objects.get(public_id=b)
    body = {
        "ranking": [[a], [b]],
        "edits": [
            {"response": b, "text": "  A better answer.  "},
            {"response": None, "text": "From scratch."},
        ],
    }
    response = _post(hh_annotator, comparison, body)
    assert response.status_code == 201, response.json()
    annotation = Annotation.objects.get(pk=response.json()["id"])
    rewrite, scratch = Response.objects.filter(annotation=annotation).order_by("pk")
    assert (rewrite.text, rewrite.edited_from, rewrite.author) == ("A better answer.", original, hh_annotator)
    assert (scratch.edited_from, scratch.author, scratch.source_model) == (None, hh_annotator, "edit")
    assert annotation.edits == [
        {"response": original.pk, "edit": rewrite.pk, "text": "A better answer."},
        {"response": None, "edit": scratch.pk, "text": "From scratch."},
    ]
    # A rewrite is never put in front of annotators: the comparison keeps its two responses.
    assert comparison.items.count() == 2


def test_harm_flags_and_the_safer_verdict_are_kept(hh_project, hh_annotator):
    comparison, (a, b) = _task(hh_project, hh_annotator)
    body = {
        "ranking": [[b], [a]],
        "harmless_ranking": [[a], [b]],
        "safety": {
            a: {"safe": True},
            b: {"safe": False, "categories": ["violence", "cybercrime"], "severity": "severe"},
        },
    }
    response = _post(hh_annotator, comparison, body)
    assert response.status_code == 201, response.json()
    annotation = Annotation.objects.get(pk=response.json()["id"])
    ida, idb = (Response.objects.get(public_id=x).pk for x in (a, b))
    assert annotation.harmless_ranking == [[ida], [idb]]
    assert annotation.safety == {
        str(ida): {"safe": True, "categories": [], "severity": ""},
        str(idb): {"safe": False, "categories": ["cybercrime", "violence"], "severity": "severe"},
    }


def test_the_task_says_what_it_collects(hh_project, hh_annotator):
    make_comparisons(hh_project, 1)
    task = api_client(hh_annotator).post(f"/api/v1/projects/{hh_project.slug}/tasks/next/").json()
    assert task["kind"] == "pairwise" and task["allow_edits"] is True and task["dual_preference"] is True
    assert {"slug": "violence", "description": "Encourages or helps plan violence against people."} in task[
        "safety_categories"
    ]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"edits": [{"response": "nope", "text": "x"}]}, "edits"),
        ({"edits": [{"response": "B", "text": "   "}]}, "edits"),
        ({"edits": [{"response": "B", "text": "Response 1 to prompt 0"}]}, "edits"),
        ({"edits": [{"response": "B", "text": "x"}, {"response": "B", "text": "y"}]}, "edits"),
        ({"edits": [{"response": None, "text": "x"}, {"response": None, "text": "y"}]}, "edits"),
        ({"edits": [{"response": "B", "text": "x", "why": "y"}]}, "edits"),
        ({"edits": {"B": "x"}}, "edits"),
        ({"safety": {"B": {"safe": False, "categories": ["unknown_harm"], "severity": "minor"}}}, "safety"),
        ({"safety": {"B": {"safe": False, "categories": [], "severity": "minor"}}}, "safety"),
        ({"safety": {"B": {"safe": False, "categories": ["violence"]}}}, "safety"),
        ({"safety": {"B": {"safe": False, "categories": ["violence"], "severity": "extreme"}}}, "safety"),
        ({"safety": {"B": {"safe": True, "categories": ["violence"]}}}, "safety"),
        ({"safety": {"B": {"safe": "no"}}}, "safety"),
        ({"safety": {"nope": {"safe": True}}}, "safety"),
        ({"harmless_ranking": [["A"]]}, "harmless_ranking"),
        ({"harmless_ranking": [["A"], ["nope"]]}, "harmless_ranking"),
        ({"ratings": {"A": {"helpfulness": 8}}}, "ratings"),
        ({"ratings": {"A": {"helpfulness": 0}}}, "ratings"),
    ],
)
def test_bad_feedback_is_a_400_naming_the_field_with_nothing_written(hh_project, hh_annotator, extra, field):
    comparison, (a, b) = _task(hh_project, hh_annotator)
    texts = dict(comparison.items.values_list("response__public_id", "response__text"))
    extra = json.loads(json.dumps(extra).replace('"A"', f'"{a}"').replace('"B"', f'"{b}"'))
    if "Response 1 to prompt 0" in json.dumps(extra):  # the identical edit: the original's own text
        extra["edits"][0]["text"] = texts[uuid.UUID(b)]
    before = Response.objects.count()
    response = _post(hh_annotator, comparison, {"ranking": [[a], [b]], **extra})
    assert response.status_code == 400, response.json()
    assert response.json()["field"] == field, response.json()
    assert not Annotation.objects.filter(comparison=comparison).exists()
    assert Response.objects.count() == before


def test_a_project_without_these_kinds_refuses_them(project, annotator):
    project.allow_edits = False
    project.save()
    comparison, (a, b) = _task(project, annotator)
    for extra, field in (
        ({"edits": [{"response": b, "text": "mine"}]}, "edits"),
        ({"safety": {a: {"safe": True}}}, "safety"),
        ({"harmless_ranking": [[a], [b]]}, "harmless_ranking"),
    ):
        response = _post(annotator, comparison, {"ranking": [[a], [b]], **extra})
        assert response.status_code == 400 and response.json()["field"] == field, response.json()
        assert "this project does not" in response.json()["detail"]
    assert not Annotation.objects.filter(comparison=comparison).exists()


def test_a_scoring_task_takes_scores_only(scoring_project, scorer):
    comparison, (only,) = _task(scoring_project, scorer)
    task_kind = api_client(scorer).post(f"/api/v1/projects/{scoring_project.slug}/tasks/next/").json()["kind"]
    assert task_kind == "scoring"
    for body, field in (
        ({"ranking": [[only]], "ratings": {only: {"helpfulness": 4, "honesty": 5}}}, "ranking"),
        ({"ratings": {only: {"helpfulness": 4}}}, "ratings"),
        ({"ratings": {only: {"helpfulness": 6, "honesty": 5}}}, "ratings"),
        ({"ratings": {only: {"helpfulness": 4, "honesty": 5}}, "strength": "clear"}, "strength"),
        ({"ratings": {only: {"helpfulness": 4, "honesty": 5}}, "all_bad": True}, "all_bad"),
        ({}, "ratings"),
    ):
        response = _post(scorer, comparison, body)
        assert response.status_code == 400 and response.json()["field"] == field, (body, response.json())
    assert not Annotation.objects.filter(comparison=comparison).exists()
    body = {
        "ratings": {only: {"helpfulness": 4, "honesty": 5}},
        "edits": [{"response": only, "text": "Better."}],
    }
    response = _post(scorer, comparison, body)
    assert response.status_code == 201, response.json()
    annotation = Annotation.objects.get(pk=response.json()["id"])
    rid = Response.objects.get(public_id=only).pk
    assert annotation.ranking == [[rid]] and annotation.ratings == {
        str(rid): {"helpfulness": 4, "honesty": 5}
    }
    assert annotation.edits[0]["text"] == "Better."


def test_a_scoring_project_makes_one_task_per_imported_response(scoring_project):
    from annotation.data.imports import prompts_import

    line = {"id": "q1", "prompt": "Hi", "responses": [{"text": "a"}, {"text": "b"}, {"text": "c"}]}
    result = prompts_import(project=scoring_project, lines=[json.dumps(line).encode()])
    assert (result.created, result.comparisons) == (1, 3)
    texts = sorted(c.items.get().response.text for c in scoring_project.comparisons.all())
    assert texts == ["a", "b", "c"]


def test_a_scoring_project_takes_no_gold_items(scoring_project):
    """A gold answer ranks a task's responses; a scoring task has one, so gold is refused, never accepted
    and scored as always right."""
    from annotation.data.imports import ImportRejected, prompts_import
    from annotation.models import Role
    from tests.factories import member

    line = {"id": "g1", "prompt": "Hi", "responses": [{"text": "a"}], "gold": {"ranking": [[0]]}}
    with pytest.raises(ImportRejected) as rejected:
        prompts_import(project=scoring_project, lines=[json.dumps(line).encode()])
    assert [(e.line, e.field) for e in rejected.value.errors] == [(1, "gold")]
    assert not scoring_project.comparisons.exists()
    (comparison,) = make_comparisons(scoring_project, 1)
    public = str(comparison.items.get().response.public_id)
    admin = api_client(member(scoring_project, Role.ADMIN))
    made = admin.post(f"/api/v1/comparisons/{comparison.pk}/gold/", {"ranking": [[public]]}, format="json")
    assert made.status_code == 400 and made.json()["field"] == "ranking"


def test_a_harm_flag_sends_the_comparison_to_review(hh_project, hh_annotator):
    from annotation.review.queue import review_reasons

    flagged, (a, b) = _task(hh_project, hh_annotator)
    safe, (c, d) = _task(hh_project, hh_annotator)
    unsafe = {"safe": False, "categories": ["violence"], "severity": "minor"}
    assert _post(hh_annotator, flagged, {"ranking": [[a], [b]], "safety": {b: unsafe}}).status_code == 201
    kept = _post(hh_annotator, safe, {"ranking": [[c], [d]], "safety": {d: {"safe": True}}})
    assert kept.status_code == 201
    reasons = review_reasons(project=hh_project)
    assert reasons.get(flagged.pk) == ["flagged"] and safe.pk not in reasons


def test_the_reviewer_sees_harm_flags_rewrites_and_the_safer_verdict(hh_project, hh_annotator):
    from annotation.review.services import review_payload

    comparison, (a, b) = _task(hh_project, hh_annotator)
    unsafe = {"safe": False, "categories": ["violence"], "severity": "minor"}
    body = {
        "ranking": [[a], [b]],
        "harmless_ranking": [[a], [b]],
        "safety": {b: unsafe},
        "edits": [{"response": b, "text": "I can't help with hurting anyone."}],
    }
    assert _post(hh_annotator, comparison, body).status_code == 201
    (seen,) = review_payload(comparison=comparison, reasons=["flagged"], lease=None)["annotations"]
    assert seen["safety"][b] == {"safe": False, "categories": ["violence"], "severity": "minor"}
    assert seen["edits"] == [{"response": b, "text": "I can't help with hurting anyone."}]
    assert seen["harmless_ranking"] == [[a], [b]]
