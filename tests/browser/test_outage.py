"""The annotate page through a database outage (issue 14, faults): the server's 503 with Retry-After (what
annotation/availability.py answers, tested against a real refused connection in
tests/annotation/test_database_down.py) is replayed here for the first submission; the page keeps the answer,
says so, sends it again after the delay with the same client_token, and it is counted once."""

import pytest

from annotation.models import Annotation, Role
from tests.browser.conftest import login, open_annotate, wait_for_task
from tests.factories import ProjectFactory, make_comparisons, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

UNAVAILABLE = '{"detail": "The database is briefly unavailable", "code": "unavailable"}'
SAW_OUTAGE_MESSAGE = """() => {
    const status = document.getElementById('status');
    new MutationObserver(() => {
        if (status.textContent.includes('briefly unavailable')) window.sawOutageMessage = true;
    }).observe(status, {childList: true, characterData: true, subtree: true});
}"""


def test_a_submission_during_an_outage_is_resent_and_counted_once(page, live_server):
    project = ProjectFactory()
    make_comparisons(project, 2)
    user = member(project, Role.ANNOTATOR, username="steady")
    refused = []

    def outage_once(route):
        if not refused:
            refused.append(route.request.post_data_json)
            route.fulfill(
                status=503, body=UNAVAILABLE, headers={"Content-Type": "application/json", "Retry-After": "1"}
            )
        else:
            route.continue_()

    login(page, live_server.url, "steady")
    first = open_annotate(page, live_server.url, project.slug)
    page.route("**/api/v1/tasks/*/annotations/**", outage_once)
    # The message lasts only until the page resends (Retry-After: 1 s); on a loaded machine a poll can start
    # after it is gone, so an observer installed before the submission records that it was shown.
    page.evaluate(SAW_OUTAGE_MESSAGE)
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.sawOutageMessage === true")
    assert Annotation.objects.filter(annotator=user).count() == 0
    second = wait_for_task(page, other_than=first)  # resent by itself after Retry-After

    (row,) = Annotation.objects.filter(annotator=user)
    assert row.comparison_id == first and second != first
    assert row.client_token == refused[0]["client_token"]
    assert page.locator("#session-count").inner_text() == "1"
