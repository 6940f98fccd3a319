"""A field the API does not know is a 400 naming it, and nothing is written (never silently dropped)."""

import uuid

from annotation.models import Annotation, Membership, Project, TrainingRound
from tests.factories import make_comparisons
from tests.helpers import api_client, hold_lease


def test_a_submission_with_a_field_the_api_does_not_know_is_refused(project, annotator):
    (comparison,) = make_comparisons(project, 1)
    hold_lease(comparison, annotator)
    ids = [str(item.response.public_id) for item in comparison.items.select_related("response")]
    body = {"ranking": [[ids[0]], [ids[1]]], "client_token": uuid.uuid4().hex, "edit": {ids[1]: "better"}}
    response = api_client(annotator).post(f"/api/v1/tasks/{comparison.pk}/annotations/", body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["field"] == "edit" and "unknown field" in response.json()["detail"]
    assert not Annotation.objects.filter(comparison=comparison).exists()
    del body["edit"]
    ok = api_client(annotator).post(f"/api/v1/tasks/{comparison.pk}/annotations/", body, format="json")
    assert ok.status_code == 201


def test_settings_the_api_does_not_know_are_refused(project, project_admin, site_admin):
    client = api_client(project_admin)
    patch = client.patch(
        f"/api/v1/projects/{project.slug}/", {"allow_edit": True, "name": "x"}, format="json"
    )
    assert patch.status_code == 400 and patch.json()["field"] == "allow_edit"
    assert Project.objects.get(pk=project.pk).name != "x"
    created = api_client(site_admin).post(
        "/api/v1/projects/", {"slug": "s1", "name": "S", "dual_preferences": True}, format="json"
    )
    assert created.status_code == 400 and created.json()["field"] == "dual_preferences"
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
    response = api_client(project_admin).post(
        f"/api/v1/projects/{project.slug}/prompts/import/", {}, format="multipart"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "file" and "file" in body["detail"]
    assert [(e["line"], e["field"]) for e in body["errors"]] == [(0, "file")] and body["errors"][0]["message"]


def test_round_configs_with_wrong_types_or_non_finite_numbers_are_400s(project, project_admin):
    client = api_client(project_admin)
    url = f"/api/v1/projects/{project.slug}/rounds/"
    cases = {
        "eval_fraction": {"eval_fraction": "abc"},
        "kl_budget": {"kl_budget": "nan"},
        "PPOConfig.learning_rate": {"ppo": {"learning_rate": "nan"}},
        "eval_prompts": {"eval_prompts": 1e30},
        "PPOConfig.steps": {"ppo": {"steps": True}},
        "dpo": {"dpo": ["not", "an", "object"]},
    }
    for named, config in cases.items():
        response = client.post(url, {"kind": "ppo", "config": config}, format="json")
        assert response.status_code == 400, (config, response.content)
        assert response.json()["detail"].startswith(named), response.json()
    for raw in (
        '{"kind": "ppo", "config": {"kl_budget": Infinity}}',
        '{"kind": "dpo", "config": {"dpo": {"beta": NaN}}}',
    ):
        response = client.generic("POST", url, raw, content_type="application/json")
        assert response.status_code == 400 and "not JSON compliant" in response.json()["detail"]
    assert not TrainingRound.objects.filter(project=project).exists()


def test_a_body_nested_past_the_recursion_limit_is_a_400(project, project_admin, annotator):
    body = "[" * 100_000 + "]" * 100_000
    for client, path in (
        (api_client(project_admin), f"/api/v1/projects/{project.slug}/"),
        (api_client(annotator), f"/api/v1/tasks/{make_comparisons(project, 1)[0].pk}/annotations/"),
    ):
        response = client.generic(
            "PATCH" if "projects" in path else "POST", path, body, content_type="application/json"
        )
        assert response.status_code == 400 and "nested too deeply" in response.json()["detail"]


def test_integers_beyond_their_columns_are_400s_naming_the_field(project, project_admin):
    client = api_client(project_admin)
    for field in ("overlap", "lease_seconds", "auto_round_min_new_preferences"):
        response = client.patch(f"/api/v1/projects/{project.slug}/", {field: 10**20}, format="json")
        assert response.status_code == 400 and response.json()["field"] == field, response.content


def test_export_moments_postgres_cannot_hold_are_400s(project, project_admin):
    client = api_client(project_admin)
    for value, says in (
        ("0195-04-12T13:45:23-17:34", "offset beyond"),
        ("0001-01-01T00:00:00+05:00", "out of the range"),
        ("2025-01-31T00:00:00", "UTC offset"),
    ):
        response = client.get(f"/api/v1/projects/{project.slug}/export/", {"format": "trl", "until": value})
        assert response.status_code == 400 and response.json()["field"] == "until", value
        assert says in response.json()["detail"]


def test_a_form_body_is_refused_where_the_api_reads_json(project, project_admin):
    client = api_client(project_admin)
    patch = client.patch(f"/api/v1/projects/{project.slug}/", {"name": "x"}, format="multipart")
    assert patch.status_code == 415
    assert Project.objects.get(pk=project.pk).name != "x"
