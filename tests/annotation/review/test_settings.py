"""The gold and review settings: given at creation or with PATCH, checked, a 400 naming the field and
nothing written when out of range."""

import pytest

from annotation.models import Project
from tests.helpers import api_client

SETTINGS = {
    "gold_rate": 0.1,
    "gold_feedback": True,
    "gold_min_accuracy": 0.8,
    "gold_min_seen": 10,
    "gold_exclude_below": True,
    "review_agreement_below": 0.7,
}


def test_a_site_admin_creates_a_project_with_gold_and_review_settings(site_admin):
    response = api_client(site_admin).post("/api/v1/projects/", {"slug": "g1", "name": "G", **SETTINGS})
    assert response.status_code == 201
    assert {name: response.json()[name] for name in SETTINGS} == SETTINGS
    project = Project.objects.get(slug="g1")
    assert (project.gold_min_seen, project.gold_exclude_below) == (10, True)


@pytest.mark.parametrize(
    ("name", "value"),
    [("gold_min_accuracy", 1.5), ("review_agreement_below", -0.1), ("gold_min_seen", 0), ("gold_rate", 2)],
)
def test_out_of_range_settings_are_a_400_naming_the_field_and_write_nothing(
    site_admin, project, project_admin, name, value
):
    created = api_client(site_admin).post("/api/v1/projects/", {"slug": "g2", "name": "G", name: value})
    assert created.status_code == 400 and created.json()["field"] == name
    assert not Project.objects.filter(slug="g2").exists()
    patched = api_client(project_admin).patch(f"/api/v1/projects/{project.slug}/", {name: value})
    assert patched.status_code == 400 and patched.json()["field"] == name
    fresh = Project.objects.get(pk=project.pk)
    assert getattr(fresh, name) == getattr(project, name)


def test_patch_changes_the_settings(project, project_admin):
    response = api_client(project_admin).patch(f"/api/v1/projects/{project.slug}/", SETTINGS)
    assert response.status_code == 200
    assert {name: response.json()[name] for name in SETTINGS} == SETTINGS
