"""Data in and out (DESIGN section 7): the prompt import, the streamed preference export and the project
stats. Thin doors."""

from django.conf import settings
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.access import project_for_user
from annotation.data import serializers as ds
from annotation.data.exports import export_from_query
from annotation.data.imports import import_too_large, prompts_import, upload_lines
from annotation.data.stats import project_stats
from annotation.errors import ApplicationError
from annotation.models import Role
from annotation.rest import ERRORS as COMMON_ERRORS
from annotation.rest import ErrorSerializer, parse

MULTIPART_OVERHEAD = 64 * 1024

ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid query; `field` names it"),
    401: OpenApiResponse(ErrorSerializer, description="Not authenticated (token or session)"),
    403: OpenApiResponse(ErrorSerializer, description="Your role does not allow this"),
    404: OpenApiResponse(ErrorSerializer, description="No such project, or not visible to you"),
}


class FormatIsAQueryParameter(DefaultContentNegotiation):
    """`?format=` names the export format here, not a DRF renderer; errors are always JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):  # type: ignore[no-untyped-def]
        return renderers[0], renderers[0].media_type


class ProjectExportView(APIView):
    renderer_classes = [JSONRenderer]
    content_negotiation_class = FormatIsAQueryParameter

    @extend_schema(
        parameters=[ds.ExportQuerySerializer],
        responses={
            (200, "application/x-ndjson"): OpenApiResponse(
                ds.EXPORT_ROW,
                description="Newline-delimited JSON, streamed: one object per line, shaped by `format` "
                "(trl, trl-standard, hh-rlhf: one line per consensus preference pair; raw: one line per live "
                "annotation). The schema describes one line.",
            ),
            **ERRORS,
        },
        description="Stream the project's preference data. Project admins only.",
    )
    def get(self, request: Request, slug: str) -> StreamingHttpResponse:
        project, _ = project_for_user(user=request.user, slug=slug, min_role=Role.ADMIN)
        query = ds.ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        stream = export_from_query(project=project, query=query.validated_data)
        response = StreamingHttpResponse(stream.ndjson(), content_type="application/x-ndjson")
        response["Content-Disposition"] = f'attachment; filename="{project.slug}-{stream.fmt}.jsonl"'
        response["X-Accel-Buffering"] = "no"  # let a reverse proxy pass lines on as they come
        return response


class ProjectStatsView(APIView):
    @extend_schema(
        responses={200: ds.StatsSerializer, **{code: ERRORS[code] for code in (401, 403, 404)}},
        description="Counts, throughput and agreement. Project admins and reviewers; annotators get 403. "
        "The per-annotator section (`annotators`) is for project admins only and is left out for reviewers; "
        "annotators appear there only as pseudonyms.",
    )
    def get(self, request: Request, slug: str) -> Response:
        project, role = project_for_user(user=request.user, slug=slug, min_role=Role.REVIEWER)
        stats = project_stats(project=project, include_annotators=role == Role.ADMIN)
        return Response(ds.StatsSerializer(stats).data)


class PromptImportView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": ds.ImportRequestSerializer},
        responses={
            201: ds.ImportResultSerializer,
            400: OpenApiResponse(
                ds.ImportErrorsSerializer, description="Every invalid line; nothing written"
            ),
            403: COMMON_ERRORS[403],
            404: COMMON_ERRORS[404],
            413: OpenApiResponse(ErrorSerializer, description="Over PREFER_MAX_IMPORT_BYTES; nothing read"),
        },
    )
    def post(self, request: Request, slug: str) -> Response:
        project, _ = project_for_user(user=request.user, slug=slug, min_role=Role.ADMIN)
        # The declared size first, before the body is read and written anywhere (a multipart envelope adds
        # a few hundred bytes: allow a little over the file limit for it).
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > settings.PREFER_MAX_IMPORT_BYTES + MULTIPART_OVERHEAD:
            raise import_too_large(declared)
        try:
            upload = parse(ds.ImportRequestSerializer, request.data)["file"]
        except ValidationError as error:
            # The import's 400 lists line errors; a request without a usable file is one, at line 0.
            field, message = next(iter(error.detail.items())) if isinstance(error.detail, dict) else ("", "")
            text = str(message[0] if isinstance(message, list) else message) or "a JSONL file is required"
            raise ApplicationError(
                f"{field or 'file'}: {text}",
                field=field or "file",
                extra={"errors": [{"line": 0, "field": field or "file", "message": text}]},
            ) from error
        if upload.size is not None and upload.size > settings.PREFER_MAX_IMPORT_BYTES:
            raise import_too_large(upload.size)
        result = prompts_import(project=project, lines=upload_lines(upload))
        return Response(
            {"created": result.created, "duplicates": result.duplicates, "comparisons": result.comparisons},
            status=status.HTTP_201_CREATED,
        )
