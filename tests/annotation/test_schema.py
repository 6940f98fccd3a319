"""The OpenAPI schema: valid, complete for DESIGN section 7, and served with its docs page."""

import json
import re

import pytest
import yaml
from django.test import Client
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from annotation.models import Role
from tests.factories import ProjectFactory, UserFactory, make_comparisons, member
from tests.helpers import annotate, api_client

CONTRACT = {
    "/api/v1/auth/token/": {"post"},
    "/api/v1/projects/": {"get", "post"},
    "/api/v1/projects/{slug}/": {"get", "patch"},
    "/api/v1/projects/{slug}/members/": {"get", "post"},
    "/api/v1/projects/{slug}/prompts/import/": {"post"},
    "/api/v1/projects/{slug}/tasks/next/": {"post"},
    "/api/v1/tasks/{task_id}/annotations/": {"post"},
    "/api/v1/tasks/{task_id}/skip/": {"post"},
    "/api/v1/tasks/{task_id}/heartbeat/": {"post"},
    "/api/v1/projects/{slug}/export/": {"get"},
    "/api/v1/projects/{slug}/rounds/": {"get", "post"},
    "/api/v1/rounds/{round_id}/": {"get"},
    "/api/v1/rounds/{round_id}/cancel/": {"post"},
    "/api/v1/projects/{slug}/stats/": {"get"},
}


@pytest.fixture
def schema(db):
    assert api_client().get("/api/schema/").status_code == 401  # not for anonymous visitors
    response = api_client(UserFactory()).get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_schema_is_valid_openapi_and_lists_every_contract_path(schema):
    validate(schema)
    assert schema["openapi"].startswith("3.")
    for path, methods in CONTRACT.items():
        assert path in schema["paths"], path
        assert methods <= set(schema["paths"][path]), path


def test_schema_generation_has_no_warnings():
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    GENERATOR_STATS.reset()
    SchemaGenerator().get_schema(request=None, public=True)
    assert not GENERATOR_STATS._warn_cache and not GENERATOR_STATS._error_cache


def _resolve(schema, ref):
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_export_and_stats_are_described(schema):
    export = schema["paths"]["/api/v1/projects/{slug}/export/"]["get"]
    params = {p["name"]: p for p in export["parameters"]}
    assert set(params) == {"slug", "format", "split", "min_agreement", "min_annotations", "since", "until",
                           "policy_version", "aggregation", "include"}  # fmt: skip
    assert params["format"]["required"]
    assert params["format"]["schema"]["enum"] == [
        "trl", "trl-standard", "hh-rlhf", "raw", "sft", "safe-rlhf", "trl-harmless",
    ]  # fmt: skip
    assert params["min_agreement"]["schema"] == {"type": "number", "format": "double", "minimum": 0,
                                                 "maximum": 1}  # fmt: skip
    assert params["min_annotations"]["schema"] == {"type": "integer", "minimum": 1}
    for name in ("since", "until"):
        assert params[name]["schema"]["format"] == "date-time" and "UTC offset" in params[name]["description"]
    ok = export["responses"]["200"]["content"]
    assert list(ok) == ["application/x-ndjson"]
    # anyOf, not oneOf: a trl-standard line also matches the hh-rlhf shape, and oneOf would reject it.
    row_schema = _resolve(schema, ok["application/x-ndjson"]["schema"]["$ref"])
    assert "oneOf" not in row_schema
    rows = row_schema["anyOf"]
    trl = _resolve(schema, rows[0]["$ref"])
    assert {"prompt", "chosen", "rejected", "margin", "comparison_id", "n_annotations", "agreement"} <= set(
        trl["properties"]
    )
    raw = _resolve(schema, rows[3]["$ref"])
    assert "annotator" in raw["properties"] and "annotator_id" not in raw["properties"]
    for code in ("400", "401", "403", "404"):
        error = export["responses"][code]["content"]["application/json"]["schema"]
        assert set(_resolve(schema, error["$ref"])["properties"]) >= {"detail", "code", "field"}

    stats = schema["paths"]["/api/v1/projects/{slug}/stats/"]["get"]["responses"]
    body = _resolve(schema, stats["200"]["content"]["application/json"]["schema"]["$ref"])
    assert {"comparisons", "annotations", "throughput", "agreement", "annotators", "median_time_ms"} <= set(
        body["properties"]
    )
    assert {"403", "404"} <= set(stats)


def test_every_export_format_line_matches_the_row_schema(schema):
    project = ProjectFactory(overlap=2)
    (comparison,) = make_comparisons(project, 1)
    admin = member(project, Role.ADMIN)
    for user, order in ((member(project), [1, 0]), (member(project), [1, 0])):
        annotate(comparison, user, order=order, strength="clear", rationale="why")
    row = OAS30Validator({"$ref": "#/components/schemas/ExportRow", "components": schema["components"]})
    for fmt in ("trl", "trl-standard", "hh-rlhf", "raw"):
        response = api_client(admin).get(f"/api/v1/projects/{project.slug}/export/", {"format": fmt})
        lines = b"".join(response.streaming_content).splitlines()
        assert len(lines) == (2 if fmt == "raw" else 1), fmt
        for line in lines:
            row.validate(json.loads(line))  # with oneOf, trl-standard (also an hh-rlhf shape) failed here
    with pytest.raises(ValidationError):
        row.validate({"chosen": ["not a transcript"], "rejected": "x"})


def test_docs_page_loads_no_third_party_host(db):
    anonymous = api_client().get("/api/docs/")
    assert anonymous.status_code == 302 and anonymous.url == "/login/?next=/api/docs/"  # people sign in first
    client = Client()
    client.force_login(UserFactory())
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html) + re.findall(r"https?://[^\s\"'<>]+", html)
    assert urls and all(not url.startswith(("http://", "https://", "//")) for url in urls), urls
    # Swagger UI's start-up script (a separate request, for the CSP) points at our schema.
    (script_url,) = [url for url in urls if "script=" in url]
    assert "/api/schema/" in client.get(script_url).content.decode()
