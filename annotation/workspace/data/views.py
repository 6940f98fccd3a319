"""/p/<slug>/data/: the import (the same steps as POST /prompts/import/: declared size, file size, all or
nothing, every bad line listed) and the prompts and comparisons with their filters; and one comparison's page
(admins and reviewers; the responses' sources for admins only)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from annotation.data.api import MULTIPART_OVERHEAD
from annotation.data.imports import ImportRejected, import_too_large, prompts_import, upload_lines
from annotation.data.serializers import ImportRequestSerializer
from annotation.errors import ApplicationError, NotFound
from annotation.models import Role
from annotation.rest import parse
from annotation.views import project_or_404
from annotation.workspace.data import selectors
from annotation.workspace.data.serializers import DataQuerySerializer
from annotation.workspace.forms import field_errors


def _import(request: HttpRequest, project) -> list[dict]:  # type: ignore[no-untyped-def]
    """Run the upload through the import; the line errors ([] on success)."""
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    if declared > settings.PREFER_MAX_IMPORT_BYTES + MULTIPART_OVERHEAD:
        raise import_too_large(declared)
    try:
        upload = parse(ImportRequestSerializer, request.FILES)["file"]
    except ValidationError as exc:
        errors = field_errors(exc)
        return [{"line": 0, "field": name, "message": message} for name, message in errors.items()]
    if upload.size is not None and upload.size > settings.PREFER_MAX_IMPORT_BYTES:
        raise import_too_large(upload.size)
    result = prompts_import(project=project, lines=upload_lines(upload))
    messages.success(
        request,
        _("Imported %(created)s prompts (%(duplicates)s already there), %(comparisons)s new comparisons.")
        % {"created": result.created, "duplicates": result.duplicates, "comparisons": result.comparisons},
    )
    return []


@login_required
def data(request: HttpRequest, slug: str) -> HttpResponse:
    project, role = project_or_404(request, slug, min_role=Role.ADMIN)
    import_errors: list[dict] = []
    status = 200
    if request.method == "POST":
        try:
            import_errors = _import(request, project)
        except ImportRejected as exc:
            import_errors = [error.as_dict() for error in exc.errors]
        except ApplicationError as exc:
            import_errors = [{"line": 0, "field": exc.field or "file", "message": exc.message}]
        if not import_errors:
            return redirect("project-data", slug=project.slug)
        status = 400
    query = DataQuerySerializer(data=request.GET)
    filter_errors = {} if query.is_valid() else field_errors(ValidationError(query.errors))
    q = query.validated_data if not filter_errors else {}
    round_value = q.get("round", "")
    comparisons = selectors.comparison_page(
        project=project,
        status=q.get("status", ""),
        split=q.get("split", ""),
        gold={"yes": True, "no": False}.get(q.get("gold", "")),
        round_id=int(round_value) if round_value.isdigit() else None,
        imported=round_value == "imported",
        agreement=q.get("agreement", ""),
        after=q.get("after"),
    )
    prompts = selectors.prompt_page(project=project, split=q.get("split", ""), after=q.get("prompts_after"))
    params = request.GET.copy()
    params.pop("after", None)
    params.pop("prompts_after", None)
    context = {
        "project": project,
        "role": role,
        "counts": selectors.data_counts(project=project),
        "comparisons": comparisons,
        "prompts": prompts,
        "rounds": selectors.project_rounds(project=project),
        "q": {key: request.GET.get(key, "") for key in ("status", "split", "gold", "round", "agreement")},
        "filter_errors": filter_errors,
        "import_errors": import_errors,
        "query_string": params.urlencode(),
        "max_import_mb": settings.PREFER_MAX_IMPORT_BYTES // (1024 * 1024),
    }
    return render(request, "workspace/data.html", context, status=400 if filter_errors else status)


@login_required
def comparison(request: HttpRequest, slug: str, comparison_id: int) -> HttpResponse:
    project, role = project_or_404(request, slug, min_role=Role.REVIEWER)
    try:
        detail = selectors.comparison_detail(
            project=project, comparison_id=comparison_id, include_sources=role == Role.ADMIN
        )
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return render(request, "workspace/comparison.html", {"project": project, "role": role, **detail})
