"""/projects/new/, /p/<slug>/settings/ and /p/<slug>/members/: forms over the API's serializers and the
projects services, so the page says what the API says and writes nothing on bad input."""

import pytest
from django.test import Client

from annotation.models import Membership, Project, Role
from tests.factories import UserFactory, member
from tests.helpers import api_client

pytestmark = pytest.mark.django_db

SETTINGS = {
    "name": "Renamed",
    "guidelines": "# Be kind",
    "overlap": "3",
    "rating_axes": "helpfulness, honesty",
    "lease_seconds": "900",
    "gold_rate": "0.1",
    "generation_defaults": '{"temperature": 0.7}',
    "auto_round_enabled": "true",
    "auto_round_min_new_preferences": "50",
}


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_settings_form_saves_every_field_through_the_service(project, project_admin):
    response = _client(project_admin).post(f"/p/{project.slug}/settings/", SETTINGS)
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.name, project.guidelines, project.overlap, project.lease_seconds) == (
        "Renamed", "# Be kind", 3, 900,
    )  # fmt: skip
    assert project.rating_axes == ["helpfulness", "honesty"] and project.gold_rate == 0.1
    assert project.generation_defaults == {"temperature": 0.7}
    assert project.auto_round_enabled is True and project.auto_round_min_new_preferences == 50

    unchecked = {k: v for k, v in SETTINGS.items() if k != "auto_round_enabled"}
    _client(project_admin).post(f"/p/{project.slug}/settings/", unchecked)
    project.refresh_from_db()
    assert project.auto_round_enabled is False  # an unticked box is false


def test_settings_page_shows_the_current_values_under_the_api_names(project, project_admin):
    html = _client(project_admin).get(f"/p/{project.slug}/settings/").content.decode()
    for name in ("name", "guidelines", "overlap", "rating_axes", "lease_seconds", "gold_rate"):
        assert f'name="{name}"' in html
    assert 'value="helpfulness, harmlessness"' in html


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("overlap", "0"),
        ("lease_seconds", "5"),
        ("gold_rate", "2"),
        ("rating_axes", "Bad Axis"),
        ("overlap", "x"),
    ],
)
def test_a_bad_setting_is_the_apis_message_beside_its_field_and_nothing_saved(
    project, project_admin, field, value
):
    before = Project.objects.filter(pk=project.pk).values().get()
    response = _client(project_admin).post(f"/p/{project.slug}/settings/", {**SETTINGS, field: value})
    assert response.status_code == 400
    html = response.content.decode()
    api_value = [value] if field == "rating_axes" else value
    api = api_client(project_admin).patch(
        f"/api/v1/projects/{project.slug}/", {field: api_value}, format="json"
    )
    assert api.status_code == 400 and api.json()["field"] == field
    message = api.json()["detail"].removeprefix(f"{field}: ")
    assert f'data-error-for="{field}">{message}' in html.replace("&#x27;", "'")
    after = Project.objects.filter(pk=project.pk).values().get()
    assert after == before


def test_an_unknown_field_is_an_error_naming_it(project, project_admin):
    response = _client(project_admin).post(f"/p/{project.slug}/settings/", {**SETTINGS, "slug": "other"})
    assert response.status_code == 400 and b"slug: unknown field" in response.content
    project.refresh_from_db()
    assert project.name != "Renamed"


def test_new_project_by_a_site_admin(site_admin):
    response = _client(site_admin).post(
        "/projects/new/",
        {"slug": "fresh", "name": "Fresh", "responses_per_task": "3", "overlap": "2", "rating_axes": "clear",
         "lease_seconds": "600", "policy": "tiny-causal-lm", "guidelines": "Hello"},
    )  # fmt: skip
    assert response.status_code == 302 and response["Location"] == "/p/fresh/data/"
    project = Project.objects.get(slug="fresh")
    assert (project.responses_per_task, project.overlap, project.rating_axes) == (3, 2, ["clear"])
    assert project.current_policy.model_ref == "tiny-causal-lm"
    assert Membership.objects.get(project=project).user == site_admin

    again = _client(site_admin).post("/projects/new/", {"slug": "fresh", "name": "Again"})
    assert again.status_code == 400 and b"already exists" in again.content
    bad = _client(site_admin).post(
        "/projects/new/", {"slug": "fresh2", "name": "X", "responses_per_task": "9"}
    )
    assert (
        bad.status_code == 400
        and b'data-error-for="responses_per_task">must be between 1 and 6' in bad.content
    )
    assert not Project.objects.filter(slug="fresh2").exists()


def test_preview_is_sanitised_markdown(project_admin):
    response = _client(project_admin).post(
        "/projects/preview/", {"text": "**bold** <script>alert(1)</script> <img src=x onerror=alert(1)>"}
    )
    html = response.content.decode()
    assert "<strong>bold</strong>" in html
    assert "<script" not in html and "<img" not in html  # shown as text, inert


def test_preview_needs_the_csrf_token(project_admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(project_admin)
    assert client.post("/projects/preview/", {"text": "x"}).status_code == 403


def test_members_add_change_and_remove(project, project_admin):
    client = _client(project_admin)
    newcomer = UserFactory(username="newcomer")
    assert (
        client.post(f"/p/{project.slug}/members/", {"username": "newcomer", "role": "annotator"}).status_code
        == 302
    )
    assert Membership.objects.get(project=project, user=newcomer).role == Role.ANNOTATOR
    client.post(f"/p/{project.slug}/members/", {"username": "newcomer", "role": "reviewer"})
    assert Membership.objects.get(project=project, user=newcomer).role == Role.REVIEWER
    page = client.get(f"/p/{project.slug}/members/").content.decode()
    assert 'data-member="newcomer"' in page and "newcomer is now reviewer." in page
    client.post(f"/p/{project.slug}/members/newcomer/remove/")
    assert not Membership.objects.filter(project=project, user=newcomer).exists()


def test_members_errors_are_the_services_messages(project, project_admin):
    client = _client(project_admin)
    unknown = client.post(f"/p/{project.slug}/members/", {"username": "nobody", "role": "annotator"})
    assert (
        unknown.status_code == 400
        and b'data-error-for="username">no user &#x27;nobody&#x27;' in unknown.content
    )
    bad_role = client.post(
        f"/p/{project.slug}/members/", {"username": project_admin.username, "role": "boss"}
    )
    assert bad_role.status_code == 400 and b'data-error-for="role"' in bad_role.content


def test_the_last_admin_cannot_remove_or_demote_themselves(project, project_admin):
    client = _client(project_admin)
    response = client.post(f"/p/{project.slug}/members/{project_admin.username}/remove/", follow=True)
    assert "no admin left" in response.content.decode()
    demote = client.post(
        f"/p/{project.slug}/members/", {"username": project_admin.username, "role": "annotator"}
    )
    assert demote.status_code == 400 and b"no admin left" in demote.content
    assert Membership.objects.get(project=project, user=project_admin).role == Role.ADMIN
    # With a second admin, stepping down works, and the former admin is sent home.
    member(project, Role.ADMIN)
    gone = client.post(f"/p/{project.slug}/members/{project_admin.username}/remove/")
    assert gone.status_code == 302 and gone["Location"] == "/"
    assert not Membership.objects.filter(project=project, user=project_admin).exists()


def test_feedback_settings_through_the_forms(site_admin):
    """The loosely typed feedback settings are drawn as the controls their values are (checkboxes, a number,
    JSON), and the form sends them in the API's types."""
    client = _client(site_admin)
    page = client.get("/projects/new/").content.decode()
    assert 'type="checkbox" id="f-dual_preference" name="dual_preference"' in page
    created = client.post(
        "/projects/new/",
        {"slug": "hh", "name": "HH", "rating_scale_max": "5", "allow_edits": "1", "dual_preference": "1",
         "safety_categories": '"default"', "lease_seconds": "600"},
    )  # fmt: skip
    assert created.status_code == 302, created.content.decode()[-2000:]
    project = Project.objects.get(slug="hh")
    assert (project.rating_scale_max, project.allow_edits, project.dual_preference) == (5, True, True)
    assert len(project.safety_categories) > 5
    changed = client.post("/p/hh/settings/", {"name": "HH", "rating_scale_max": "11"})
    assert changed.status_code == 400 and b'data-error-for="rating_scale_max"' in changed.content
    client.post("/p/hh/settings/", {"name": "HH", "rating_scale_max": "4", "lease_seconds": "600"})
    project.refresh_from_db()
    assert (project.rating_scale_max, project.allow_edits, project.dual_preference) == (4, False, False)
