"""The REST contract (DESIGN section 7), and every endpoint for every role."""

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from annotation.models import Annotation, Comparison, Membership, Project, Role
from tests.conftest import api_client
from tests.factories import PASSWORD, ProjectFactory, make_comparisons, member


def submit_body(task: dict, **extra) -> dict:
    ids = [r["id"] for r in task["responses"]]
    return {"ranking": [[ids[0]], [ids[1]]], "strength": "clear", "client_token": uuid.uuid4().hex, **extra}


def test_token_auth(annotator):
    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"username": annotator.username, "password": PASSWORD})
    assert response.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get("/api/v1/projects/").status_code == 200
    bad = APIClient().post("/api/v1/auth/token/", {"username": annotator.username, "password": "nope"})
    assert bad.status_code == 400 and bad.json()["field"] == "password"


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


def test_project_create_and_patch(site_admin, project, project_admin, annotator):
    created = api_client(site_admin).post(
        "/api/v1/projects/", {"slug": "new-one", "name": "New", "responses_per_task": 4}, format="json"
    )
    assert created.status_code == 201 and created.json()["current_policy"]["version"] == 1
    assert Membership.objects.get(project__slug="new-one").role == Role.ADMIN
    dup = api_client(site_admin).post(
        "/api/v1/projects/", {"slug": "new-one", "name": "Again"}, format="json"
    )
    assert dup.status_code == 409 and dup.json()["field"] == "slug"
    bad = api_client(site_admin).post(
        "/api/v1/projects/", {"slug": "x", "name": "X", "responses_per_task": 9}, format="json"
    )
    assert bad.status_code == 400 and bad.json()["field"] == "responses_per_task"
    patched = api_client(project_admin).patch(
        f"/api/v1/projects/{project.slug}/", {"overlap": 3}, format="json"
    )
    assert patched.status_code == 200 and Project.objects.get(pk=project.pk).overlap == 3
    bad_patch = api_client(project_admin).patch(
        f"/api/v1/projects/{project.slug}/", {"gold_rate": 3}, format="json"
    )
    assert bad_patch.status_code == 400 and bad_patch.json()["field"] == "gold_rate"


def test_members_endpoint(project, project_admin, annotator):
    client = api_client(project_admin)
    newcomer = member(ProjectFactory())  # a user in another project
    response = client.post(
        f"/api/v1/projects/{project.slug}/members/",
        {"username": newcomer.username, "role": "reviewer"},
        format="json",
    )
    assert response.status_code == 201 and response.json()["role"] == "reviewer"
    listed = {
        m["username"]: m["role"] for m in client.get(f"/api/v1/projects/{project.slug}/members/").json()
    }
    assert listed[newcomer.username] == "reviewer" and listed[annotator.username] == "annotator"
    missing = client.post(
        f"/api/v1/projects/{project.slug}/members/", {"username": "ghost", "role": "annotator"}, format="json"
    )
    assert missing.status_code == 404 and missing.json()["field"] == "username"


# Every endpoint for every role: (method, url template, body, (anonymous, outsider, annotator, admin)).
ENDPOINTS = [
    ("get", "/api/v1/projects/", None, (401, 200, 200, 200)),
    ("post", "/api/v1/projects/", {"slug": "p2", "name": "P2"}, (401, 403, 403, 403)),
    ("get", "/api/v1/projects/{slug}/", None, (401, 404, 200, 200)),
    ("patch", "/api/v1/projects/{slug}/", {"name": "N"}, (401, 404, 403, 200)),
    ("get", "/api/v1/projects/{slug}/members/", None, (401, 404, 403, 200)),
    ("post", "/api/v1/projects/{slug}/members/", {"username": "{me}", "role": "admin"}, (401, 404, 403, 201)),
    ("post", "/api/v1/projects/{slug}/prompts/import/", "file", (401, 404, 403, 201)),
    ("post", "/api/v1/projects/{slug}/tasks/next/", None, (401, 404, 200, 200)),
    ("post", "/api/v1/tasks/{task}/annotations/", "annotation", (401, 404, 201, 201)),
    ("post", "/api/v1/tasks/{task}/skip/", {}, (401, 404, 204, 204)),
    ("post", "/api/v1/tasks/{task}/heartbeat/", None, (401, 404, 200, 200)),
]  # fmt: skip


ROLES = ["anon", "outsider", "annotator", "admin"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "url", "body", "expected"), ENDPOINTS, ids=[f"{e[0]} {e[1]}" for e in ENDPOINTS]
)
def test_role_matrix(db, role, method, url, body, expected):
    project = ProjectFactory(overlap=2)
    make_comparisons(project, 1)
    users = {
        "outsider": member(ProjectFactory()),
        "annotator": member(project, Role.ANNOTATOR),
        "admin": member(project, Role.ADMIN),
    }
    user = users.get(role)
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    task_id = Comparison.objects.get(project=project).pk
    if user is not None and role != "outsider":
        client.post(f"/api/v1/projects/{project.slug}/tasks/next/")  # hold a lease on the task
    full_url = url.format(slug=project.slug, task=task_id)
    if body == "file":
        data, fmt = {"file": SimpleUploadedFile("p.jsonl", b'{"id": "n1", "prompt": "hi"}\n')}, "multipart"
    elif body == "annotation":
        ids = Comparison.objects.get(pk=task_id).items.values_list("response__public_id", flat=True)
        data, fmt = {"ranking": [[str(i)] for i in ids], "client_token": "tok"}, "json"
    elif isinstance(body, dict):
        data, fmt = (
            {k: v.format(me=user.username) if user and isinstance(v, str) else v for k, v in body.items()},
            "json",
        )
    else:
        data, fmt = None, "json"
    response = getattr(client, method)(full_url, data, format=fmt)
    assert response.status_code == expected[ROLES.index(role)], response.content


def test_annotators_see_only_their_projects(project, annotator, outsider):
    slugs = [p["slug"] for p in api_client(outsider).get("/api/v1/projects/").json()]
    assert project.slug not in slugs
    mine = api_client(annotator).get("/api/v1/projects/").json()
    assert [p["slug"] for p in mine] == [project.slug] and mine[0]["role"] == "annotator"


def test_annotators_do_not_see_which_model_the_project_trains(project, annotator, project_admin):
    url = f"/api/v1/projects/{project.slug}/"
    seen = api_client(annotator).get(url).json()
    assert seen["current_policy"] is None and seen["generation_defaults"] is None
    listed = api_client(annotator).get("/api/v1/projects/").json()
    assert [p["current_policy"] for p in listed] == [None]
    assert api_client(project_admin).get(url).json()["generation_defaults"] == {}
