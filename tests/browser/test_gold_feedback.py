"""Gold feedback on the annotate page: after a gold item, with the project's gold_feedback on, the expected
answer (in the letters the annotator saw) and its explanation; without it, nothing."""

import io
import json

import pytest

from annotation.data.imports import prompts_import
from annotation.models import Response, Role
from tests.browser.conftest import login, open_annotate, response_ids, shot, wait_for_task
from tests.factories import ProjectFactory, make_comparisons, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _project(feedback: bool):
    project = ProjectFactory(gold_rate=1.0, gold_feedback=feedback)
    line = {
        "id": "g1",
        "prompt": "What is 2 + 2?",
        "responses": [{"text": "5"}, {"text": "4"}],
        "gold": {"ranking": [[1], [0]], "explanation": "2 + 2 is 4."},
    }
    prompts_import(project=project, lines=io.BytesIO(json.dumps(line).encode() + b"\n").readlines())
    make_comparisons(project, 1)
    member(project, Role.ANNOTATOR, "gia")
    return project


@pytest.mark.parametrize("feedback", [True, False])
def test_gold_feedback_shows_the_expected_answer_only_when_the_project_says_so(page, live_server, feedback):
    project = _project(feedback)
    login(page, live_server.url, "gia")
    task = open_annotate(page, live_server.url, project.slug)
    texts = [Response.objects.get(pk=rid).text for rid in response_ids(task)]
    wrong = "1" if texts[0] == "5" else "2"  # the key of the response that says 5
    page.keyboard.press(wrong)
    page.keyboard.press("Enter")
    wait_for_task(page, other_than=task)
    panel = page.locator("#gold-feedback")
    if feedback:
        right_letter = "A" if texts[0] == "4" else "B"
        other = "B" if right_letter == "A" else "A"
        assert panel.is_visible()
        assert "expected answer was different" in panel.inner_text()
        assert (
            f"Expected: {right_letter} > {other}" in panel.inner_text()
            and "2 + 2 is 4." in panel.inner_text()
        )
        shot(page, "annotate-gold-feedback-en-1280")
        panel.get_by_role("button", name="Got it").click()
        assert not panel.is_visible()
    else:
        assert not panel.is_visible() and panel.inner_text() == ""
