"""Issue 12's endpoints and page for every role (anonymous, outsider, annotator, reviewer, admin)."""

import uuid

import pytest
from rest_framework.test import APIClient

from annotation.data.pseudonyms import annotator_pseudonym
from annotation.models import Role
from tests.factories import ProjectFactory, make_comparisons, member
from tests.helpers import annotate

ROLES = ["anon", "outsider", "annotator", "reviewer", "admin"]
# (method, url, body, expected status per role in ROLES order)
ENDPOINTS = [
    ("post", "/api/v1/projects/{slug}/review/next/", None, (401, 404, 403, 200, 200)),
    ("post", "/api/v1/comparisons/{c}/review/", "review", (401, 404, 403, 201, 201)),
    ("post", "/api/v1/comparisons/{c}/gold/", "gold", (401, 404, 403, 403, 200)),
    ("post", "/api/v1/projects/{slug}/annotators/{who}/clear-flag/", None, (401, 404, 403, 403, 204)),
    ("get", "/p/{slug}/review/", None, (302, 404, 404, 200, 200)),
]  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "url", "body", "expected"), ENDPOINTS, ids=[e[1] for e in ENDPOINTS])
def test_role_matrix(db, role, method, url, body, expected):
    project = ProjectFactory(overlap=2)
    (comparison,) = make_comparisons(project, 1)
    a, b = member(project, Role.ANNOTATOR), member(project, Role.ANNOTATOR)
    annotate(comparison, a, order=[0, 1])
    annotate(comparison, b, order=[1, 0])  # a disagreement: something to review
    users = {
        "outsider": member(ProjectFactory(), Role.ADMIN),
        "annotator": member(project, Role.ANNOTATOR),
        "reviewer": member(project, Role.REVIEWER),
        "admin": member(project, Role.ADMIN),
    }
    client = APIClient()
    if role != "anon":
        client.force_login(users[role])
    public = [
        str(i.response.public_id) for i in comparison.items.order_by("position").select_related("response")
    ]
    bodies = {
        "review": {"verdict": "accept", "client_token": uuid.uuid4().hex},
        "gold": {"ranking": [[public[0]], [public[1]]], "explanation": "A"},
    }
    target = url.format(
        slug=project.slug, c=comparison.pk, who=annotator_pseudonym(a.pk, project_id=project.pk)
    )
    response = getattr(client, method)(target, bodies.get(body), format="json")
    assert response.status_code == expected[ROLES.index(role)], response.content[:300]
