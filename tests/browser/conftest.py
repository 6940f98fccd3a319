"""Real Chromium (Debian's /usr/bin/chromium) driven by Playwright's sync API against pytest-django's
live_server. Chromium missing is a failure, not a skip: `make chromium` installs it."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from annotation.models import Comparison
from tests.factories import PASSWORD

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# Generous: the test machines are shared and slow; nothing here asserts on time.
TIMEOUT_MS = 30_000


@pytest.fixture(scope="session")
def browser() -> Browser:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make chromium)", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageErrors(list):
    """Uncaught exceptions of the page's scripts and Content-Security-Policy violations; a test fails when
    any happened."""


# Every page of every browser test reports what the Content-Security-Policy blocked (the event, and
# Chromium's console line for what the event misses), so a page that needs more than the policy allows fails
# the test that opens it. Playwright injects this before the page's own scripts, unaffected by the policy.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || event.documentURI}:${event.lineNumber}`);
});
"""


def csp_violation(message: ConsoleMessage) -> str | None:
    text = message.text
    return text if "CSP violation" in text or "Content Security Policy" in text else None


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
def new_page(browser: Browser, page_errors: PageErrors):
    contexts = []
    errors = page_errors

    def on_console(message: ConsoleMessage) -> None:
        if violation := csp_violation(message):
            errors.append(violation)

    def make(viewport: dict | None = None, **options) -> Page:
        context = browser.new_context(viewport=viewport or DESKTOP, **options)
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(REPORT_CSP_VIOLATIONS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", on_console)
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors or CSP violations on the page: {errors}"


@pytest.fixture
def page(new_page) -> Page:
    return new_page()


def login(page: Page, base_url: str, username: str) -> None:
    """Sign in through the login form, as a person would."""
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(f"{base_url}/")


def open_annotate(page: Page, base_url: str, slug: str) -> int:
    """Open the annotate page and wait for its first task; returns the task id."""
    page.goto(f"{base_url}/p/{slug}/annotate/")
    return wait_for_task(page)


def wait_for_task(page: Page, other_than: int | None = None) -> int:
    page.wait_for_function(
        "prev => { const id = document.getElementById('annotator').dataset.taskId;"
        " return id && id !== String(prev); }",
        arg=other_than,
    )
    return int(page.locator("#annotator").get_attribute("data-task-id"))


def response_ids(task_id: int) -> list[int]:
    """Response pks of a comparison in display order (A, B, ...)."""
    return list(
        Comparison.objects.get(pk=task_id).items.order_by("position").values_list("response_id", flat=True)
    )


def shot(page: Page, name: str) -> None:
    """Save a screenshot when PREFER_SHOTS names a folder (for looking at the design; never in the repo)."""
    folder = os.environ.get("PREFER_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=False)
