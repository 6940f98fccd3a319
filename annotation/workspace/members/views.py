"""/p/<slug>/members/: add an existing user by username, change a member's role, remove a member. The same
serializer and services as POST/DELETE /projects/{slug}/members/ (who may demote whom, the last admin)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError

from annotation.errors import ApplicationError
from annotation.models import Role
from annotation.projects.serializers import MemberCreateSerializer
from annotation.projects.services import membership_remove, membership_set
from annotation.rest import parse
from annotation.views import project_or_404
from annotation.workspace.forms import CHOICE_LABELS, field_errors, form_data, form_fields


def _page(
    request: HttpRequest, project, role: str, errors: dict[str, str], status: int = 200
) -> HttpResponse:  # type: ignore[no-untyped-def]
    members = list(project.memberships.select_related("user").order_by("user__username"))
    admins = sum(1 for m in members if m.role == Role.ADMIN)
    submitted = request.POST if errors else None
    context = {
        "project": project,
        "role": role,
        "members": members,
        "admins": admins,
        "roles": [(key, CHOICE_LABELS[key]) for key in Role.values],
        "fields": form_fields(
            MemberCreateSerializer, values={"role": Role.ANNOTATOR}, errors=errors, submitted=submitted
        ),
        "errors": errors,
    }
    return render(request, "workspace/members.html", context, status=status)


@login_required
def members(request: HttpRequest, slug: str) -> HttpResponse:
    project, role = project_or_404(request, slug, min_role=Role.ADMIN)
    if request.method != "POST":
        return _page(request, project, role, {})
    try:
        data = parse(MemberCreateSerializer, form_data(MemberCreateSerializer, request.POST))
        membership = membership_set(
            project=project, username=data["username"], role=data["role"], by=request.user
        )
    except (ValidationError, ApplicationError) as exc:
        return _page(request, project, role, field_errors(exc), status=400)
    messages.success(
        request,
        _("%(username)s is now %(role)s.")
        % {"username": membership.user.get_username(), "role": membership.role},
    )
    return redirect("project-members", slug=project.slug)


@login_required
@require_POST
def member_remove(request: HttpRequest, slug: str, username: str) -> HttpResponse:
    project, _role = project_or_404(request, slug, min_role=Role.ADMIN)
    try:
        membership_remove(project=project, username=username, by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("project-members", slug=project.slug)
    messages.success(request, _("%(username)s was removed from the project.") % {"username": username})
    if username == request.user.get_username() and not request.user.is_superuser:
        return redirect("home")  # no longer a member: the project's pages are closed to them now
    return redirect("project-members", slug=project.slug)
