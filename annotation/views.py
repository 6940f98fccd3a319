"""Server-rendered pages. Thin: access through selectors, everything dynamic on the annotate page comes
from the REST API (so the next comparison appears without a page load)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import ensure_csrf_cookie

from annotation.access import project_for_user, projects_for_user
from annotation.data.stats import project_stats
from annotation.errors import NotFound, PermissionDenied
from annotation.feedback.settings import category_labels
from annotation.models import Role
from annotation.projects.selectors import project_overview
from annotation.rendering import render_markdown
from annotation.rounds.charts import rounds_panel
from annotation.rounds.leaderboard import project_policies
from annotation.workspace.charts import throughput_charts
from annotation.workspace.next_step import next_step


def project_or_404(request: HttpRequest, slug: str, min_role: str = Role.ANNOTATOR):  # type: ignore[no-untyped-def]
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
    project, role = project_or_404(request, slug)
    return render(
        request,
        "annotate.html",
        {
            "project": project,
            "role": role,
            "guidelines_html": render_markdown(project.guidelines) if project.guidelines else "",
            "harm_categories": category_labels(project.safety_categories),
        },
    )


@login_required
@ensure_csrf_cookie
def review(request: HttpRequest, slug: str) -> HttpResponse:
    """The reviewer's page (issue 12): everything on it comes from the review API."""
    project, role = project_or_404(request, slug, min_role=Role.REVIEWER)
    harm = category_labels(project.safety_categories)
    return render(request, "review.html", {"project": project, "role": role, "harm_categories": harm})


@login_required
def dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    project, role = project_or_404(request, slug)
    if role != Role.ADMIN:
        # Annotators and reviewers land on their work page; the dashboard is for admins.
        return annotate(request, slug)
    overview = project_overview(project=project)
    panel = rounds_panel(project=project)
    stats = project_stats(project=project, include_usernames=True)
    charts = throughput_charts(
        stats=stats,
        per_hour_title=_("Annotations per hour (last 48 hours, UTC)"),
        per_day_title=_("Annotations per day (last 30 days, UTC)"),
    )
    return render(
        request,
        "dashboard.html",
        {
            "project": project,
            "role": role,
            "overview": overview,
            "panel": panel,
            "stats": stats,
            "charts": charts,
            "next_step": next_step(overview=overview, rounds=len(panel["rounds"])),
            "policies": project_policies(project=project),
        },
    )
