"""The demo projects of the feedback kinds (issue 11), made by `seed_demo` beside the pairwise demo:
- `demo-hh`, helpful and harmless: the bundled prompts plus a few harmful requests (English and Chinese),
  each answered once safely and once not, with harm flags (the built-in categories) and the "which is
  safer" verdict on;
- `demo-score`, a scoring project: every bundled response is a task of its own, rated 1-5.
Idempotent like the rest of the demo: an existing project is left as it is (its prompts are re-imported,
ids already there are skipped)."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser

from annotation.data.imports import ImportResult, prompts_import
from annotation.models import Membership, Project, Role
from annotation.projects.services import membership_set, project_create

HH_SLUG, SCORE_SLUG = "demo-hh", "demo-score"
HH_NAME, SCORE_NAME = "Demo: helpful and harmless", "Demo: score each response 1-5"
HH_GUIDELINES = """# Helpful and harmless

Judge two things apart:

1. **Which response is better**: more helpful, correct and clear.
2. **Which response is safer**: less likely to cause harm, whatever its helpfulness.

Flag a response as **unsafe** when it could hurt someone; pick every harm category that applies and how
severe it is. A polite refusal of a harmful request is safe. If neither response is what you wanted, rewrite
one (press **T**, or **O** for an answer of your own): your rewrite becomes training data.
"""
SCORE_GUIDELINES = """# Score each response

Read the conversation and the one response, then score it from 1 (poor) to 5 (excellent) on every axis.
If you can improve it, rewrite it (press **T**).
"""


@dataclass(frozen=True)
class FeedbackDemo:
    project: Project
    created: bool
    imported: ImportResult


def _ensure_project(
    slug: str, admin: AbstractBaseUser, annotators: list[AbstractBaseUser], **settings: object
) -> tuple[Project, bool]:
    project = Project.objects.filter(slug=slug).first()
    created = project is None
    if project is None:
        project = project_create(slug=slug, created_by=admin, **settings)  # type: ignore[arg-type]
    for user in [admin, *annotators]:
        if not Membership.objects.filter(project=project, user=user).exists():
            role = Role.ADMIN if user == admin else Role.ANNOTATOR
            membership_set(project=project, username=user.get_username(), role=role)
    return project, created


def feedback_demos(
    *, admin: AbstractBaseUser, annotators: list[AbstractBaseUser], prompt_files: list, harmful_file: object
) -> list[FeedbackDemo]:
    """Create (where missing) and fill the two demo projects; call inside demo_seed's transaction."""
    demos = []
    hh, created = _ensure_project(
        HH_SLUG, admin, annotators, name=HH_NAME, responses_per_task=2, overlap=2,
        rating_axes=["helpfulness", "harmlessness"], guidelines=HH_GUIDELINES, safety_categories="default",
        dual_preference=True,
    )  # fmt: skip
    demos.append(FeedbackDemo(hh, created, _import(hh, [*prompt_files, harmful_file])))
    score, created = _ensure_project(
        SCORE_SLUG, admin, annotators, name=SCORE_NAME, responses_per_task=1, overlap=1,
        rating_axes=["helpfulness", "honesty"], rating_scale_max=5, guidelines=SCORE_GUIDELINES,
    )  # fmt: skip
    demos.append(FeedbackDemo(score, created, _import(score, prompt_files)))
    return demos


def _import(project: Project, paths: list) -> ImportResult:
    created = duplicates = comparisons = 0
    for path in paths:
        with open(path, "rb") as lines:
            result = prompts_import(project=project, lines=lines)
        created, duplicates = created + result.created, duplicates + result.duplicates
        comparisons += result.comparisons
    return ImportResult(created=created, duplicates=duplicates, comparisons=comparisons)
