"""The REST contract of the annotator's loop: next task, submit, skip, heartbeat (DESIGN section 7)."""

import uuid

import pytest

from annotation.models import Annotation
from tests.factories import make_comparisons, member
from tests.helpers import api_client


def submit_body(task: dict, **extra) -> dict:
    ids = [r["id"] for r in task["responses"]]
    return {"ranking": [[ids[0]], [ids[1]]], "strength": "clear", "client_token": uuid.uuid4().hex, **extra}


def test_next_submit_loop_with_next_param(project, annotator):
    make_comparisons(project, 2, texts=["**bold** answer", "plain <b>answer</b>"])
    client = api_client(annotator)
    task = client.post(f"/api/v1/projects/{project.slug}/tasks/next/").json()
    assert task["kind"] == "pairwise" and len(task["responses"]) == 2
    assert set(task) == {
        "id", "kind", "prompt", "responses", "rating_axes", "rating_scale_max", "lease_expires_at", "done",
    }  # fmt: skip
    assert all(set(r) == {"id", "text", "html"} for r in task["responses"])  # no model identity
    html = {r["text"]: r["html"] for r in task["responses"]}
    assert "<strong>bold</strong>" in html["**bold** answer"]
    assert "&lt;b&gt;" in html["plain <b>answer</b>"]
    assert task["prompt"]["messages"][0]["role"] == "user"

    body = submit_body(task, ratings={task["responses"][0]["id"]: {"helpfulness": 6}}, rationale="clearer")
    response = client.post(f"/api/v1/tasks/{task['id']}/annotations/?next=1", body, format="json")
    assert response.status_code == 201
    payload = response.json()
    assert payload["next"]["id"] != task["id"] and payload["next"]["done"] == 1
    annotation = Annotation.objects.get(pk=payload["id"])
    assert annotation.ratings and annotation.rationale == "clearer" and annotation.strength == "clear"

    retry = client.post(f"/api/v1/tasks/{task['id']}/annotations/?next=1", body, format="json")
    assert retry.status_code == 200 and retry.json()["id"] == payload["id"]
    assert Annotation.objects.count() == 1

    last = payload["next"]
    done = client.post(f"/api/v1/tasks/{last['id']}/annotations/?next=1", submit_body(last), format="json")
    assert done.status_code == 201 and done.json()["next"] is None
    assert client.post(f"/api/v1/projects/{project.slug}/tasks/next/").status_code == 204


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ranking": "a"}, "ranking"),
        ({"ranking": [["nope"], ["also-nope"]]}, "ranking"),
        ({"strength": "huge"}, "strength"),
        ({"client_token": ""}, "client_token"),
        ({"time_spent_ms": -5}, "time_spent_ms"),
        ({"all_bad": "maybe"}, "all_bad"),
        ({"ratings": {"x": {"helpfulness": 3}}}, "ratings"),
    ],
)
def test_invalid_submission_names_the_field(project, annotator, change, field):
    make_comparisons(project, 1)
    client = api_client(annotator)
    task = client.post(f"/api/v1/projects/{project.slug}/tasks/next/").json()
    response = client.post(
        f"/api/v1/tasks/{task['id']}/annotations/", {**submit_body(task), **change}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert not Annotation.objects.exists()


def test_rating_validation_and_ties(project, annotator):
    make_comparisons(project, 1)
    client = api_client(annotator)
    task = client.post(f"/api/v1/projects/{project.slug}/tasks/next/").json()
    a, b = (r["id"] for r in task["responses"])
    bad_axis = client.post(
        f"/api/v1/tasks/{task['id']}/annotations/",
        {"ranking": [[a, b]], "client_token": "t", "ratings": {a: {"creativity": 3}}},
        format="json",
    )
    assert bad_axis.status_code == 400 and "unknown axis" in bad_axis.json()["detail"]
    tie_with_strength = client.post(
        f"/api/v1/tasks/{task['id']}/annotations/",
        {"ranking": [[a, b]], "strength": "strong", "client_token": "t"},
        format="json",
    )
    assert tie_with_strength.json()["field"] == "strength"
    tie = client.post(
        f"/api/v1/tasks/{task['id']}/annotations/", {"ranking": [[a, b]], "client_token": "t"}, format="json"
    )
    assert tie.status_code == 201
    all_bad = client.post(
        f"/api/v1/tasks/{task['id']}/annotations/", {"all_bad": True, "client_token": "u"}, format="json"
    )
    assert all_bad.status_code == 201  # a correction: all bad, ranking omitted
    live = Annotation.objects.get(is_live=True)
    assert live.all_bad and len(live.ranking) == 1 and len(live.ranking[0]) == 2


def test_full_task_without_lease_is_409(project, annotator):
    make_comparisons(project, 1)
    other = member(project)
    client = api_client(annotator)
    task = client.post(f"/api/v1/projects/{project.slug}/tasks/next/").json()
    assert (
        client.post(f"/api/v1/tasks/{task['id']}/annotations/", submit_body(task), format="json").status_code
        == 201
    )
    response = api_client(other).post(
        f"/api/v1/tasks/{task['id']}/annotations/", submit_body(task), format="json"
    )
    assert response.status_code == 409 and response.json()["code"] == "task_full"


def test_skip_and_heartbeat(project, annotator):
    make_comparisons(project, 2)
    client = api_client(annotator)
    task = client.post(f"/api/v1/projects/{project.slug}/tasks/next/").json()
    beat = client.post(f"/api/v1/tasks/{task['id']}/heartbeat/")
    assert beat.status_code == 200 and beat.json()["lease_expires_at"] >= task["lease_expires_at"]
    assert (
        client.post(f"/api/v1/tasks/{task['id']}/skip/", {"reason": "unclear"}, format="json").status_code
        == 204
    )
    nxt = client.post(f"/api/v1/projects/{project.slug}/tasks/next/").json()
    assert nxt["id"] != task["id"]
