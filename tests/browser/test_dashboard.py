"""The admin's dashboard in a real browser: launch a round from the form, watch its progress move while a
real Celery worker runs it, and see the charts it produced."""

import json
import time

import pytest

from annotation.models import TrainingRound
from tests.browser.conftest import login
from tests.celery_worker import celery_worker
from tests.factories import TINY_ROUND, tiny_loop_project

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_launch_watch_progress_and_see_charts(page, live_server, tmp_path):
    project, admin, _ = tiny_loop_project()
    slow_enough_to_watch = {**TINY_ROUND, "ppo": {"preset": "smoke", "steps": 24}}
    with celery_worker(tmp_path) as worker:
        login(page, live_server.url, admin.username)
        page.goto(f"{live_server.url}/p/{project.slug}/")
        page.get_by_label("Config (JSON, optional)").fill(json.dumps(slow_enough_to_watch))
        page.get_by_role("button", name="Launch round").click()
        page.wait_for_selector("[data-round-progress]")
        assert "launched" in page.locator(".alert").first.inner_text()

        seen: set[str] = set()
        deadline = time.time() + 240
        while time.time() < deadline:
            training_round = TrainingRound.objects.get(project=project)
            if page.locator("[data-round-progress]").count():
                seen.add(page.locator("[data-round-progress]").get_attribute("value"))
            if training_round.status in {"succeeded", "failed", "cancelled"}:
                break
            time.sleep(0.5)
        assert training_round.status == "succeeded", training_round.error + worker.output()
    assert len(seen) >= 2, f"the progress bar never moved: {seen}"  # updated live, without a reload
    finished = "() => document.getElementById('rounds-panel').dataset.active === '0'"
    page.wait_for_function(finished, timeout=30_000)
    charts = page.locator("svg.chart path")
    assert charts.count() >= 3  # step curves of the round (RM accuracy, reward, KL, ...)
    row = page.locator(f"tr[data-round='{training_round.pk}']")
    assert "succeeded" in row.inner_text() and "policy v2 accepted" in row.inner_text()
