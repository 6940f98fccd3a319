"""Layout of the annotate page at a laptop and a phone width: side by side vs stacked, nothing overflows,
long code scrolls inside its block. Set PREFER_SHOTS=/some/dir to keep screenshots of each state."""

import pytest

from annotation.models import Prompt, Role
from tests.browser.conftest import DESKTOP, PHONE, login, open_annotate, shot, wait_for_task
from tests.factories import ProjectFactory, make_comparisons, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_LINE = "result = " + " + ".join(f"compute_value_{i}(x)" for i in range(40))
RESPONSE_A = f"""Here is a corrected version. The bug is an off-by-one in the loop bound:

```python
def moving_average(values, window):
    if window <= 0:
        raise ValueError("window must be positive")
    total = sum(values[:window])
    out = [total / window]
    for i in range(window, len(values)):
        total += values[i] - values[i - window]
        out.append(total / window)
    return out
{LONG_LINE}
```

It runs in **O(n)** time and keeps `total` as a running sum. An unbroken token for good measure:
{"x" * 180}
"""
RESPONSE_B = """You can use `numpy.convolve`:

1. Build a kernel of ones: `np.ones(window) / window`.
2. Convolve with `mode="valid"`.

| approach | time | memory |
|---|---|---|
| loop | O(n) | O(1) |
| convolve | O(n·w) | O(n) |

> Note: for very large windows the cumulative-sum trick is faster.
"""
CONVERSATION = [
    {"role": "system", "content": "You are a careful Python tutor. Prefer clear, tested code."},
    {"role": "user", "content": "My moving average function returns one value too many. Why?"},
    {"role": "assistant", "content": "Could you share the code and an example input?"},
    {
        "role": "user",
        "content": (
            "```python\ndef moving_average(v, w):\n    return [sum(v[i:i+w])/w for i in range(len(v))]\n```"
        ),
    },
]


def _project_with_rich_task(responses_per_task: int = 2):
    project = ProjectFactory(
        name="Code assistant preferences",
        responses_per_task=responses_per_task,
        rating_axes=["helpfulness", "harmlessness", "honesty"],
        guidelines=(
            "# How to judge\n\n1. **Correctness** first.\n2. Then clarity.\n\n"
            "```\nprefer shorter when equal\n```"
        ),
    )
    texts = [RESPONSE_A, RESPONSE_B, "Short answer: use a deque.", "I cannot help with that."]
    texts = texts[:responses_per_task]
    comparisons = make_comparisons(project, 2, texts=texts)
    Prompt.objects.filter(pk=comparisons[0].prompt_id).update(messages=CONVERSATION)
    return project


def _overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_pairwise_side_by_side_on_a_laptop(new_page, live_server):
    project = _project_with_rich_task()
    member(project, Role.ANNOTATOR, username="wide")
    page = new_page(DESKTOP)
    login(page, live_server.url, "wide")
    shot(page, "home-1280")
    open_annotate(page, live_server.url, project.slug)
    shot(page, "annotate-pairwise-1280")

    a = page.locator("#response-0").bounding_box()
    b = page.locator("#response-1").bounding_box()
    assert a["x"] + a["width"] <= b["x"]
    assert abs(a["y"] - b["y"]) < 4  # same row (sub-pixel offsets from fonts and sticky headers)
    assert _overflow(page) <= 0
    card = page.locator(".response", has=page.locator("pre"))
    code = card.locator("pre")
    assert code.evaluate("pre => pre.scrollWidth > pre.clientWidth")  # long lines scroll inside the block
    box, code_box = card.bounding_box(), code.bounding_box()
    assert code_box["x"] + code_box["width"] <= box["x"] + box["width"]
    # Every key is on screen.
    legend = page.locator(".key-legend").inner_text()
    for key in ["1", "2", "3", "X", "Q", "W", "E", "R", "N", "S", "G", "Enter"]:
        assert key in legend
    assert page.locator(".decision-bar").is_visible()

    page.keyboard.press("1")
    page.keyboard.press("w")
    page.keyboard.press("r")
    page.keyboard.press("6")
    shot(page, "annotate-pairwise-chosen-1280")
    page.keyboard.press("Escape")
    page.keyboard.press("g")
    page.locator("#guidelines-dialog[open]").wait_for()
    shot(page, "guidelines-1280")
    page.keyboard.press("g")
    page.keyboard.press("s")
    page.locator("#skip-dialog[open]").wait_for()
    shot(page, "skip-1280")
    page.keyboard.press("Escape")
    assert not page.locator("#skip-dialog").evaluate("d => d.open")


def test_pairwise_stacks_on_a_phone(new_page, live_server):
    project = _project_with_rich_task()
    member(project, Role.ANNOTATOR, username="narrow")
    page = new_page(PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    login(page, live_server.url, "narrow")
    shot(page, "home-390")
    open_annotate(page, live_server.url, project.slug)
    shot(page, "annotate-pairwise-390")

    a = page.locator("#response-0").bounding_box()
    b = page.locator("#response-1").bounding_box()
    assert b["y"] >= a["y"] + a["height"]
    assert a["width"] <= PHONE["width"]
    assert _overflow(page) <= 0
    page.locator("#response-1").scroll_into_view_if_needed()
    shot(page, "annotate-pairwise-390-scrolled")
    page.get_by_role("button", name="B is better").tap()
    assert page.locator("[data-choice='b']").get_attribute("aria-pressed") == "true"


def test_ranking_layout_and_empty_state(new_page, live_server):
    project = _project_with_rich_task(responses_per_task=4)
    member(project, Role.ANNOTATOR, username="lister")
    page = new_page(DESKTOP)
    login(page, live_server.url, "lister")
    first = open_annotate(page, live_server.url, project.slug)
    for key in ["1", "3", "2"]:
        page.keyboard.press(key)
    page.wait_for_timeout(800)  # let the smooth scroll to the highlighted response settle
    shot(page, "annotate-ranking-rich-1280")
    assert _overflow(page) <= 0

    phone = new_page(PHONE, is_mobile=True, has_touch=True)
    login(phone, live_server.url, "lister")
    open_annotate(phone, live_server.url, project.slug)
    shot(phone, "annotate-ranking-390")
    assert _overflow(phone) <= 0

    page.keyboard.press("3")
    page.keyboard.press("Enter")
    wait_for_task(page, other_than=first)
    page.keyboard.press("s")  # the last one: skip it with a reason, by keyboard
    page.locator("#skip-dialog[open]").wait_for()
    page.keyboard.type("unclear")
    page.keyboard.press("Enter")
    page.locator("#state-empty").wait_for()
    assert page.locator("#empty-session").inner_text() == "You submitted 1 in this session."
    shot(page, "annotate-empty-1280")


def test_admin_finds_the_dashboard_and_annotators_do_not(new_page, live_server):
    project = _project_with_rich_task()
    member(project, Role.ADMIN, username="boss")
    member(project, Role.ANNOTATOR, username="worker")

    page = new_page(DESKTOP)
    page.goto(f"{live_server.url}/login/")
    shot(page, "login-1280")
    login(page, live_server.url, "boss")
    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_url(f"{live_server.url}/p/{project.slug}/")
    assert page.locator("[data-stat='comparisons']").inner_text() == "2"
    assert page.locator("[data-stat='open']").inner_text() == "2"
    assert page.locator("[data-stat='members']").inner_text() == "2"
    shot(page, "dashboard-1280")

    other = new_page(DESKTOP)
    login(other, live_server.url, "worker")
    assert other.get_by_role("link", name="Annotate").count() == 1
    assert other.get_by_role("link", name="Dashboard").count() == 0


def test_dark_scheme_keeps_the_layout(new_page, live_server):
    project = _project_with_rich_task()
    member(project, Role.ANNOTATOR, username="night")
    page = new_page(DESKTOP, color_scheme="dark")
    login(page, live_server.url, "night")
    open_annotate(page, live_server.url, project.slug)
    page.keyboard.press("2")
    page.keyboard.press("q")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(244, 245, 247)"  # the dark palette is in use
    assert _overflow(page) <= 0
    shot(page, "annotate-dark-1280")
