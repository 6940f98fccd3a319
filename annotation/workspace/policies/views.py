"""/p/<slug>/models/: policy versions and reward models, the human versus reward-model win rate of each
version with intervals, the leaderboard, and "fill the queue from the current policy" (a GenerationJob on
the gpu queue) whose progress the page polls (the jobs panel alone)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError

from annotation.errors import ApplicationError
from annotation.models import Role
from annotation.rest import parse
from annotation.rounds.leaderboard import project_policies
from annotation.rounds.selectors import project_models
from annotation.rounds.services import project_fill_queue
from annotation.views import project_or_404
from annotation.workspace.forms import field_errors, form_data
from annotation.workspace.policies.selectors import fill_jobs
from annotation.workspace.policies.serializers import FillQueueSerializer


@login_required
def models_page(request: HttpRequest, slug: str) -> HttpResponse:
    project, role = project_or_404(request, slug, min_role=Role.ADMIN)
    context = {
        "project": project,
        "role": role,
        "policies": project_policies(project=project),
        "models": project_models(project=project),
        "jobs": fill_jobs(project=project),
    }
    return render(request, "workspace/models.html", context)


@login_required
def jobs_panel(request: HttpRequest, slug: str) -> HttpResponse:
    """The fill-the-queue jobs alone: the page polls it while one is queued or running."""
    project, _role = project_or_404(request, slug, min_role=Role.ADMIN)
    return render(
        request, "workspace/jobs_panel.html", {"project": project, "jobs": fill_jobs(project=project)}
    )


@login_required
@require_POST
def fill_queue(request: HttpRequest, slug: str) -> HttpResponse:
    project, _role = project_or_404(request, slug, min_role=Role.ADMIN)
    try:
        data = parse(FillQueueSerializer, form_data(FillQueueSerializer, request.POST))
        job = project_fill_queue(project=project, limit=data["limit"])
    except (ValidationError, ApplicationError) as exc:
        for name, message in field_errors(exc).items():
            messages.error(request, f"{name}: {message}")
    else:
        if job is not None:
            messages.success(request, _("Generation %(id)s queued.") % {"id": job.pk})
    return redirect("project-models", slug=project.slug)
