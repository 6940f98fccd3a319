"""Who may see what: every project query goes through here, scoped to the user's memberships."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import F, OuterRef, QuerySet, Subquery, Value

from annotation.models import Comparison, Membership, Project, Role
from annotation.services.errors import NotFound, PermissionDenied

ROLE_RANK = {Role.ANNOTATOR: 1, Role.REVIEWER: 2, Role.ADMIN: 3}


def is_site_admin(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(user.is_authenticated and user.is_superuser)


def projects_for_user(*, user: AbstractBaseUser) -> QuerySet[Project]:
    """Projects the user may see (all for site admins, else those they are a member of), each annotated
    with `my_role`."""
    if is_site_admin(user):
        return Project.objects.annotate(my_role=Value(Role.ADMIN.value)).order_by("slug")
    return (
        Project.objects.filter(memberships__user=user)
        .annotate(my_role=F("memberships__role"))
        .order_by("slug")
    )


def role_in_project(*, user: AbstractBaseUser, project: Project) -> str | None:
    if is_site_admin(user):
        return Role.ADMIN
    return Membership.objects.filter(project=project, user=user).values_list("role", flat=True).first()


def project_for_user(
    *, user: AbstractBaseUser, slug: str, min_role: str = Role.ANNOTATOR
) -> tuple[Project, str]:
    """The project and the user's role in it. 404 when the user is not a member (existence is not
    revealed), 403 when the role is too low for what is asked."""
    # One query: the project with the user's role beside it (this runs on every annotator request).
    project = (
        Project.objects.filter(slug=slug)
        .select_related("current_policy")
        .annotate(
            member_role=Subquery(
                Membership.objects.filter(project=OuterRef("pk"), user_id=user.pk).values("role")[:1]
            )
        )
        .first()
    )
    role = None
    if project is not None:
        role = Role.ADMIN if is_site_admin(user) else project.member_role
    if project is None or role is None:
        raise NotFound("No such project.")
    if ROLE_RANK[Role(role)] < ROLE_RANK[Role(min_role)]:
        raise PermissionDenied(f"This needs the {min_role} role in project {slug!r}.")
    return project, role


def comparison_for_user(*, user: AbstractBaseUser, comparison_id: int) -> Comparison:
    """A comparison of a project the user belongs to (any role), else 404."""
    comparison = (
        Comparison.objects.filter(pk=comparison_id)
        .select_related("project")
        .annotate(
            member_role=Subquery(
                Membership.objects.filter(project=OuterRef("project_id"), user_id=user.pk).values("role")[:1]
            )
        )
        .first()
    )
    if comparison is None or (comparison.member_role is None and not is_site_admin(user)):
        raise NotFound("No such task.")
    return comparison
