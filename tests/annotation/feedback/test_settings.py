"""Project settings of the feedback kinds (issue 11): at creation, by PATCH and by the CLI, every invalid
value a 400 (or a CLI error) naming the field, with nothing written."""

import pytest
from django.core.management import CommandError, call_command

from annotation.feedback.settings import BUILTIN_CATEGORIES
from annotation.models import Project
from tests.helpers import api_client


def test_a_project_is_created_with_every_feedback_setting(site_admin):
    body = {
        "slug": "hh",
        "name": "HH",
        "allow_edits": False,
        "safety_categories": "default",
        "dual_preference": True,
        "rating_scale_max": 5,
    }
    response = api_client(site_admin).post("/api/v1/projects/", body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["allow_edits"] is False and data["dual_preference"] is True and data["rating_scale_max"] == 5
    assert [c["slug"] for c in data["safety_categories"]] == [slug for slug, _, _ in BUILTIN_CATEGORIES]
    assert all(c["description"] for c in data["safety_categories"])
    project = Project.objects.get(slug="hh")
    assert project.dual_preference and not project.allow_edits and len(project.safety_categories) == 19


def test_defaults_are_edits_on_and_no_harm_flags(site_admin):
    data = api_client(site_admin).post("/api/v1/projects/", {"slug": "d", "name": "D"}, format="json").json()
    assert (
        data["allow_edits"] is True and data["safety_categories"] == [] and data["dual_preference"] is False
    )


def test_a_scoring_project_takes_one_response_per_task_and_a_scale(site_admin):
    body = {"slug": "score", "name": "S", "responses_per_task": 1, "rating_scale_max": 5}
    response = api_client(site_admin).post("/api/v1/projects/", body, format="json")
    assert response.status_code == 201 and response.json()["responses_per_task"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"responses_per_task": 0}, "responses_per_task"),
        ({"responses_per_task": 1, "rating_axes": []}, "rating_axes"),
        ({"responses_per_task": 1, "dual_preference": True}, "dual_preference"),
        ({"rating_scale_max": 1}, "rating_scale_max"),
        ({"rating_scale_max": 11}, "rating_scale_max"),
        ({"rating_scale_max": "5"}, "rating_scale_max"),
        ({"allow_edits": "yes"}, "allow_edits"),
        ({"dual_preference": 1}, "dual_preference"),
        ({"safety_categories": "all"}, "safety_categories"),
        ({"safety_categories": ["not_a_builtin"]}, "safety_categories"),
        ({"safety_categories": [{"slug": "Bad Slug", "description": "x"}]}, "safety_categories"),
        ({"safety_categories": [{"slug": "mine", "description": ""}]}, "safety_categories"),
        ({"safety_categories": [{"slug": "mine", "description": "a\nb"}]}, "safety_categories"),
        ({"safety_categories": ["violence", "violence"]}, "safety_categories"),
        ({"safety_categories": [{"slug": "mine", "description": "d", "extra": 1}]}, "safety_categories"),
        ({"allow_edit": True}, "allow_edit"),
    ],
)
def test_invalid_settings_at_creation_are_400s_naming_the_field(site_admin, body, field):
    response = api_client(site_admin).post(
        "/api/v1/projects/", {"slug": "x1", "name": "X", **body}, format="json"
    )
    assert response.status_code == 400, response.json()
    assert response.json()["field"] == field, response.json()
    assert not Project.objects.filter(slug="x1").exists()


def test_feedback_settings_change_by_patch(project, project_admin):
    client = api_client(project_admin)
    own = [{"slug": "spam", "description": "Advertises something nobody asked for."}, "violence"]
    response = client.patch(
        f"/api/v1/projects/{project.slug}/",
        {"allow_edits": False, "safety_categories": own, "dual_preference": True, "rating_scale_max": 10},
        format="json",
    )
    assert response.status_code == 200, response.json()
    project.refresh_from_db()
    assert project.safety_categories == [
        {"slug": "spam", "description": "Advertises something nobody asked for."},
        {"slug": "violence", "description": "Encourages or helps plan violence against people."},
    ]
    assert (project.allow_edits, project.dual_preference, project.rating_scale_max) == (False, True, 10)
    assert (
        client.patch(f"/api/v1/projects/{project.slug}/", {"safety_categories": []}, format="json").json()[
            "safety_categories"
        ]
        == []
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"safety_categories": ["nope"], "name": "changed"}, "safety_categories"),
        ({"allow_edits": None, "name": "changed"}, "allow_edits"),
        ({"rating_scale_max": 0, "name": "changed"}, "rating_scale_max"),
        ({"dual_preference": "true", "name": "changed"}, "dual_preference"),
    ],
)
def test_invalid_patches_write_nothing(project, project_admin, body, field):
    response = api_client(project_admin).patch(f"/api/v1/projects/{project.slug}/", body, format="json")
    assert response.status_code == 400 and response.json()["field"] == field, response.json()
    project.refresh_from_db()
    assert project.name != "changed" and project.safety_categories == [] and project.rating_scale_max == 7


def test_a_scoring_project_cannot_turn_on_dual_preference_or_drop_its_axes(site_admin):
    client = api_client(site_admin)
    client.post("/api/v1/projects/", {"slug": "sc", "name": "S", "responses_per_task": 1}, format="json")
    for body, field in (({"dual_preference": True}, "dual_preference"), ({"rating_axes": []}, "rating_axes")):
        response = client.patch("/api/v1/projects/sc/", body, format="json")
        assert response.status_code == 400 and response.json()["field"] == field
    assert Project.objects.get(slug="sc").rating_axes == ["helpfulness", "harmlessness", "honesty"]


def test_create_project_cli_flags(db):
    call_command(
        "create_project", "cli-hh", "--name", "HH", "--scale", "5", "--safety", "default",
        "--dual-preference", "--no-edits",
    )  # fmt: skip
    project = Project.objects.get(slug="cli-hh")
    assert (project.rating_scale_max, project.dual_preference, project.allow_edits) == (5, True, False)
    assert len(project.safety_categories) == len(BUILTIN_CATEGORIES)
    call_command("create_project", "cli-score", "--name", "S", "--responses-per-task", "1", "--scale", "5",
                 "--safety", "violence,privacy")  # fmt: skip
    scoring = Project.objects.get(slug="cli-score")
    assert scoring.responses_per_task == 1 and [c["slug"] for c in scoring.safety_categories] == [
        "violence",
        "privacy",
    ]
    for args, field in ((["--scale", "11"], "rating_scale_max"), (["--safety", "nope"], "safety_categories")):
        with pytest.raises(CommandError, match=field):
            call_command("create_project", "cli-bad", "--name", "B", *args)
    with pytest.raises(CommandError, match="dual_preference"):
        call_command(
            "create_project", "cli-bad", "--name", "B", "--responses-per-task", "1", "--dual-preference"
        )
    assert not Project.objects.filter(slug="cli-bad").exists()
