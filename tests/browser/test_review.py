"""The reviewer's page in a real browser: keyboard-only verdicts on the queue, every annotation shown
pseudonymously with its rationale, model output inert, English and Chinese, desktop and phone."""

import pytest

from annotation.models import Review, Role
from tests.browser.conftest import PHONE, login, shot
from tests.factories import ProjectFactory, make_comparisons, member
from tests.helpers import annotate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HOSTILE = 'Sure! <img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script> **bold**'


def _disputed(n=2):
    project = ProjectFactory(overlap=2, name="Review demo")
    comparisons = make_comparisons(project, n, texts=[HOSTILE, "A plain, careful answer."])
    ada, bob = member(project, Role.ANNOTATOR, "ada"), member(project, Role.ANNOTATOR, "bob")
    for comparison in comparisons:
        annotate(comparison, ada, order=[0, 1], strength="strong", rationale="The first one is friendlier.")
        annotate(comparison, bob, order=[1, 0], rationale="两者中第二个更准确。")
    reviewer = member(project, Role.REVIEWER, "rita")
    return project, comparisons, reviewer


def _wait_for_item(page, other_than=None):
    page.wait_for_function(
        "prev => { const r = document.getElementById('reviewer');"
        " return r.dataset.state === 'item' && r.dataset.comparisonId !== String(prev); }",
        arg=other_than,
    )
    return int(page.locator("#reviewer").get_attribute("data-comparison-id"))


def test_a_reviewer_overrides_rejects_and_accepts_with_the_keyboard(page, live_server):
    project, comparisons, _ = _disputed()
    login(page, live_server.url, "rita")
    page.goto(f"{live_server.url}/p/{project.slug}/annotate/")
    page.locator(".site-nav").get_by_role("link", name="Review", exact=True).click()
    first = _wait_for_item(page)
    assert page.locator(".review-annotation").count() == 2
    assert page.locator(".review-rationale").all_inner_texts() == [
        "The first one is friendlier.",
        "两者中第二个更准确。",
    ]
    pseudonyms = page.locator(".pseudonym").all_inner_texts()
    assert all(name.startswith("ann_") for name in pseudonyms) and "ada" not in page.content()
    assert page.locator(".tag-reason").all_inner_texts() == ["Annotators disagree"]
    assert page.evaluate("window.__pwned") is None and page.locator(".review-response strong").count() >= 1
    shot(page, "review-en-1280")

    page.keyboard.press("o")
    page.keyboard.press("2")  # B best, A follows
    assert page.locator("#review-override-order").inner_text() == "B > A"
    page.keyboard.press("x")  # reject the highlighted (first) annotation
    assert page.locator(".review-annotation").first.get_attribute("data-rejected") == "true"
    page.keyboard.press("c")
    page.keyboard.type("A is unsafe markup; ada misread it")
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")
    second = _wait_for_item(page, other_than=first)
    review = Review.objects.get(comparison_id=first)
    response_ids = list(comparisons[0].items.order_by("position").values_list("response_id", flat=True))
    assert review.verdict == "override" and review.ranking == [[response_ids[1]], [response_ids[0]]]
    ada_annotation = comparisons[0].annotations.order_by("id").first()
    assert review.rejected_annotations == [ada_annotation.pk] and review.comment.startswith("A is unsafe")
    assert review.reasons == ["disagreement"]

    page.keyboard.press("Enter")  # no verdict yet: refused, said so
    assert "verdict" in page.locator("#review-status").inner_text().lower()
    page.keyboard.press("a")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('reviewer').dataset.state === 'empty'")
    assert Review.objects.get(comparison_id=second).verdict == "accept"
    assert page.locator("#review-empty").is_visible()


def test_annotators_cannot_open_the_review_page_and_see_no_link(page, live_server):
    project, _, _ = _disputed(1)
    login(page, live_server.url, "ada")
    page.goto(f"{live_server.url}/p/{project.slug}/annotate/")
    assert page.locator(".site-nav").get_by_role("link", name="Review", exact=True).count() == 0
    response = page.goto(f"{live_server.url}/p/{project.slug}/review/")
    assert response.status == 404


@pytest.mark.parametrize(
    ("language", "viewport", "name"),
    [("zh-hans", None, "1280"), ("en", PHONE, "390"), ("zh-hans", PHONE, "390")],
)
def test_the_review_page_in_chinese_and_on_a_phone(new_page, live_server, language, viewport, name):
    project, _, _ = _disputed(1)
    page = new_page(viewport=viewport)
    login(page, live_server.url, "rita")  # the login form in English, then the language of the test
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page.goto(f"{live_server.url}/p/{project.slug}/review/")
    _wait_for_item(page)
    if language == "zh-hans":
        assert page.locator(".tag-reason").inner_text() == "标注者意见不一"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= (viewport or {"width": 1280})["width"]  # nothing wider than the screen
    shot(page, f"review-{'zh' if language == 'zh-hans' else 'en'}-{name}")
