"""Users, projects and memberships."""

import re

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce, Greatest, Now
from django.utils import timezone

from annotation.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from annotation.feedback.settings import FEEDBACK_FIELDS, clean_feedback_settings
from annotation.models import (
    Assignment,
    AssignmentState,
    Comparison,
    ComparisonStatus,
    Membership,
    PolicyVersion,
    Project,
    Role,
)

User = get_user_model()

DEFAULT_POLICY = "smollm2-135m-instruct"
AXIS_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
SLUG_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
MAX_LEASE_SECONDS = 24 * 3600
MAX_AUTO_ROUND_PREFERENCES = 10_000_000
EDITABLE_FIELDS = {
    "name",
    "guidelines",
    "overlap",
    "rating_axes",
    "lease_seconds",
    "gold_rate",
    "gold_feedback",
    "gold_min_accuracy",
    "gold_min_seen",
    "gold_exclude_below",
    "review_agreement_below",
    "generation_defaults",
    "auto_round_enabled",
    "auto_round_min_new_preferences",
    *FEEDBACK_FIELDS,
}


def _validate_axes(axes: list[str]) -> list[str]:
    if not isinstance(axes, list) or len(axes) > 10:
        raise ApplicationError("must be a list of at most 10 axis names", field="rating_axes")
    cleaned = [str(axis).strip().lower() for axis in axes if str(axis).strip()]
    for axis in cleaned:
        if not AXIS_RE.match(axis):
            raise ApplicationError(
                f"axis {axis!r} must be lowercase letters, digits or _ (at most 32)", field="rating_axes"
            )
    if len(set(cleaned)) != len(cleaned):
        raise ApplicationError("axis names must be unique", field="rating_axes")
    return cleaned


def user_create(*, username: str, password: str, is_admin: bool = False, email: str = "") -> AbstractBaseUser:
    """Create a user (an admin is a Django superuser who may create projects)."""
    username = username.strip()
    if not username:
        raise ApplicationError("must not be empty", field="username")
    if not password:
        raise ApplicationError("must not be empty", field="password")
    if User.objects.filter(username=username).exists():
        raise Conflict(f"user {username!r} already exists", field="username")
    try:  # the site's AUTH_PASSWORD_VALIDATORS, as Django's own forms apply them
        validate_password(password, user=User(username=username, email=email))
    except DjangoValidationError as exc:
        raise ApplicationError(" ".join(exc.messages), field="password", code="weak_password") from exc
    if is_admin:
        return User.objects.create_superuser(username=username, email=email, password=password)
    return User.objects.create_user(username=username, email=email, password=password)


@transaction.atomic
def project_create(
    *,
    slug: str,
    name: str,
    created_by: AbstractBaseUser | None = None,
    responses_per_task: int = 2,
    overlap: int = 1,
    rating_axes: list[str] | None = None,
    guidelines: str = "",
    policy: str = DEFAULT_POLICY,
    lease_seconds: int = 600,
    rating_scale_max: int = 7,
    allow_edits: bool = True,
    safety_categories: object = None,
    dual_preference: bool = False,
    **settings: object,
) -> Project:
    """Create a project, its first PolicyVersion, and make its creator an admin member. `settings`: more of
    the editable settings (the gold and review bars, ...), checked as project_update checks them."""
    if not SLUG_RE.fullmatch(slug):
        raise ApplicationError(
            "must be 1-64 lowercase letters, digits, '-' or '_', starting with a letter or digit",
            field="slug",
        )
    if not 1 <= responses_per_task <= 6:
        raise ApplicationError(
            "must be between 1 and 6 (1 = scoring, 2 = pairwise, 3..6 = ranking)", field="responses_per_task"
        )
    if overlap < 1 or overlap > 50:
        raise ApplicationError("must be between 1 and 50", field="overlap")
    _check_lease_seconds(lease_seconds)
    axes = _validate_axes(
        rating_axes if rating_axes is not None else ["helpfulness", "harmlessness", "honesty"]
    )
    feedback = clean_feedback_settings(
        {
            "rating_scale_max": rating_scale_max,
            "allow_edits": allow_edits,
            "safety_categories": [] if safety_categories is None else safety_categories,
            "dual_preference": dual_preference,
        },
        responses_per_task=responses_per_task,
        rating_axes=axes,
    )
    if not policy.strip():
        raise ApplicationError("must not be empty", field="policy")
    try:
        with transaction.atomic():
            project = Project.objects.create(
                slug=slug,
                name=name,
                guidelines=guidelines,
                responses_per_task=responses_per_task,
                overlap=overlap,
                rating_axes=axes,
                lease_seconds=lease_seconds,
                created_by=created_by,
                **feedback,
            )
    except IntegrityError as exc:
        raise Conflict(f"a project with slug {slug!r} already exists", field="slug") from exc
    policy_version = PolicyVersion.objects.create(project=project, version=1, model_ref=policy.strip())
    project.current_policy = policy_version
    project.save(update_fields=["current_policy"])
    if settings:
        project_update(project=project, **settings)
    if created_by is not None:
        Membership.objects.create(project=project, user=created_by, role=Role.ADMIN)
    return project


def _check_lease_seconds(value: int) -> None:
    if not 30 <= value <= MAX_LEASE_SECONDS:
        raise ApplicationError(f"must be between 30 and {MAX_LEASE_SECONDS} (a day)", field="lease_seconds")


@transaction.atomic
def project_update(*, project: Project, **changes: object) -> Project:
    """Change a project's editable settings (responses_per_task is fixed once comparisons exist)."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ApplicationError("cannot be changed", field=sorted(unknown)[0])
    if "rating_axes" in changes:
        changes["rating_axes"] = _validate_axes(changes["rating_axes"])  # type: ignore[arg-type]
    if "overlap" in changes and not 1 <= int(changes["overlap"]) <= 50:  # type: ignore[call-overload]
        raise ApplicationError("must be between 1 and 50", field="overlap")
    if "lease_seconds" in changes:
        _check_lease_seconds(int(changes["lease_seconds"]))  # type: ignore[call-overload]
    if "auto_round_min_new_preferences" in changes:
        value = int(changes["auto_round_min_new_preferences"])  # type: ignore[call-overload]
        if not 1 <= value <= MAX_AUTO_ROUND_PREFERENCES:
            raise ApplicationError(
                f"must be between 1 and {MAX_AUTO_ROUND_PREFERENCES}", field="auto_round_min_new_preferences"
            )
    if "gold_rate" in changes and not 0 <= float(changes["gold_rate"]) <= 1:  # type: ignore[arg-type]
        raise ApplicationError("must be between 0 and 1", field="gold_rate")
    for name in ("gold_min_accuracy", "review_agreement_below"):  # issue 12's bars
        if name in changes and not 0 <= float(changes[name]) <= 1:  # type: ignore[arg-type]
            raise ApplicationError("must be between 0 and 1", field=name)
    if "gold_min_seen" in changes and not 1 <= int(changes["gold_min_seen"]) <= 10_000:  # type: ignore[call-overload]
        raise ApplicationError("must be between 1 and 10000", field="gold_min_seen")
    if any(name in changes for name in (*FEEDBACK_FIELDS, "rating_axes")):
        changes.update(
            clean_feedback_settings(
                changes,
                responses_per_task=project.responses_per_task,
                rating_axes=changes.get("rating_axes", project.rating_axes),  # type: ignore[arg-type]
            )
        )
    for key, value in changes.items():
        setattr(project, key, value)
    project.save(update_fields=[*changes.keys(), "updated_at"])
    if "overlap" in changes:
        _comparisons_follow_overlap(project=project)
    return project


def _comparisons_follow_overlap(*, project: Project) -> None:
    """A new overlap applies to the project's ordinary comparisons: more wanted reopens completed ones,
    fewer closes those that already have enough (what was received is never taken back)."""
    Comparison.objects.filter(project=project, is_gold=False).update(
        annotations_wanted=Greatest(Value(project.overlap), F("annotations_received")),
        status=Case(
            When(annotations_received__gte=project.overlap, then=Value(ComparisonStatus.COMPLETE)),
            default=Value(ComparisonStatus.OPEN),
        ),
        completed_at=Case(
            When(annotations_received__gte=project.overlap, then=Coalesce(F("completed_at"), Now())),
            default=None,
        ),
    )


@transaction.atomic
def _check_admin_change(*, project: Project, membership: Membership, by: AbstractBaseUser | None) -> None:
    """An admin's role is theirs or a site admin's to take away (`by` None: the machine's own CLI), and a
    project keeps at least one admin."""
    if membership.role != Role.ADMIN:
        return
    if by is not None and not by.is_superuser and by.pk != membership.user_id:
        raise PermissionDenied(
            "Only a site admin can demote or remove another admin; an admin may step down themselves.",
            field="username",
        )
    if not project.memberships.filter(role=Role.ADMIN).exclude(pk=membership.pk).exists():
        raise Conflict(
            "The project would have no admin left: make someone else admin first.", field="username"
        )


def membership_set(
    *, project: Project, username: str, role: str, by: AbstractBaseUser | None = None
) -> Membership:
    """Add a user to a project with a role, or change the role of an existing member."""
    if role not in Role.values:
        raise ApplicationError(f"must be one of {', '.join(Role.values)}", field="role")
    user = User.objects.filter(username=username).first()
    if user is None:
        raise NotFound(f"no user {username!r}", field="username")
    with transaction.atomic():
        membership, created = Membership.objects.select_for_update().get_or_create(
            project=project, user=user, defaults={"role": role}
        )
        if not created and membership.role != role:
            _check_admin_change(project=project, membership=membership, by=by)
            membership.role = role
            membership.save(update_fields=["role"])
    return membership


def membership_remove(*, project: Project, username: str, by: AbstractBaseUser | None = None) -> None:
    """Take a user off a project; their submitted annotations stay (they are the project's data)."""
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update().filter(project=project, user__username=username).first()
        )
        if membership is None:
            raise NotFound(f"{username!r} is not a member of this project", field="username")
        _check_admin_change(project=project, membership=membership, by=by)
        # Their open leases go back to the queue now rather than when they time out.
        now = timezone.now()
        Assignment.objects.filter(
            project=project, annotator_id=membership.user_id, state=AssignmentState.LEASED
        ).update(state=AssignmentState.EXPIRED, leased_until=now, updated_at=now)
        membership.delete()
