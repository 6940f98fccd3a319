"""Server-rendered pages. Thin: access through selectors, everything dynamic on the annotate page comes
from the REST API (so the next comparison appears without a page load)."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_POST

from annotation.models import Role
from annotation.rendering import render_markdown
from annotation.selectors.access import project_for_user, projects_for_user
from annotation.selectors.projects import project_overview
from annotation.selectors.rounds import round_for_user, rounds_dashboard
from annotation.selectors.stats import project_stats
from annotation.services.errors import ApplicationError, NotFound, PermissionDenied
from annotation.services.rounds import round_cancel, round_launch


def _project_or_404(request: HttpRequest, slug: str, min_role: str = Role.ANNOTATOR):  # type: ignore[no-untyped-def]
    try:
        return project_for_user(user=request.user, slug=slug, min_role=min_role)
    except (NotFound, PermissionDenied) as exc:
        raise Http404(exc.message) from exc


@login_required
def home(request: HttpRequest) -> HttpResponse:
    projects = projects_for_user(user=request.user).select_related("current_policy")
    return render(request, "home.html", {"projects": projects})


@login_required
@ensure_csrf_cookie
def annotate(request: HttpRequest, slug: str) -> HttpResponse:
    project, role = _project_or_404(request, slug)
    return render(
        request,
        "annotate.html",
        {
            "project": project,
            "role": role,
            "guidelines_html": render_markdown(project.guidelines) if project.guidelines else "",
        },
    )


@login_required
def dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    project, role = _project_or_404(request, slug)
    if role != Role.ADMIN:
        # Annotators and reviewers land on their work page; the dashboard is for admins.
        return annotate(request, slug)
    return render(
        request,
        "dashboard.html",
        {
            "project": project,
            "overview": project_overview(project=project),
            "panel": rounds_dashboard(project=project),
            "stats": project_stats(project=project, include_usernames=True),
        },
    )


@login_required
def rounds_panel(request: HttpRequest, slug: str) -> HttpResponse:
    """The rounds panel alone: the dashboard polls it while a round is active."""
    project, _role = _project_or_404(request, slug, min_role=Role.ADMIN)
    context = {"project": project, "panel": rounds_dashboard(project=project)}
    return render(request, "partials/rounds_panel.html", context)


@login_required
@require_POST
def round_launch_form(request: HttpRequest, slug: str) -> HttpResponse:
    project, _role = _project_or_404(request, slug, min_role=Role.ADMIN)
    raw = request.POST.get("config", "").strip() or "{}"
    try:
        config = json.loads(raw)
        if not isinstance(config, dict):
            raise ValueError("the config must be a JSON object")
        if request.POST.get("preset") == "smoke":
            config = {"preset": "smoke", **config}
        training_round = round_launch(
            project=project,
            kind=request.POST.get("kind", "ppo"),
            config=config,
            trigger="manual",
            user=request.user,
        )
    except (ValueError, ApplicationError) as exc:
        messages.error(
            request, _("Round not launched: %(error)s") % {"error": getattr(exc, "message", str(exc))}
        )
    else:
        messages.success(request, _("Round %(id)s launched.") % {"id": training_round.pk})
    return redirect("dashboard", slug=project.slug)


@login_required
@require_POST
def round_cancel_form(request: HttpRequest, slug: str, round_id: int) -> HttpResponse:
    try:
        training_round = round_for_user(user=request.user, round_id=round_id)
        if training_round.project.slug != slug:
            raise NotFound("No such round.")
        round_cancel(training_round=training_round)
    except (NotFound, PermissionDenied) as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Cancelling round %(id)s.") % {"id": round_id})
    return redirect("dashboard", slug=slug)
