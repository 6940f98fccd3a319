"""A field the API does not know is a 400 naming it, and nothing is written (never silently dropped)."""

import uuid

from annotation.models import Annotation, Membership, Project
from tests.factories import make_comparisons
from tests.helpers import api_client, hold_lease


def test_a_submission_with_a_field_the_api_does_not_know_is_refused(project, annotator):
    (comparison,) = make_comparisons(project, 1)
    hold_lease(comparison, annotator)
    ids = [str(item.response.public_id) for item in comparison.items.select_related("response")]
    body = {"ranking": [[ids[0]], [ids[1]]], "client_token": uuid.uuid4().hex, "edits": {ids[1]: "better"}}
    response = api_client(annotator).post(f"/api/v1/tasks/{comparison.pk}/annotations/", body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["field"] == "edits" and "unknown field" in response.json()["detail"]
    assert not Annotation.objects.filter(comparison=comparison).exists()
    del body["edits"]
    ok = api_client(annotator).post(f"/api/v1/tasks/{comparison.pk}/annotations/", body, format="json")
    assert ok.status_code == 201


def test_settings_the_api_does_not_know_are_refused(project, project_admin, site_admin):
    client = api_client(project_admin)
    patch = client.patch(
        f"/api/v1/projects/{project.slug}/", {"allow_edits": True, "name": "x"}, format="json"
    )
    assert patch.status_code == 400 and patch.json()["field"] == "allow_edits"
    assert Project.objects.get(pk=project.pk).name != "x"
    created = api_client(site_admin).post(
        "/api/v1/projects/", {"slug": "s1", "name": "S", "dual_preference": True}, format="json"
    )
    assert created.status_code == 400 and created.json()["field"] == "dual_preference"
    assert not Project.objects.filter(slug="s1").exists()
    member = client.post(
        f"/api/v1/projects/{project.slug}/members/", {"username": "x", "role": "annotator", "rol": "a"}
    )
    assert member.status_code == 400 and member.json()["field"] == "rol"
    assert not Membership.objects.filter(project=project, user__username="x").exists()


def test_an_api_path_that_matches_nothing_answers_json(annotator):
    response = api_client(annotator).post("/api/v1/tasks/not-a-number/skip/", {}, format="json")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
    page = api_client(annotator).get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_an_import_without_a_file_is_a_line_error_list(project, project_admin):
    response = api_client(project_admin).post(f"/api/v1/projects/{project.slug}/prompts/import/", {})
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "file" and "file" in body["detail"]
    assert [(e["line"], e["field"]) for e in body["errors"]] == [(0, "file")] and body["errors"][0]["message"]
