"""/p/<slug>/data/ (the import and the lists), the comparison page, /p/<slug>/export/, /p/<slug>/models/ and
the dashboard's next step."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from annotation.data.snapshots import dataset_snapshot_create
from annotation.models import Comparison, GenerationJob, Prompt, Role, TrainingRound
from annotation.projects.services import project_create
from tests.factories import ProjectFactory, make_comparisons, member
from tests.helpers import annotate, api_client

pytestmark = pytest.mark.django_db

GOOD = (
    b'{"id": "q1", "prompt": "Hello?"}\n'
    b'{"id": "q2", "prompt": "Two?",'
    b' "responses": [{"text": "a", "model": "m1"}, {"text": "b", "model": "m2"}]}\n'
)
BAD = (
    b'{"id": "q1", "prompt": "fine"}\nnot json\n'
    b'{"id": "q3", "messages": [{"role": "robot", "content": "x"}]}\n'
)


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _upload(client, project, content: bytes):
    return client.post(
        f"/p/{project.slug}/data/", {"file": SimpleUploadedFile("p.jsonl", content)}, follow=True
    )


def test_a_bad_file_lists_every_line_error_and_writes_nothing(project, project_admin):
    response = _upload(_client(project_admin), project, BAD)
    assert response.status_code == 400
    html = response.content.decode()
    api = api_client(project_admin).post(
        f"/api/v1/projects/{project.slug}/prompts/import/",
        {"file": SimpleUploadedFile("p.jsonl", BAD)},
        format="multipart",
    )
    for error in api.json()["errors"]:  # the page lists what the API lists, as `line N: field: message`
        line = f"line {error['line']}: {error['field']}: {error['message']}"
        assert line in html.replace("&#x27;", "'").replace("&quot;", '"')
    assert "2 errors; nothing was imported." in html
    assert Prompt.objects.filter(project=project).count() == 0


def test_a_good_file_imports_and_says_how_much(project, project_admin):
    client = _client(project_admin)
    html = _upload(client, project, GOOD).content.decode()
    assert "Imported 2 prompts (0 already there), 1 new comparisons." in html
    assert Prompt.objects.filter(project=project).count() == 2
    again = _upload(client, project, GOOD).content.decode()
    assert "Imported 0 prompts (2 already there), 0 new comparisons." in again
    assert 'data-prompt="q1"' in again and 'data-stat="comparisons">1<' in again


def test_an_upload_without_a_file_is_a_line_zero_error(project, project_admin):
    response = _client(project_admin).post(f"/p/{project.slug}/data/", {})
    assert response.status_code == 400 and b"line 0: file:" in response.content


def test_filters_and_keyset_paging(project, project_admin):
    project.overlap = 2
    project.save()
    comparisons = make_comparisons(project, 60)
    a, b = member(project), member(project)
    annotate(comparisons[0], a, order=[0, 1])
    annotate(comparisons[0], b, order=[1, 0])  # disagree
    annotate(comparisons[1], a, order=[0, 1])
    annotate(comparisons[1], b, order=[0, 1])  # unanimous, complete
    Comparison.objects.filter(pk=comparisons[2].pk).update(is_gold=True)
    client = _client(project_admin)

    def ids(query: str) -> list[int]:
        html = client.get(f"/p/{project.slug}/data/?{query}").content.decode()
        return [c.pk for c in comparisons if f'data-comparison="{c.pk}"' in html]

    assert ids("agreement=disagree") == [comparisons[0].pk]
    assert ids("agreement=unanimous") == [comparisons[1].pk]
    assert ids("status=complete") == [comparisons[0].pk, comparisons[1].pk]
    assert ids("gold=yes") == [comparisons[2].pk]
    assert ids("round=imported&gold=yes") == [comparisons[2].pk]
    assert ids("round=999") == []
    first = ids("")
    assert len(first) == 50 and first == [c.pk for c in comparisons[10:]]  # newest first
    html = client.get(f"/p/{project.slug}/data/").content.decode()
    assert f"after={comparisons[10].pk}" in html
    assert ids(f"after={comparisons[10].pk}") == [c.pk for c in comparisons[:10]]
    bad = client.get(f"/p/{project.slug}/data/?status=sideways&round=abc")
    assert (
        bad.status_code == 400
        and b'data-error-for="status"' in bad.content
        and b'data-error-for="round"' in bad.content
    )


def test_comparison_page_shows_every_annotation_and_sources_to_admins_only(project, project_admin):
    comparison = make_comparisons(project, 1)[0]
    annotator = member(project)
    annotate(comparison, annotator, order=[1, 0], strength="strong", rationale="<b>B is right</b>")
    reviewer = member(project, Role.REVIEWER)
    url = f"/p/{project.slug}/data/comparisons/{comparison.pk}/"
    admin_html = _client(project_admin).get(url).content.decode()
    assert "model-0" in admin_html and "model-1" in admin_html  # sources
    assert "B &gt; A" in admin_html and "strong" in admin_html
    assert "&lt;b&gt;B is right&lt;/b&gt;" in admin_html  # text, never markup
    assert annotator.username not in admin_html  # pseudonymous
    reviewer_html = _client(reviewer).get(url).content.decode()
    assert "B &gt; A" in reviewer_html and "model-0" not in reviewer_html
    other = make_comparisons(ProjectFactory(), 1)[0]
    assert _client(project_admin).get(f"/p/{project.slug}/data/comparisons/{other.pk}/").status_code == 404


def test_comparison_page_lists_its_reviews_newest_deciding(project, project_admin):
    from annotation.models import Review

    comparison = make_comparisons(project, 1)[0]
    first = annotate(comparison, member(project), order=[0, 1], rationale="A")
    reviewer = member(project, Role.REVIEWER)
    url = f"/p/{project.slug}/data/comparisons/{comparison.pk}/"
    assert "Not reviewed." in _client(project_admin).get(url).content.decode()
    ids = [item.response_id for item in comparison.items.order_by("position")]
    for verdict, ranking, rejected, comment in (
        ("accept", None, [], "fine"),
        ("override", [[ids[1]], [ids[0]]], [first], "<i>B is right</i>"),
    ):
        Review.objects.create(
            comparison=comparison, project=project, reviewer=reviewer, verdict=verdict, ranking=ranking,
            rejected_annotations=rejected, comment=comment, client_token=verdict,
        )  # fmt: skip
    html = _client(project_admin).get(url).content.decode()
    rows = html.split('data-list="reviews"')[1]
    assert rows.index('data-review-verdict="override"') < rows.index('data-review-verdict="accept"')
    assert "Override: B &gt; A" in rows and "&lt;i&gt;B is right&lt;/i&gt;" in rows
    assert reviewer.username not in rows and rows.count("decides") == 1


def test_export_download_streams_the_apis_rows(project, project_admin):
    comparisons = make_comparisons(project, 3)
    annotator = member(project)
    for comparison in comparisons:
        annotate(comparison, annotator, order=[0, 1], strength="clear")
    response = _client(project_admin).get(
        f"/p/{project.slug}/export/download/?format=trl&split=&min_agreement="
    )
    assert response.status_code == 200 and response.streaming
    assert response["Content-Disposition"] == f'attachment; filename="{project.slug}-trl.jsonl"'
    chunks = list(response.streaming_content)
    assert len(chunks) >= 2  # the first comparison's row goes out at once, not after the whole file
    rows = [json.loads(line) for line in b"".join(chunks).splitlines()]
    api = api_client(project_admin).get(f"/api/v1/projects/{project.slug}/export/?format=trl")
    assert rows == [json.loads(line) for line in b"".join(api.streaming_content).splitlines()]
    assert len(rows) == 3 and rows[0]["chosen"][0]["role"] == "assistant"
    download = f"/p/{project.slug}/export/download/"
    skill = _client(project_admin).get(download, {"format": "trl", "aggregation": "dawid-skene"})
    assert skill.status_code == 200  # the page's aggregation and include go where the API's go
    assert len(b"".join(skill.streaming_content).splitlines()) == 3


def test_export_errors_beside_the_field(project, project_admin):
    response = _client(project_admin).get(f"/p/{project.slug}/export/download/?format=trl&since=2025-01-01")
    assert response.status_code == 400 and b'data-error-for="since"' in response.content
    bad_format = _client(project_admin).get(f"/p/{project.slug}/export/download/?format=csv")
    assert bad_format.status_code == 400 and b'data-error-for="format"' in bad_format.content


def test_export_page_lists_snapshots_with_hashes_and_what_trained_on_them(
    project, project_admin, settings, tmp_path
):
    settings.PREFER_DATA_DIR = str(tmp_path)
    comparison = make_comparisons(project, 1)[0]
    annotate(comparison, member(project), order=[0, 1])
    snapshot = dataset_snapshot_create(project=project)
    training_round = TrainingRound.objects.create(
        project=project, kind="dpo", status="succeeded", snapshot=snapshot
    )
    html = _client(project_admin).get(f"/p/{project.slug}/export/").content.decode()
    assert f'data-snapshot="{snapshot.pk}"' in html and snapshot.sha256 in html
    assert f"round {training_round.pk} (dpo)" in html
    assert 'name="format"' in html and 'name="min_agreement"' in html


def test_models_page_fill_the_queue_and_its_progress(db, site_admin):
    project = project_create(slug="m", name="M", created_by=site_admin, policy="tiny-causal-lm")
    client = _client(site_admin)
    html = client.get("/p/m/models/").content.decode()
    assert "tiny-causal-lm" in html and 'data-active="0"' in html
    assert client.post("/p/m/models/fill/", {"limit": "4"}).status_code == 302
    job = GenerationJob.objects.get(project=project)
    assert job.limit == 4 and job.status == "queued"
    GenerationJob.objects.filter(pk=job.pk).update(status="running", progress=0.5, comparisons=2)
    panel = client.get("/p/m/models/jobs/").content.decode()
    assert 'data-active="1"' in panel and f'data-job="{job.pk}"' in panel and 'value="0.500"' in panel
    bad = client.post("/p/m/models/fill/", {"limit": "0"}, follow=True)
    assert "limit:" in bad.content.decode() and GenerationJob.objects.count() == 1


@pytest.mark.parametrize(
    ("prepare", "step"),
    [("nothing", "import"), ("prompts", "fill"), ("comparisons", "annotate"), ("annotations", "launch")],
)
def test_dashboard_points_to_the_next_step(project, project_admin, prepare, step):
    if prepare == "prompts":
        Prompt.objects.create(project=project, external_id="x", messages=[{"role": "user", "content": "hi"}])
    if prepare in ("comparisons", "annotations"):
        comparison = make_comparisons(project, 1)[0]
        if prepare == "annotations":
            annotate(comparison, member(project), order=[0, 1])
    html = _client(project_admin).get(f"/p/{project.slug}/").content.decode()
    assert f'data-next-step="{step}"' in html
    assert html.count('class="chart-bar"') == 78
