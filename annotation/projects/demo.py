"""The local demo (`manage.py seed_demo`): demo users, a pairwise project and bundled prompts with two
pre-written responses each. Idempotent: whatever already exists is left exactly as it is."""

import os
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from annotation.data.imports import ImportResult, prompts_import
from annotation.models import Membership, Project, Role
from annotation.projects.feedback_demo import FeedbackDemo, feedback_demos
from annotation.projects.services import membership_set, project_create, user_create

User = get_user_model()

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
PROMPTS_PATH = DEMO_DIR / "prompts.jsonl"
HARMFUL_PROMPTS_PATH = DEMO_DIR / "harmful_prompts.jsonl"  # the helpful-and-harmless demo's extra prompts
GUIDELINES_PATH = DEMO_DIR / "guidelines.md"

PROJECT_SLUG = "demo"
PROJECT_NAME = "Demo: helpful assistant"
RATING_AXES = ["helpfulness", "harmlessness", "honesty"]
OVERLAP = 2

ADMIN_USERNAME = "admin"
ANNOTATOR_USERNAMES = ("annotator1", "annotator2")
ADMIN_PASSWORD_ENV = "PREFER_DEMO_ADMIN_PASSWORD"
ANNOTATOR_PASSWORD_ENV = "PREFER_DEMO_ANNOTATOR_PASSWORD"
# Deliberately readable: this is a local demo. Set the variables above for anything reachable by others.
DEFAULT_ADMIN_PASSWORD = "admin-demo-pass"
DEFAULT_ANNOTATOR_PASSWORD = "annotate-demo-pass"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    created: bool
    is_site_admin: bool
    # The password to log in with when it is known: the one just set, or an existing user's password that
    # still equals the configured demo password. None: an existing user whose password is something else.
    password: str | None


@dataclass(frozen=True)
class DemoSeedResult:
    project: Project
    project_created: bool
    memberships_created: int
    logins: list[DemoLogin]
    imported: ImportResult
    feedback_demos: list[FeedbackDemo]  # the helpful-and-harmless and the scoring demo projects


def demo_passwords() -> tuple[str, str]:
    """The (admin, annotator) passwords for newly created demo users: the environment's, else the defaults."""
    admin = os.environ.get(ADMIN_PASSWORD_ENV) or DEFAULT_ADMIN_PASSWORD
    annotator = os.environ.get(ANNOTATOR_PASSWORD_ENV) or DEFAULT_ANNOTATOR_PASSWORD
    return admin, annotator


def _ensure_user(
    username: str, password: str, *, is_admin: bool
) -> tuple[AbstractBaseUser, bool, str | None]:
    user = User.objects.filter(username=username).first()
    if user is None:
        return user_create(username=username, password=password, is_admin=is_admin), True, password
    # Never change an existing password; only report it when the demo one still works.
    return user, False, password if user.check_password(password) else None


def _ensure_member(project: Project, user: AbstractBaseUser, role: str) -> bool:
    if Membership.objects.filter(project=project, user=user).exists():
        return False  # an existing membership keeps whatever role it has now
    membership_set(project=project, username=user.get_username(), role=role)
    return True


@transaction.atomic
def demo_seed(*, admin_password: str | None = None, annotator_password: str | None = None) -> DemoSeedResult:
    """Create the demo users, the `demo` project and its memberships where missing, then import the bundled
    prompts (ids already in the project are skipped as duplicates). Nothing that exists is changed."""
    default_admin, default_annotator = demo_passwords()
    admin_password = admin_password or default_admin
    annotator_password = annotator_password or default_annotator

    logins: list[DemoLogin] = []
    admin, created, known = _ensure_user(ADMIN_USERNAME, admin_password, is_admin=True)
    logins.append(DemoLogin(ADMIN_USERNAME, Role.ADMIN, created, bool(admin.is_superuser), known))
    annotators = []
    for username in ANNOTATOR_USERNAMES:
        user, created, known = _ensure_user(username, annotator_password, is_admin=False)
        annotators.append(user)
        logins.append(DemoLogin(username, Role.ANNOTATOR, created, bool(user.is_superuser), known))

    project = Project.objects.filter(slug=PROJECT_SLUG).first()
    project_created = project is None
    memberships_created = 0
    if project is None:
        project = project_create(
            slug=PROJECT_SLUG,
            name=PROJECT_NAME,
            created_by=admin,
            responses_per_task=2,
            overlap=OVERLAP,
            rating_axes=list(RATING_AXES),
            guidelines=GUIDELINES_PATH.read_text(encoding="utf-8"),
        )
        memberships_created += 1  # project_create makes its creator an admin member
    else:
        memberships_created += _ensure_member(project, admin, Role.ADMIN)
    for user in annotators:
        memberships_created += _ensure_member(project, user, Role.ANNOTATOR)

    with PROMPTS_PATH.open("rb") as lines:
        imported = prompts_import(project=project, lines=lines)
    extra = feedback_demos(
        admin=admin, annotators=annotators, prompt_files=[PROMPTS_PATH], harmful_file=HARMFUL_PROMPTS_PATH
    )
    return DemoSeedResult(
        project=project,
        project_created=project_created,
        memberships_created=memberships_created,
        logins=logins,
        imported=imported,
        feedback_demos=extra,
    )
