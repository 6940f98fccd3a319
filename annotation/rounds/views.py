"""The dashboard's rounds panel and its forms (launch, cancel). Thin doors over the rounds services."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from annotation.errors import ApplicationError, NotFound, PermissionDenied
from annotation.models import Role, RoundKind
from annotation.rounds.charts import rounds_panel as rounds_panel_context
from annotation.rounds.selectors import round_for_user
from annotation.rounds.services import round_cancel, round_launch
from annotation.views import project_or_404


@login_required
def rounds_panel(request: HttpRequest, slug: str) -> HttpResponse:
    """The rounds panel alone: the dashboard polls it while a round is active."""
    project, _role = project_or_404(request, slug, min_role=Role.ADMIN)
    context = {"project": project, "panel": rounds_panel_context(project=project)}
    return render(request, "partials/rounds_panel.html", context)


@login_required
@require_POST
def round_launch_form(request: HttpRequest, slug: str) -> HttpResponse:
    project, _role = project_or_404(request, slug, min_role=Role.ADMIN)
    raw = request.POST.get("config", "").strip() or "{}"
    try:
        config = json.loads(raw)
        if not isinstance(config, dict):
            raise ValueError("the config must be a JSON object")
        if request.POST.get("preset") == "smoke":
            config = {"preset": "smoke", **config}
        training_round = round_launch(
            project=project,
            kind=request.POST.get("kind", RoundKind.PPO),
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
