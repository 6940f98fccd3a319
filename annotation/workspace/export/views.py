"""/p/<slug>/export/: the export form (the API's query fields: format, the filters, and the aggregation
where the API has one), its streamed download through the API's export code, and the dataset snapshots."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from rest_framework.exceptions import ValidationError

from annotation.data.exports import export_from_query
from annotation.data.serializers import ExportQuerySerializer
from annotation.errors import ApplicationError
from annotation.models import Role
from annotation.rest import parse
from annotation.views import project_or_404
from annotation.workspace.export.selectors import snapshots_with_use
from annotation.workspace.forms import field_errors, form_fields


def _page(request: HttpRequest, project, role: str, errors: dict[str, str]) -> HttpResponse:  # type: ignore[no-untyped-def]
    submitted = request.GET if request.GET else None
    context = {
        "project": project,
        "role": role,
        "fields": form_fields(
            ExportQuerySerializer, errors=errors, submitted=submitted, values={"format": "trl"}
        ),
        "errors": errors,
        "snapshots": snapshots_with_use(project=project),
    }
    return render(request, "workspace/export.html", context, status=400 if errors else 200)


@login_required
def export(request: HttpRequest, slug: str) -> HttpResponse:
    project, role = project_or_404(request, slug, min_role=Role.ADMIN)
    return _page(request, project, role, {})


@login_required
def export_download(request: HttpRequest, slug: str) -> HttpResponse:
    """The NDJSON file, streamed as it is read (the same stream as GET /projects/{slug}/export/); a bad
    query is the export page again with the error beside its field."""
    project, role = project_or_404(request, slug, min_role=Role.ADMIN)
    try:
        query = parse(ExportQuerySerializer, request.GET)
        stream = export_from_query(project=project, query=query)
    except (ValidationError, ApplicationError) as exc:
        return _page(request, project, role, field_errors(exc))
    response = StreamingHttpResponse(stream.ndjson(first_chunk_bytes=1), content_type="application/x-ndjson")
    response["Content-Disposition"] = f'attachment; filename="{project.slug}-{stream.fmt}.jsonl"'
    response["X-Accel-Buffering"] = "no"
    return response
