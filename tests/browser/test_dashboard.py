"""The admin's dashboard in a real browser: launch a round from the form, watch its progress move while a
real Celery worker runs it, and see the charts it produced."""

import json
import time

import pytest

from annotation.models import Role, TrainingRound
from tests.browser.conftest import login, shot
from tests.celery_worker import celery_worker
from tests.factories import TINY_ROUND, ProjectFactory, make_comparisons, member, tiny_loop_project

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


ACTIVE = "() => document.getElementById('rounds-panel').dataset.active === '1'"
IDLE = "() => document.getElementById('rounds-panel').dataset.active === '0'"


def test_round_started_elsewhere_shows_up_without_a_reload(page, live_server):
    """The idle dashboard keeps polling slowly: a round the schedule or the CLI starts appears on its own,
    the launch button follows it, and the page refreshes once the round is over."""
    project = ProjectFactory()
    make_comparisons(project, 1)
    admin = member(project, Role.ADMIN)
    login(page, live_server.url, admin.username)
    page.goto(f"{live_server.url}/p/{project.slug}/")
    page.evaluate("window.sameDocument = true")
    launch = page.get_by_role("button", name="Launch round")
    assert launch.is_enabled()

    training_round = TrainingRound.objects.create(
        project=project, kind="ppo", status="running", stage="policy", progress=0.25, trigger="schedule"
    )
    page.wait_for_function(ACTIVE, timeout=20_000)  # idle polling runs every 10 s
    assert page.evaluate("window.sameDocument") is True  # swapped in place, the form kept
    assert launch.is_disabled()
    assert "(schedule)" in page.locator(f"tr[data-round='{training_round.pk}']").inner_text()

    TrainingRound.objects.filter(pk=training_round.pk).update(status="succeeded", progress=1.0)
    page.wait_for_function(IDLE, timeout=10_000)
    assert page.get_by_role("button", name="Launch round").is_enabled()


def test_dashboard_in_chinese(page, live_server):
    project = ProjectFactory()
    make_comparisons(project, 1)
    admin = member(project, Role.ADMIN)
    TrainingRound.objects.create(project=project, kind="dpo", status="failed", stage="policy", error="boom")
    login(page, live_server.url, admin.username)
    page.goto(f"{live_server.url}/p/{project.slug}/")
    page.get_by_role("button", name="中文").click()
    page.wait_for_function("() => document.documentElement.lang === 'zh-hans'")
    main = page.locator("main")
    for text in ("训练轮次", "吞吐量与一致性", "启动轮次", "失败", "策略", "导出偏好数据"):
        assert text in main.inner_text(), text
    for text in ("Training rounds", "Throughput", "Launch round", "failed", "Export:"):
        assert text not in main.inner_text(), text
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280  # nothing pushes the page wider
    shot(page, "dashboard-zh-1280")
