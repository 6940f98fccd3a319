"""The REST contract of tokens, projects and members (DESIGN section 7)."""

from rest_framework.test import APIClient

from annotation.models import Membership, Project, Role
from tests.factories import PASSWORD, ProjectFactory, member
from tests.helpers import api_client


def test_token_auth(annotator):
    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"username": annotator.username, "password": PASSWORD})
    assert response.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert client.get("/api/v1/projects/").status_code == 200
    bad = APIClient().post("/api/v1/auth/token/", {"username": annotator.username, "password": "nope"})
    assert bad.status_code == 400 and bad.json()["field"] == "password"


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
