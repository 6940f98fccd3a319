"""The REST contract of the annotator's loop: next task, submit, skip, heartbeat (DESIGN section 7)."""

import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from annotation.models import Annotation, Assignment, Comparison
from annotation.rest import ScopedThrottle
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
        "allow_edits", "safety_categories", "dual_preference",
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
    blank = client.post(
        f"/api/v1/tasks/{task['id']}/annotations/", {"all_bad": True, "client_token": "u"}, format="json"
    )
    assert blank.status_code == 400 and blank.json()["field"] == "ranking"  # all bad says how they compare
    all_bad = client.post(
        f"/api/v1/tasks/{task['id']}/annotations/",
        {"all_bad": True, "ranking": [[a, b]], "client_token": "u"},
        format="json",
    )
    assert all_bad.status_code == 201  # a correction: all bad, both tied
    live = Annotation.objects.get(is_live=True)
    assert live.all_bad and len(live.ranking) == 1 and len(live.ranking[0]) == 2


def test_a_submission_needs_the_users_lease(project, annotator):
    """Nobody votes on a task they were never served: a script posting "all bad" over sequential ids
    closes nothing (issue 14, H1)."""
    project.overlap = 2
    project.save(update_fields=["overlap"])
    make_comparisons(project, 2)
    other = member(project)
    task = api_client(annotator).post(f"/api/v1/projects/{project.slug}/tasks/next/").json()
    a, b = (r["id"] for r in task["responses"])
    unserved = Comparison.objects.filter(project=project).exclude(pk=task["id"]).get()
    for task_id in (task["id"], unserved.pk):  # open tasks with room, other's lease on neither
        response = api_client(other).post(
            f"/api/v1/tasks/{task_id}/annotations/",
            {"all_bad": True, "ranking": [[a, b]], "client_token": uuid.uuid4().hex},
            format="json",
        )
        assert response.status_code == 409 and response.json()["code"] == "no_lease", response.content
    assert not Annotation.objects.exists()
    assert set(Comparison.objects.values_list("annotations_received", flat=True)) == {0}


def test_a_late_answer_counts_while_room_remains_and_is_refused_once_full(project, annotator):
    make_comparisons(project, 1)
    other = member(project)
    task = api_client(annotator).post(f"/api/v1/projects/{project.slug}/tasks/next/").json()
    Assignment.objects.filter(comparison_id=task["id"]).update(
        leased_until=timezone.now() - timedelta(seconds=1)
    )
    other_task = api_client(other).post(f"/api/v1/projects/{project.slug}/tasks/next/").json()
    assert other_task["id"] == task["id"]  # the expired lease freed the slot
    first = api_client(other).post(
        f"/api/v1/tasks/{task['id']}/annotations/", submit_body(task), format="json"
    )
    assert first.status_code == 201
    late = api_client(annotator).post(
        f"/api/v1/tasks/{task['id']}/annotations/", submit_body(task), format="json"
    )
    assert late.status_code == 409 and late.json()["code"] == "task_full"
    assert Comparison.objects.get(pk=task["id"]).annotations_received == 1


def test_submissions_are_rate_limited_per_user_and_the_limit_fails_open(project, annotator, monkeypatch):
    make_comparisons(project, 5)
    monkeypatch.setitem(ScopedThrottle.THROTTLE_RATES, "submit", "3/min")
    cache.delete(f"throttle_submit_{annotator.pk}")
    client = api_client(annotator)
    task = client.post(f"/api/v1/projects/{project.slug}/tasks/next/").json()
    codes = []
    for _ in range(4):
        response = client.post(
            f"/api/v1/tasks/{task['id']}/annotations/?next=1", submit_body(task), format="json"
        )
        codes.append(response.status_code)
        task = response.json().get("next") or task
    assert codes == [201, 201, 201, 429]
    assert Annotation.objects.count() == 3

    class Down:
        def get(self, *args, **kwargs):
            raise ConnectionError("redis is down")

    monkeypatch.setattr(ScopedThrottle, "cache", Down())
    response = client.post(f"/api/v1/tasks/{task['id']}/annotations/", submit_body(task), format="json")
    assert response.status_code == 201  # the counter's store is down: let the annotator work
    cache.delete(f"throttle_submit_{annotator.pk}")


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
