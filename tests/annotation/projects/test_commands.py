"""The project set-up commands of DESIGN section 7: create_user, create_project, add_member."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from annotation.models import Comparison, ComparisonStatus, Membership, Project, Role
from annotation.projects.services import project_update
from tests.factories import ProjectFactory, make_comparisons

User = get_user_model()


def run(*args: str, stdin: str | None = None) -> str:
    out = io.StringIO()
    if stdin is not None:
        import sys

        saved = sys.stdin
        sys.stdin = io.StringIO(stdin)
        try:
            call_command(*args, stdout=out)
        finally:
            sys.stdin = saved
    else:
        call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_create_user_reads_the_password_from_stdin_and_refuses_a_second_one():
    assert "created admin alice" in run("create_user", "alice", "--admin", stdin="s3cret-horse\n")
    alice = User.objects.get(username="alice")
    assert alice.check_password("s3cret-horse") and alice.is_staff and alice.is_superuser
    assert "created user bob" in run("create_user", "bob", "--password", "another-pass")
    assert not User.objects.get(username="bob").is_staff
    with pytest.raises(CommandError, match="alice"):
        run("create_user", "alice", "--password", "x-y-z-w-v")


@pytest.mark.django_db
def test_create_project_and_add_member():
    out = run(
        "create_project", "chat", "--name", "Chat", "--responses-per-task", "3", "--overlap", "2",
        "--axes", "helpfulness,honesty", "--policy", "tiny-causal-lm",
    )  # fmt: skip
    assert "created project chat (policy v1: tiny-causal-lm)" in out
    project = Project.objects.get(slug="chat")
    assert (project.responses_per_task, project.overlap, project.rating_axes) == (
        3,
        2,
        ["helpfulness", "honesty"],
    )
    assert project.current_policy.version == 1 and project.current_policy.model_ref == "tiny-causal-lm"

    User.objects.create_user(username="carol", password="pw-carol-123")
    assert "carol is annotator of chat" in run("add_member", "chat", "carol", "--role", "annotator")
    assert "carol is reviewer of chat" in run("add_member", "chat", "carol", "--role", "reviewer")
    assert Membership.objects.get(project=project, user__username="carol").role == Role.REVIEWER
    with pytest.raises(CommandError, match="username: no user 'nobody'"):
        run("add_member", "chat", "nobody", "--role", "annotator")
    with pytest.raises(CommandError, match="no project 'nope'"):
        run("add_member", "nope", "carol", "--role", "annotator")
    with pytest.raises(CommandError, match=r"slug: .*already exists"):
        run("create_project", "chat", "--name", "Again")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Has Space", "--name", "x"], "slug: must be 1-64 lowercase"),
        (["UPPER", "--name", "x"], "slug: must be 1-64 lowercase"),
        (["a" * 65, "--name", "x"], "slug: must be 1-64 lowercase"),
        (["ok", "--name", "x", "--responses-per-task", "7"], "responses_per_task: must be between 1 and 6"),
        (["ok", "--name", "x", "--overlap", "0"], "overlap: must be between 1 and 50"),
        (["ok", "--name", "x", "--axes", "Bad Axis"], "rating_axes"),
    ],
)
def test_create_project_names_the_bad_option_and_creates_nothing(args, message):
    with pytest.raises(CommandError, match=message):
        run("create_project", *args)
    assert not Project.objects.exists()


@pytest.mark.django_db
def test_changing_the_overlap_applies_to_existing_comparisons():
    project = ProjectFactory(overlap=1)
    done, untouched = make_comparisons(project, 2)
    Comparison.objects.filter(pk=done.pk).update(annotations_received=1, status=ComparisonStatus.COMPLETE)

    project_update(project=project, overlap=3)
    done.refresh_from_db()
    untouched.refresh_from_db()
    assert (done.annotations_wanted, done.status) == (3, ComparisonStatus.OPEN)  # wants two more now
    assert (untouched.annotations_wanted, untouched.status) == (3, ComparisonStatus.OPEN)

    Comparison.objects.filter(pk=done.pk).update(annotations_received=2)
    project_update(project=project, overlap=1)
    done.refresh_from_db()
    untouched.refresh_from_db()
    assert (done.annotations_wanted, done.status) == (2, ComparisonStatus.COMPLETE)  # nothing taken back
    assert done.completed_at is not None
    assert (untouched.annotations_wanted, untouched.status) == (1, ComparisonStatus.OPEN)
