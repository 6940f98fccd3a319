"""Every REST endpoint of the annotator's and the admin's loops, for every role."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from annotation.models import Comparison, Role
from tests.factories import ProjectFactory, make_comparisons, member

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
