"""The admin's workspace in real Chromium, end to end: a site admin creates a project, uploads a bad file
(every line error listed, nothing written) and a good one, adds an annotator, the annotator works through the
API, the admin downloads a trl export from the export page and finds the annotator's preferences in it, and
launches a round from the dashboard.
Every page is also opened in Chinese and at phone width (no script error, no CSP violation, no sideways
scroll)."""

import json
from pathlib import Path

import pytest

from annotation.models import Comparison, GenerationJob, Membership, Project, Prompt, TrainingRound
from annotation.projects.services import project_create
from tests.browser.conftest import PHONE, login, shot
from tests.celery_worker import celery_worker, use_test_broker
from tests.factories import PromptFactory, UserFactory
from tests.helpers import api_client, broker_queue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BAD = '{"id": "a", "prompt": "fine"}\n{"id": "b", "messages": []}\nnot json\n'
GOOD = "".join(
    json.dumps(
        {
            "id": f"q{k}",
            "prompt": f"Question {k}: what is {k} + {k}?",
            "responses": [
                {"text": f"It is {2 * k}.", "model": "right"},
                {"text": "No idea.", "model": "lazy"},
            ],
        }
    )
    + "\n"
    for k in range(3)
)


def _site_admin():
    user = UserFactory(username="site-admin")
    user.is_superuser = user.is_staff = True
    user.save()
    return user


def test_from_nothing_to_a_downloaded_dataset(page, live_server, tmp_path):
    _site_admin()
    UserFactory(username="ann")
    base = live_server.url
    login(page, base, "site-admin")

    page.get_by_role("link", name="New project").click()
    page.get_by_label("Slug").fill("flow")
    page.get_by_label("Name").fill("Flow project")
    page.get_by_label("Rating axes").fill("helpfulness, honesty")
    page.get_by_label("Guidelines (markdown)").fill("# Rules\n\nPrefer **correct** answers.")
    page.wait_for_selector("#preview-guidelines strong")  # the live preview
    assert page.locator("#preview-guidelines h1").inner_text() == "Rules"
    shot(page, "workspace-new-project")
    page.get_by_role("button", name="Create project").click()
    page.wait_for_url(f"{base}/p/flow/data/")
    project = Project.objects.get(slug="flow")
    assert project.rating_axes == ["helpfulness", "honesty"]

    bad = tmp_path / "bad.jsonl"
    bad.write_text(BAD)
    page.get_by_label("File").set_input_files(str(bad))
    page.get_by_role("button", name="Upload and import").click()
    errors = page.locator("[data-import-errors] li")
    errors.first.wait_for()
    lines = errors.all_inner_texts()
    assert len(lines) == 2 and lines[0].startswith("line 2: messages: ") and lines[1].startswith("line 3: ")
    assert Prompt.objects.filter(project=project).count() == 0
    shot(page, "workspace-data-errors")

    good = tmp_path / "good.jsonl"
    good.write_text(GOOD)
    page.get_by_label("File").set_input_files(str(good))
    page.get_by_role("button", name="Upload and import").click()
    page.wait_for_selector("text=Imported 3 prompts (0 already there), 3 new comparisons.")
    assert page.locator("[data-stat='comparisons']").inner_text() == "3"
    assert page.locator("[data-list='comparisons'] tbody tr").count() == 3

    page.get_by_role("link", name="Members").click()
    page.get_by_label("Username").fill("ann")
    page.locator("#f-role").select_option("annotator")
    page.get_by_role("button", name="Add member").click()
    page.wait_for_selector("tr[data-member='ann']")
    assert Membership.objects.get(project=project, user__username="ann").role == "annotator"

    annotator = api_client(Membership.objects.get(project=project, user__username="ann").user)
    judged = 0
    while (task := annotator.post("/api/v1/projects/flow/tasks/next/")).status_code == 200:
        body = task.json()
        right = next(r["id"] for r in body["responses"] if r["text"].startswith("It is"))
        other = next(r["id"] for r in body["responses"] if r["id"] != right)
        created = annotator.post(
            f"/api/v1/tasks/{body['id']}/annotations/",
            {"ranking": [[right], [other]], "strength": "clear", "client_token": f"t{judged}"},
            format="json",
        )
        assert created.status_code == 201
        judged += 1
    assert judged == 3

    first = Comparison.objects.filter(project=project).order_by("id").first()
    page.goto(f"{base}/p/flow/data/comparisons/{first.pk}/")
    assert page.locator("[data-source]").all_inner_texts() != []
    assert page.locator("[data-list='annotations'] tbody tr").count() == 1

    page.get_by_role("link", name="Export").click()
    page.get_by_label("Format").select_option("trl")
    shot(page, "workspace-export")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download").click()
    download = download_info.value
    assert download.suggested_filename == "flow-trl.jsonl"
    rows = [json.loads(line) for line in Path(download.path()).read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 3
    for row in rows:
        assert row["chosen"][0]["content"].startswith("It is") and row["rejected"][0]["content"] == "No idea."
        assert row["prompt"][-1]["role"] == "user" and row["n_annotations"] == 1

    page.get_by_role("link", name="Models").click()
    page.wait_for_selector("#jobs-panel")
    page.get_by_role("link", name="Dashboard").click()
    assert page.locator("[data-next-step='launch']").count() == 1
    assert page.locator("svg.chart rect.chart-bar").count() == 78
    assert page.locator("svg.chart rect.chart-bar[data-count='3']").count() == 2  # today, this hour
    shot(page, "workspace-dashboard")

    use_test_broker()  # the round's message goes to this test run's own broker database
    page.get_by_label("Smoke preset (smallest budgets, every stage)").check()
    page.get_by_role("button", name="Launch round").click()
    page.wait_for_selector("[data-round-progress]")
    training_round = TrainingRound.objects.get(project=project)
    assert training_round.status == "queued" and training_round.trigger == "manual"
    assert [m["headers"]["task"] for m in broker_queue("gpu")] == ["annotation.tasks.training_round_run"]


PAGES = ["", "settings/", "members/", "data/", "export/", "models/"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_in_chinese_at_phone_width(new_page, live_server, path):
    _site_admin()
    project_create(slug="zh", name="中文项目", created_by=None, policy="tiny-causal-lm")
    page = new_page(viewport=PHONE)
    login(page, live_server.url, "site-admin")
    page.locator("button[lang=zh-hans]").click()  # the language switch in the header
    page.wait_for_selector("html[lang=zh-hans]")
    page.goto(f"{live_server.url}/p/zh/{path}")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"{path}: the page scrolls sideways by {overflow}px at phone width"
    shot(page, f"workspace-zh-phone-{path.strip('/') or 'dashboard'}")


@pytest.mark.slow
def test_fill_the_queue_shows_its_progress_live(page, live_server, tmp_path):
    """A real Celery worker samples from the tiny policy; the models page follows the job without a
    reload, and the new comparisons are in the data page's list."""
    admin = _site_admin()
    project = project_create(slug="fill", name="Fill", created_by=admin, policy="tiny-causal-lm")
    for index in range(4):
        PromptFactory(project=project, external_id=f"fresh-{index}")
    with celery_worker(tmp_path) as worker:
        login(page, live_server.url, "site-admin")
        page.goto(f"{live_server.url}/p/fill/models/")
        page.evaluate("window.sameDocument = true")
        page.get_by_label("Prompts").fill("4")
        page.get_by_role("button", name="Fill the queue").click()
        page.wait_for_selector("#jobs-panel[data-active='1']")
        page.evaluate("window.sameDocument = true")  # the post redirected here: a new document
        job = GenerationJob.objects.get(project=project)
        done = f"#jobs-panel[data-active='0'] tr[data-job='{job.pk}'][data-status='succeeded']"
        try:
            page.wait_for_selector(done, timeout=180_000)
        except Exception:
            raise AssertionError(worker.output()) from None
    assert page.evaluate("window.sameDocument") is True  # followed by polling, not by reloading
    job.refresh_from_db()
    assert job.comparisons == 4 and job.progress == 1.0
    row = page.locator(f"tr[data-job='{job.pk}']")
    assert "100%" in row.inner_text() and "4" in row.inner_text()
    page.goto(f"{live_server.url}/p/fill/data/")
    assert page.locator("[data-list='comparisons'] tbody tr").count() == 4
