"""/projects/new/ and /p/<slug>/settings/: the project's settings as forms over the API's serializers and the
projects services (one code path with POST /projects/ and PATCH /projects/{slug}/), and the guidelines'
preview, rendered by the same sanitising renderer as the annotate page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError

from annotation.access import is_site_admin
from annotation.errors import ApplicationError
from annotation.models import Role
from annotation.projects.serializers import (
    ProjectCreateSerializer,
    ProjectSerializer,
    ProjectUpdateSerializer,
)
from annotation.projects.services import project_create, project_update
from annotation.rendering import render_markdown
from annotation.rest import parse
from annotation.views import project_or_404
from annotation.workspace.forms import field_errors, form_data, form_fields

MAX_PREVIEW_CHARS = 200_000


@login_required
def project_new(request: HttpRequest) -> HttpResponse:
    if not is_site_admin(request.user):
        raise DjangoPermissionDenied(_("Only site admins create projects."))
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            data = parse(ProjectCreateSerializer, form_data(ProjectCreateSerializer, request.POST))
            project = project_create(created_by=request.user, **data)
        except (ValidationError, ApplicationError) as exc:
            errors = field_errors(exc)
        else:
            messages.success(request, _("Project %(name)s created.") % {"name": project.name})
            return redirect("project-data", slug=project.slug)
    fields = form_fields(
        ProjectCreateSerializer, errors=errors, submitted=request.POST if request.method == "POST" else None
    )
    context = {"fields": fields, "errors": errors}
    return render(request, "workspace/project_new.html", context, status=400 if errors else 200)


@login_required
def project_settings(request: HttpRequest, slug: str) -> HttpResponse:
    project, role = project_or_404(request, slug, min_role=Role.ADMIN)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            data = parse(ProjectUpdateSerializer, form_data(ProjectUpdateSerializer, request.POST))
            project = project_update(project=project, **data)
        except (ValidationError, ApplicationError) as exc:
            errors = field_errors(exc)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("project-settings", slug=project.slug)
    current = ProjectSerializer(project, context={"roles": {project.pk: role}}).data
    fields = form_fields(
        ProjectUpdateSerializer,
        values=current,
        errors=errors,
        submitted=request.POST if request.method == "POST" else None,
    )
    context = {"project": project, "role": role, "fields": fields, "errors": errors, "current": current}
    return render(request, "workspace/project_settings.html", context, status=400 if errors else 200)


@login_required
@require_POST
def markdown_preview(request: HttpRequest) -> HttpResponse:
    """The guidelines as annotators will see them: sanitised HTML of the posted markdown (CSRF-checked)."""
    text = request.POST.get("text", "")[:MAX_PREVIEW_CHARS]
    return HttpResponse(render_markdown(text), content_type="text/html; charset=utf-8")
