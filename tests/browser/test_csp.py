"""The Content-Security-Policy in a real browser (issue 14, M6): the pages work under it and Chromium reports
no violation (conftest.py's new_page fails any browser test that has one); and Chromium does enforce it."""

import pytest

from annotation.models import Annotation, Role
from tests.browser.conftest import login, open_annotate, wait_for_task
from tests.factories import ProjectFactory, UserFactory, make_comparisons, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABLE = "| model | score |\n|:-|-:|\n| a | 1 |\n"


def test_annotate_and_dashboard_work_without_violations(page, page_errors, live_server):
    project = ProjectFactory(guidelines=f"Compare the tables.\n\n{TABLE}")
    make_comparisons(project, 2, texts=[f"First answer\n\n{TABLE}", "Second answer"])
    admin = member(project, Role.ADMIN, username="strict")
    login(page, live_server.url, "strict")

    first = open_annotate(page, live_server.url, project.slug)
    # Markdown the page inserts keeps its column alignment (a class: the policy drops style attributes).
    score = page.locator(".response td.align-right").first
    assert score.evaluate("td => getComputedStyle(td).textAlign") == "right"
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    assert wait_for_task(page, other_than=first) != first
    assert Annotation.objects.filter(annotator=admin).count() == 1

    page.goto(f"{live_server.url}/p/{project.slug}/")
    assert page.locator("#rounds-panel").count() == 1
    with page.expect_response(lambda r: "/rounds/panel/" in r.url, timeout=20_000) as polled:
        pass  # the idle dashboard polls its rounds panel every 10 s
    assert polled.value.status == 200
    assert not page_errors


def test_admin_api_docs_and_password_pages_without_violations(page, page_errors, live_server):
    root = UserFactory(username="root")
    root.is_superuser = root.is_staff = True
    root.save()
    login(page, live_server.url, "root")
    for path in ["/admin/", "/admin/auth/user/", f"/admin/auth/user/{root.pk}/change/", "/password/"]:
        response = page.goto(f"{live_server.url}{path}")
        assert (
            response.status == 200 and "frame-ancestors 'none'" in response.headers["content-security-policy"]
        )
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock")  # Swagger UI started (its own script) and read the schema
    assert page.locator(".opblock").count() > 10
    assert not page_errors


def test_the_browser_enforces_the_policy(page, page_errors, live_server):
    """What a successful injection would try is refused, and reported (so the tests above can fail)."""
    project = ProjectFactory()
    make_comparisons(project, 1)
    member(project, Role.ANNOTATOR, username="probe")
    login(page, live_server.url, "probe")
    open_annotate(page, live_server.url, project.slug)
    # Chromium logs a refusal at once and fires securitypolicyviolation after it: wait for the event's line.
    with page.expect_console_message(lambda m: m.text.startswith("CSP violation: script-src")):
        page.evaluate(
            """() => {
              const script = document.createElement("script");
              script.textContent = "window.injected = true";
              document.body.append(script);
            }"""
        )
    assert page.evaluate("window.injected") is None
    with page.expect_console_message(lambda m: m.text.startswith("CSP violation: img-src")):
        page.evaluate(
            """() => document.body.insertAdjacentHTML("beforeend",
                 '<img alt="" src="https://example.invalid/x.png">')"""
        )
    assert any("script-src" in error for error in page_errors)
    assert any("img-src" in error for error in page_errors)
    page_errors.clear()  # expected here; any other violation would fail the test at teardown
