"""Who may see what: every project query goes through here, scoped to the user's memberships."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import F, JSONField, QuerySet, Value

from annotation.errors import NotFound, PermissionDenied
from annotation.models import Membership, Project, Role
from annotation.prepared import fetchone, json_value

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


_PROJECT_COLUMNS = [field for field in Project._meta.concrete_fields]
_PROJECT_SELECT = ", ".join(f"p.{field.column}" for field in _PROJECT_COLUMNS)
_ROLE = "(SELECT m.role FROM annotation_membership m WHERE m.project_id = p.id AND m.user_id = %(user)s)"
# Every annotator request starts with one of these: prepared, no ORM compilation.
_PROJECT_BY_SLUG_SQL = f"SELECT {_PROJECT_SELECT}, {_ROLE} FROM annotation_project p WHERE p.slug = %(slug)s"
_PROJECT_BY_COMPARISON_SQL = (
    f"SELECT {_PROJECT_SELECT}, {_ROLE} FROM annotation_comparison c "
    "JOIN annotation_project p ON p.id = c.project_id WHERE c.id = %(comparison)s"
)


def _project_and_role(row: tuple | None, user: AbstractBaseUser) -> tuple[Project | None, str | None]:
    if row is None:
        return None, None
    values = [
        json_value(value) if isinstance(field, JSONField) else value
        for field, value in zip(_PROJECT_COLUMNS, row, strict=False)
    ]
    project = Project.from_db("default", [field.attname for field in _PROJECT_COLUMNS], values)
    return project, (Role.ADMIN if is_site_admin(user) else row[-1])


def project_for_user(
    *, user: AbstractBaseUser, slug: str, min_role: str = Role.ANNOTATOR
) -> tuple[Project, str]:
    """The project and the user's role in it. 404 when the user is not a member (existence is not
    revealed), 403 when the role is too low for what is asked."""
    project, role = _project_and_role(fetchone(_PROJECT_BY_SLUG_SQL, {"slug": slug, "user": user.pk}), user)
    if project is None or role is None:
        raise NotFound("No such project.")
    if ROLE_RANK[Role(role)] < ROLE_RANK[Role(min_role)]:
        raise PermissionDenied(f"This needs the {min_role} role in project {slug!r}.")
    return project, role


@dataclass(frozen=True)
class TaskAccess:
    """A task (comparison) the user may work on, with its project and the user's role there. The
    services lock and read the comparison itself."""

    pk: int
    project: Project
    role: str


def comparison_for_user(*, user: AbstractBaseUser, comparison_id: int) -> TaskAccess:
    """A comparison of a project the user belongs to (any role), else 404."""
    row = fetchone(_PROJECT_BY_COMPARISON_SQL, {"comparison": comparison_id, "user": user.pk})
    project, role = _project_and_role(row, user)
    if project is None or role is None:
        raise NotFound("No such task.")
    return TaskAccess(pk=comparison_id, project=project, role=role)
