"""The annotate page's feedback kinds in a real browser (issue 11): a rewrite with its diff, a score-only
task, harm flags and the "which is safer" verdict, by keyboard; model output stays text in the edit box."""

import pytest
from playwright.sync_api import expect

from annotation.feedback.settings import default_categories
from annotation.models import Annotation, Response, Role
from tests.browser.conftest import PHONE, login, open_annotate, response_ids, shot, wait_for_task
from tests.factories import ProjectFactory, make_comparisons, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOSTILE = '<img src=x onerror="window.__pwned=1">Plain answer.'


def test_a_rewrite_shows_its_diff_and_becomes_a_response(page, live_server):
    project = ProjectFactory(rating_axes=[])
    make_comparisons(project, 2, texts=[HOSTILE, "The other answer."])
    member(project, Role.ANNOTATOR, username="ed")
    login(page, live_server.url, "ed")
    task = open_annotate(page, live_server.url, project.slug)
    original = next(r for r in Response.objects.filter(pk__in=response_ids(task)) if r.text == HOSTILE)
    index = response_ids(task).index(original.pk)

    page.keyboard.press("1")
    if index == 1:
        page.keyboard.press("j")
    page.keyboard.press("t")  # the highlighted response's rewrite box, with its text to start from
    box = page.locator(".response").nth(index).locator("textarea.edit-text")
    assert box.evaluate("b => b === document.activeElement")
    assert box.input_value() == HOSTILE  # the model's output as text, never parsed as HTML
    diff = page.locator(".response").nth(index).locator(".edit-diff")
    assert "Unchanged" in diff.inner_text()
    page.keyboard.press("Control+a")
    page.keyboard.type("A plain answer, rewritten.")
    assert diff.locator("ins").first.inner_text().strip() and diff.locator("del").count() >= 1
    page.keyboard.press("Escape")
    shot(page, "feedback-edit-1280")

    page.reload()  # the draft keeps the rewrite
    wait_for_task(page)
    assert page.locator(".response").nth(index).locator("textarea.edit-text").input_value() == (
        "A plain answer, rewritten."
    )
    page.keyboard.press("o")
    page.keyboard.type("My own answer.")
    page.keyboard.press("Control+Enter")
    wait_for_task(page, other_than=task)
    annotation = Annotation.objects.get(comparison_id=task)
    assert [(e["response"], e["text"]) for e in annotation.edits] == [
        (original.pk, "A plain answer, rewritten."),
        (None, "My own answer."),
    ]
    assert Response.objects.filter(edited_from=original, text="A plain answer, rewritten.").exists()
    assert page.evaluate("window.__pwned") is None


def test_a_score_only_task_by_keyboard(new_page, live_server):
    project = ProjectFactory(responses_per_task=1, rating_axes=["helpfulness", "honesty"], rating_scale_max=5)
    make_comparisons(project, 2)
    member(project, Role.ANNOTATOR, username="sco")
    page = new_page(PHONE)
    login(page, live_server.url, "sco")
    task = open_annotate(page, live_server.url, project.slug)
    assert page.locator("#verdict-group").is_hidden() and page.locator("#strength-group").is_hidden()
    assert (
        page.locator("#legend-score").get_attribute("hidden") is None
    )  # (the legend is for keyboards: hidden on a phone)
    page.keyboard.press("Enter")  # not scored yet: nothing is sent
    expect(page.locator("#status")).to_contain_text("every axis")
    page.keyboard.press("4")
    page.keyboard.press("5")
    shot(page, "feedback-score-phone")
    page.keyboard.press("Enter")
    wait_for_task(page, other_than=task)
    annotation = Annotation.objects.get(comparison_id=task)
    (rid,) = response_ids(task)
    assert annotation.ranking == [[rid]] and annotation.ratings == {
        str(rid): {"helpfulness": 4, "honesty": 5}
    }


def test_harm_flags_and_the_safer_verdict(page, live_server):
    project = ProjectFactory(rating_axes=[], safety_categories=default_categories(), dual_preference=True)
    make_comparisons(project, 2)
    member(project, Role.ANNOTATOR, username="hh")
    login(page, live_server.url, "hh")
    task = open_annotate(page, live_server.url, project.slug)
    a, b = response_ids(task)
    assert page.locator("#safer-group").is_visible() and page.locator("#legend-harm").is_visible()

    page.keyboard.press("1")
    page.keyboard.press("j")
    page.keyboard.press("h")  # B's harm flag
    page.keyboard.press("ArrowRight")  # from "safe" to "unsafe"
    card = page.locator(".response").nth(1)
    assert card.get_attribute("data-harm") == "unsafe"
    violence = card.locator(".harm-category", has_text="Violence")
    assert "violence against people" in violence.inner_text()  # the category's one-line description
    page.keyboard.press("Escape")
    page.keyboard.press("a")  # A is safer
    page.keyboard.press("Enter")  # the flag has no category yet: not sent
    expect(page.locator("#status")).to_contain_text("harm category")
    violence.locator("input").check()
    card.locator("input[data-harm-severity=severe]").check()
    page.locator(".response").nth(0).locator("input[data-harm-safe=safe]").check()
    assert page.locator("[data-safer=a]").get_attribute("aria-pressed") == "true"
    shot(page, "feedback-harm-1280")
    page.locator("#main").focus()
    page.keyboard.press("Enter")
    wait_for_task(page, other_than=task)
    annotation = Annotation.objects.get(comparison_id=task)
    assert annotation.ranking == [[a], [b]] and annotation.harmless_ranking == [[a], [b]]
    assert annotation.safety == {
        str(a): {"safe": True, "categories": [], "severity": ""},
        str(b): {"safe": False, "categories": ["violence"], "severity": "severe"},
    }


def test_the_feedback_controls_in_chinese(page, live_server):
    project = ProjectFactory(rating_axes=[], safety_categories=default_categories(), dual_preference=True)
    make_comparisons(project, 1)
    member(project, Role.ANNOTATOR, username="zh")
    login(page, live_server.url, "zh")
    page.get_by_role("button", name="中文").click()
    page.wait_for_load_state("load")
    open_annotate(page, live_server.url, project.slug)
    assert "A 更安全" in page.locator("#safer-group").inner_text()
    assert "暴力" in page.locator(".response").nth(0).locator(".harm").text_content()
    assert "改写" in page.locator(".response").nth(0).locator(".edit-open").inner_text()
