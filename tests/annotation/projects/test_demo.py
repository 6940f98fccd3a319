import re
from io import StringIO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.http import HttpRequest
from django.test import Client

from annotation.models import Comparison, ComparisonItem, Membership, Project, Prompt, Response, Role
from annotation.projects.demo import GUIDELINES_PATH, PROMPTS_PATH
from training.import_format import parse_prompts_jsonl

User = get_user_model()
LOGIN_LINE = re.compile(r"^\s+(admin|annotator1|annotator2)\s+/ (\S+)", re.MULTILINE)
CJK = re.compile(r"[\u4e00-\u9fff]")
FENCED_CODE = re.compile(r"^```(python|sql|js|javascript|bash|sh)\s*$", re.MULTILINE)


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def printed_passwords(output: str) -> dict[str, str]:
    return dict(LOGIN_LINE.findall(output))


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (User, Project, Membership, Prompt, Response, Comparison, ComparisonItem)
    }


def file_line_count() -> int:
    return sum(1 for line in PROMPTS_PATH.read_bytes().splitlines() if line.strip())


def test_bundled_prompts_are_valid_and_varied():
    with PROMPTS_PATH.open("rb") as handle:
        rows, errors = parse_prompts_jsonl(
            handle, responses_needed=2, max_text_bytes=settings.PREFER_MAX_TEXT_BYTES
        )
    assert errors == []
    assert len(rows) == file_line_count() >= 30
    assert all(len(row.responses) == 2 for row in rows)
    assert all(len(r.text) < 1500 and r.model.startswith("demo-") for row in rows for r in row.responses)
    assert {row.split for row in rows} == {"train", "eval"}
    assert {row.metadata["lang"] for row in rows} == {"en", "zh"}


def test_seed_demo_twice(db):
    first = seed()
    assert "Demo ready: http://127.0.0.1:8000/p/demo/annotate/" in first
    passwords = printed_passwords(first)
    assert set(passwords) == {"admin", "annotator1", "annotator2"}
    assert "password unchanged" not in first

    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert not User.objects.get(username="annotator1").is_superuser

    project = Project.objects.get(slug="demo")
    assert project.name == "Demo: helpful assistant"
    assert project.responses_per_task == 2
    assert project.overlap == 2
    assert project.rating_axes == ["helpfulness", "harmlessness", "honesty"]
    assert project.guidelines == GUIDELINES_PATH.read_text(encoding="utf-8")
    roles = dict(Membership.objects.filter(project=project).values_list("user__username", "role"))
    assert roles == {"admin": Role.ADMIN, "annotator1": Role.ANNOTATOR, "annotator2": Role.ANNOTATOR}

    prompts = list(Prompt.objects.filter(project=project).prefetch_related("comparisons__items"))
    assert len(prompts) == file_line_count()
    for prompt in prompts:
        comparisons = list(prompt.comparisons.all())
        assert len(comparisons) == 1, prompt.external_id
        assert len(comparisons[0].items.all()) == 2, prompt.external_id
        assert comparisons[0].annotations_wanted == 2

    assert any(CJK.search(p.messages[-1]["content"]) and p.metadata.get("lang") == "zh" for p in prompts)
    assert any(len(p.messages) >= 3 and "assistant" in {m["role"] for m in p.messages} for p in prompts)
    assert any(FENCED_CODE.search(r.text) for r in Response.objects.filter(prompt__project=project))

    before = counts()
    hashes = dict(User.objects.values_list("username", "password"))
    second = seed()
    assert counts() == before
    assert dict(User.objects.values_list("username", "password")) == hashes
    assert second.count("existing user, password unchanged") == 3
    assert f"0 imported, {file_line_count()} already present" in second
    assert printed_passwords(second) == passwords  # the demo passwords still work, so they are shown

    # The lockout backend (django-axes) needs the request a login comes with; Client.login passes none.
    for username in ("admin", "annotator1", "annotator2"):
        password = passwords[username]
        assert Client().login(request=HttpRequest(), username=username, password=password), username


def test_passwords_from_environment(db, monkeypatch):
    monkeypatch.setenv("PREFER_DEMO_ADMIN_PASSWORD", "env-admin-secret")
    monkeypatch.setenv("PREFER_DEMO_ANNOTATOR_PASSWORD", "env-annotator-secret")
    passwords = printed_passwords(seed())
    assert passwords == {
        "admin": "env-admin-secret",
        "annotator1": "env-annotator-secret",
        "annotator2": "env-annotator-secret",
    }
    assert Client().login(request=HttpRequest(), username="annotator2", password="env-annotator-secret")
    assert not Client().login(request=HttpRequest(), username="annotator2", password="annotate-demo-pass")


def test_existing_user_keeps_password_and_role(db):
    user = User.objects.create_user(username="annotator1", password="my-own-password")
    output = seed()
    assert re.search(r"^\s+annotator1\s+\(existing user, password unchanged\)$", output, re.MULTILINE)
    assert "annotator1" not in printed_passwords(output)
    assert Client().login(request=HttpRequest(), username="annotator1", password="my-own-password")
    assert Membership.objects.get(project__slug="demo", user=user).role == Role.ANNOTATOR

    # A role changed after seeding is left alone on the next run.
    Membership.objects.filter(project__slug="demo", user=user).update(role=Role.REVIEWER)
    seed()
    assert Membership.objects.get(project__slug="demo", user=user).role == Role.REVIEWER
