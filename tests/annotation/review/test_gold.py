"""Gold items: imported or made by an admin, served unannounced at most once per annotator, scored, and
revealed after submission only with gold_feedback."""

import io
import json
import uuid

import pytest

from annotation.data.imports import ImportRejected, prompts_import
from annotation.models import Annotation, Comparison, Role
from annotation.queue.leasing import task_lease_next, task_next
from annotation.queue.payload import task_payload
from annotation.queue.submission import annotation_submit
from tests.factories import make_comparisons, member
from tests.helpers import annotate, api_client


def jsonl(*objects) -> list[bytes]:
    return io.BytesIO(b"".join(json.dumps(o).encode() + b"\n" for o in objects)).readlines()


def gold_line(external_id="g1", ranking=((1,), (0,)), **extra):
    return {
        "id": external_id,
        "prompt": "Which is right?",
        "responses": [{"text": "wrong answer"}, {"text": "right answer"}],
        "gold": {"ranking": [list(g) for g in ranking], "explanation": "The second one is right.", **extra},
    }


def test_import_creates_a_gold_item_with_its_expected_ranking(project):
    prompts_import(project=project, lines=jsonl(gold_line(), {"id": "plain", "prompt": "hi"}))
    gold = Comparison.objects.get(project=project)
    assert gold.is_gold and gold.gold_explanation == "The second one is right."
    texts = {item.response_id: item.response.text for item in gold.items.select_related("response")}
    assert [[texts[rid] for rid in group] for group in gold.gold_ranking] == [
        ["right answer"],
        ["wrong answer"],
    ]


@pytest.mark.parametrize(
    ("gold", "field"),
    [
        ({"ranking": [[0]], "explanation": ""}, "gold.ranking"),  # not every response
        ({"ranking": [[0], [2]]}, "gold.ranking"),  # out of range
        ({"ranking": [[0], [0, 1]]}, "gold.ranking"),  # twice
        ({"ranking": "0>1"}, "gold.ranking"),
        ({"ranking": [[0], [1]], "why": "x"}, "gold.why"),  # unknown field
        ({"ranking": [[0], [1]], "explanation": 3}, "gold.explanation"),
        ("yes", "gold"),
    ],
)
def test_a_bad_gold_line_is_a_line_error_and_nothing_is_written(project, gold, field):
    line = {**gold_line(), "gold": gold}
    with pytest.raises(ImportRejected) as caught:
        prompts_import(project=project, lines=jsonl({"id": "ok", "prompt": "fine"}, line))
    assert [(e.line, e.field) for e in caught.value.errors] == [(2, field)]
    assert not Comparison.objects.filter(project=project).exists()


def test_a_gold_line_without_responses_or_with_more_than_one_task_is_an_error(project):
    no_responses = {"id": "a", "prompt": "x", "gold": {"ranking": [[0], [1]]}}
    three = {**gold_line("b"), "responses": [{"text": "1"}, {"text": "2"}, {"text": "3"}]}
    with pytest.raises(ImportRejected) as caught:
        prompts_import(project=project, lines=jsonl(no_responses, three))
    assert [(e.line, e.field) for e in caught.value.errors] == [(1, "gold"), (2, "gold")]


def test_the_import_api_reports_a_bad_gold_line_as_line_field_message(project, project_admin):
    body = b"".join(
        json.dumps(o).encode() + b"\n" for o in [{**gold_line(), "gold": {"ranking": [[5], [0]]}}]
    )
    upload = io.BytesIO(body)
    upload.name = "gold.jsonl"
    response = api_client(project_admin).post(
        f"/api/v1/projects/{project.slug}/prompts/import/", {"file": upload}, format="multipart"
    )
    assert response.status_code == 400
    assert (
        response.json()["errors"][0]["line"] == 1 and response.json()["errors"][0]["field"] == "gold.ranking"
    )


def test_an_admin_makes_an_existing_comparison_gold_and_others_may_not(project, project_admin, annotator):
    (comparison,) = make_comparisons(project, 1)
    first_annotation = annotate(comparison, annotator, order=[1, 0])
    public = [
        str(i.response.public_id) for i in comparison.items.order_by("position").select_related("response")
    ]
    url = f"/api/v1/comparisons/{comparison.pk}/gold/"
    body = {"ranking": [[public[0]], [public[1]]], "explanation": "first is better"}
    reviewer = member(project, Role.REVIEWER)
    assert api_client(annotator).post(url, body, format="json").status_code == 403
    assert api_client(reviewer).post(url, body, format="json").status_code == 403
    bad = api_client(project_admin).post(url, {**body, "ranking": [[public[0]]]}, format="json")
    assert bad.status_code == 400 and bad.json()["field"] == "ranking"
    unknown = api_client(project_admin).post(url, {**body, "answer": 1}, format="json")
    assert unknown.status_code == 400
    ok = api_client(project_admin).post(url, body, format="json")
    assert ok.status_code == 200 and ok.json() == {"id": comparison.pk, "is_gold": True}
    comparison.refresh_from_db()
    assert comparison.is_gold and comparison.status == "open"
    assert Annotation.objects.get(pk=first_annotation).gold_correct is False  # scored against the new answer


def _gold_project(project, feedback: bool):
    project.gold_rate = 1.0
    project.gold_feedback = feedback
    project.save()
    prompts_import(project=project, lines=jsonl(gold_line()))
    make_comparisons(project, 2)
    return Comparison.objects.get(project=project, is_gold=True)


def _answer(user, task, order):
    ids = [r["id"] for r in task["responses"]]
    return annotation_submit(
        comparison_id=task["id"], user=user, client_token=uuid.uuid4().hex, ranking=[[ids[p]] for p in order]
    )


def test_gold_is_served_once_per_annotator_and_looks_like_any_task(project, annotator):
    gold = _gold_project(project, feedback=False)
    task = task_next(project=project, user=annotator)
    assert task["id"] == gold.pk  # gold_rate 1: a gold item first
    ordinary = Comparison.objects.filter(project=project, is_gold=False).first()
    plain = task_payload(comparison_id=ordinary.pk, leased_until=gold.created_at, user_id=annotator.pk)
    assert set(task) == set(plain) and "gold" not in json.dumps(task).lower()
    _answer(annotator, task, [0, 1])
    served = []
    while (lease := task_lease_next(project=project, user=annotator)) is not None:
        served.append(lease.comparison_id)
        annotation_submit(
            comparison_id=lease.comparison_id,
            user=annotator,
            client_token=uuid.uuid4().hex,
            ranking=[
                [str(i.response.public_id)]
                for i in Comparison.objects.get(pk=lease.comparison_id).items.all()
            ],
        )
    assert gold.pk not in served and len(served) == 2  # never again for this annotator
    other = member(project, Role.ANNOTATOR)
    assert task_next(project=project, user=other)["id"] == gold.pk  # but for everyone else


def test_each_gold_answer_is_recorded_and_nothing_revealed_without_feedback(project, annotator):
    _gold_project(project, feedback=False)
    task = task_next(project=project, user=annotator)
    texts = [r["text"] for r in task["responses"]]
    right = [texts.index("right answer"), texts.index("wrong answer")]
    response = api_client(annotator).post(
        f"/api/v1/tasks/{task['id']}/annotations/",
        {"ranking": [[task["responses"][p]["id"]] for p in right], "client_token": "t1"},
        format="json",
    )
    assert response.status_code == 201 and set(response.json()) == {"id"}
    assert Annotation.objects.get(pk=response.json()["id"]).gold_correct is True


def test_with_feedback_the_submit_response_shows_the_expected_answer(project, annotator):
    _gold_project(project, feedback=True)
    task = task_next(project=project, user=annotator)
    ids = {r["text"]: r["id"] for r in task["responses"]}
    wrong = [[ids["wrong answer"]], [ids["right answer"]]]
    body = {"ranking": wrong, "client_token": "t2"}
    response = api_client(annotator).post(
        f"/api/v1/tasks/{task['id']}/annotations/?next=1", body, format="json"
    )
    assert response.status_code == 201
    assert response.json()["gold"] == {
        "correct": False,
        "expected": [[ids["right answer"]], [ids["wrong answer"]]],
        "explanation": "The second one is right.",
    }
    assert Annotation.objects.get(pk=response.json()["id"]).gold_correct is False
    again = api_client(annotator).post(f"/api/v1/tasks/{task['id']}/annotations/", body, format="json")
    assert again.status_code == 200 and again.json()["gold"]["correct"] is False  # a retry: the same answer
