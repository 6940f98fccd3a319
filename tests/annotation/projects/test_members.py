"""Members: who may demote or remove an admin, the last admin, removing a member (issue 14)."""

from annotation.models import Assignment, AssignmentState, Membership, Role
from tests.factories import UserFactory, make_comparisons, member
from tests.helpers import api_client, hold_lease


def members_url(project, username=""):
    return f"/api/v1/projects/{project.slug}/members/" + (f"{username}/" if username else "")


def test_an_admin_cannot_demote_or_remove_another_admin(project, project_admin):
    other_admin = member(project, Role.ADMIN)
    client = api_client(project_admin)
    demote = client.post(members_url(project), {"username": other_admin.username, "role": "annotator"})
    assert demote.status_code == 403 and demote.json()["field"] == "username"
    assert client.delete(members_url(project, other_admin.username)).status_code == 403
    assert Membership.objects.get(project=project, user=other_admin).role == Role.ADMIN
    # They may step down themselves while another admin remains.
    step_down = client.post(members_url(project), {"username": project_admin.username, "role": "reviewer"})
    assert step_down.status_code == 201 and step_down.json()["role"] == "reviewer"


def test_a_site_admin_may_demote_an_admin_but_never_the_last(project, project_admin, site_admin):
    client = api_client(site_admin)
    last = client.post(members_url(project), {"username": project_admin.username, "role": "annotator"})
    assert last.status_code == 409 and "no admin left" in last.json()["detail"]
    assert client.delete(members_url(project, project_admin.username)).status_code == 409
    member(project, Role.ADMIN)
    assert client.delete(members_url(project, project_admin.username)).status_code == 204
    assert not Membership.objects.filter(project=project, user=project_admin).exists()


def test_removing_a_member_releases_their_leases_and_keeps_their_work(project, project_admin, annotator):
    (comparison,) = make_comparisons(project, 1)
    hold_lease(comparison, annotator)
    client = api_client(project_admin)
    assert client.delete(members_url(project, annotator.username)).status_code == 204
    assignment = Assignment.objects.get(comparison=comparison, annotator=annotator)
    assert assignment.state == AssignmentState.EXPIRED
    assert api_client(annotator).get(f"/api/v1/projects/{project.slug}/").status_code == 404
    assert client.delete(members_url(project, annotator.username)).status_code == 404
    assert client.delete(members_url(project, UserFactory().username)).status_code == 404


def test_only_project_admins_manage_members(project, annotator):
    reviewer = member(project, Role.REVIEWER)
    assert api_client(reviewer).delete(members_url(project, annotator.username)).status_code == 403
    assert api_client(annotator).delete(members_url(project, reviewer.username)).status_code == 403


def test_new_users_pass_the_password_validators(db):
    import pytest

    from annotation.errors import ApplicationError
    from annotation.projects.services import user_create

    for weak in ("short", "12345678901", "password123"):
        with pytest.raises(ApplicationError) as excinfo:
            user_create(username="newbie", password=weak)
        assert excinfo.value.field == "password" and excinfo.value.message
    assert user_create(username="newbie", password="a-long-unusual-phrase-42").username == "newbie"


def test_seed_demo_refuses_production_without_its_own_passwords(db, settings, monkeypatch):
    import pytest
    from django.core.management import CommandError, call_command

    settings.PRODUCTION = True
    monkeypatch.delenv("PREFER_DEMO_ADMIN_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="published passwords"):
        call_command("seed_demo")
    assert not Membership.objects.exists()
