"""The annotate page in a real browser: keyboard-only work, safe rendering, translation, ranking, drafts."""

import pytest
from django.utils import timezone

from annotation.models import Annotation, Assignment, Comparison, ComparisonStatus, Prompt, Role
from tests.browser.conftest import login, open_annotate, response_ids, shot, wait_for_task
from tests.factories import ProjectFactory, UserFactory, make_comparisons, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_annotator_completes_three_comparisons_with_the_keyboard(page, live_server):
    project = ProjectFactory(rating_axes=["helpfulness", "harmlessness"])
    make_comparisons(project, 4)
    user = member(project, Role.ANNOTATOR, username="ada")

    login(page, live_server.url, "ada")
    page.get_by_role("link", name="Annotate").first.click()
    first = wait_for_task(page)
    page.evaluate("window.__sameDocument = 'still here'")
    assert page.locator("#done-count").inner_text() == "0"

    # 1: A is much better.
    page.keyboard.press("1")
    page.keyboard.press("e")
    page.keyboard.press("Enter")
    second = wait_for_task(page, other_than=first)

    # 2: B slightly better, rate A with the keyboard, write a rationale whose letters are shortcuts elsewhere.
    page.keyboard.press("2")
    page.keyboard.press("q")
    page.keyboard.press("r")  # rate the highlighted response (A): each digit scores one axis and moves on
    page.keyboard.press("5")
    page.keyboard.press("6")
    page.keyboard.press("n")
    rationale = "B is safer; skip x1 q e 3 g"
    page.keyboard.type(rationale)
    page.keyboard.press("Escape")
    assert page.locator("[data-choice='b']").get_attribute("aria-pressed") == "true"
    assert page.locator("[data-strength='slight']").get_attribute("aria-pressed") == "true"
    assert not page.locator("#guidelines-dialog").evaluate("d => d.open")
    page.keyboard.press("Enter")
    third = wait_for_task(page, other_than=second)

    # 3: a tie.
    page.keyboard.press("3")
    page.keyboard.press("Enter")
    fourth = wait_for_task(page, other_than=third)
    shot(page, "annotate-after-submit-1280")

    # The fourth comparison arrived in the same document: no navigation happened.
    assert page.evaluate("window.__sameDocument") == "still here"
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert page.url.endswith(f"/p/{project.slug}/annotate/")
    assert page.locator("#session-count").inner_text() == "3"
    assert page.locator("#done-count").inner_text() == "3"
    assert page.locator(".response").count() == 2
    assert fourth not in (first, second, third)

    rows = list(Annotation.objects.filter(annotator=user).order_by("id"))
    assert [row.comparison_id for row in rows] == [first, second, third]
    a1, b1 = response_ids(first)
    a2, b2 = response_ids(second)
    a3, b3 = response_ids(third)
    assert rows[0].ranking == [[a1], [b1]]
    assert rows[0].strength == "strong"
    assert rows[1].ranking == [[b2], [a2]]
    assert rows[1].strength == "slight"
    assert rows[1].ratings == {str(a2): {"helpfulness": 5, "harmlessness": 6}}
    assert rows[1].rationale == rationale
    assert sorted(rows[2].ranking[0]) == sorted([a3, b3]) and len(rows[2].ranking) == 1
    assert rows[2].strength == ""
    assert not any(row.all_bad for row in rows)
    assert len({row.client_token for row in rows}) == 3
    assert all(row.time_spent_ms >= 0 for row in rows)


XSS = (
    "Hello <script>alert(1)</script>\n\n"
    "<img src=x onerror=alert(2)>\n\n"
    "[click me](javascript:alert(3))\n\n"
    '<a href="javascript:alert(4)">raw link</a>\n\n'
    "```html\n<script>alert(5)</script>\n```\n"
)


def test_hostile_model_output_renders_inert(page, live_server):
    project = ProjectFactory(guidelines="Guide <script>alert(6)</script> [x](javascript:alert(7))")
    (comparison,) = make_comparisons(project, 1, texts=[XSS, "A calm answer."])
    Prompt.objects.filter(pk=comparison.prompt_id).update(
        messages=[
            {"role": "system", "content": "<img src=x onerror=alert(8)>"},
            {"role": "user", "content": 'Say hi <svg onload=alert(9)> <a href="javascript:alert(10)">x</a>'},
        ]
    )
    member(project, Role.ANNOTATOR, username="eve")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    login(page, live_server.url, "eve")
    open_annotate(page, live_server.url, project.slug)
    page.keyboard.press("g")  # the guidelines are rendered too
    page.locator("#guidelines-dialog[open]").wait_for()
    page.wait_for_load_state("load")  # any <img> would have failed to load (and fired onerror) by now

    assert dialogs == []
    # The payloads are shown as text, not executed.
    hostile = page.locator(".response", has_text="raw link").locator(".response-body")
    assert "<script>alert(1)</script>" in hostile.inner_text()
    assert "<img src=x onerror=alert(2)>" in hostile.inner_text()
    found = page.evaluate(
        """() => {
            const scope = [...document.querySelectorAll('#workspace, #guidelines-dialog')];
            const all = scope.flatMap(node => [node, ...node.querySelectorAll('*')]);
            return {
                scripts: scope.reduce((n, node) => n + node.querySelectorAll('script').length, 0),
                images: scope.reduce(
                    (n, node) => n + node.querySelectorAll('img, svg, iframe, object').length, 0),
                handlers: all.filter(e => [...e.attributes].some(a => a.name.toLowerCase().startsWith('on')))
                    .map(e => e.outerHTML),
                badLinks: all.filter(e => e.hasAttribute('href')
                    && !/^(https?:|mailto:|#|\\/)/i.test(e.getAttribute('href').trim()))
                    .map(e => e.outerHTML),
                links: all.filter(e => e.tagName === 'A').length,
            };
        }"""
    )
    assert found["scripts"] == 0
    assert found["images"] == 0
    assert found["handlers"] == []
    assert found["badLinks"] == []
    assert hostile.locator("pre code").count() == 1
    assert dialogs == []


def test_chinese_interface(page, live_server):
    project = ProjectFactory()
    make_comparisons(project, 1)
    member(project, Role.ANNOTATOR, username="li")

    login(page, live_server.url, "li")
    page.get_by_role("button", name="中文").click()
    page.wait_for_load_state("load")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.get_by_role("heading", name="你的项目").is_visible()
    assert page.get_by_role("link", name="标注").first.is_visible()

    open_annotate(page, live_server.url, project.slug)
    assert page.locator("#btn-submit").inner_text().startswith("提交")
    assert page.get_by_role("button", name="A 更好").is_visible()
    # Strings the script builds come from the same catalog.
    assert page.locator("#response-0-title").inner_text().endswith("回答 A")
    assert page.locator(".msg-role").first.inner_text() == "用户"
    shot(page, "annotate-zh-1280")


def test_ranking_with_a_tie_by_keyboard(page, live_server):
    project = ProjectFactory(responses_per_task=4, rating_axes=["helpfulness"])
    make_comparisons(project, 2)
    user = member(project, Role.ANNOTATOR, username="rank")

    login(page, live_server.url, "rank")
    task = open_annotate(page, live_server.url, project.slug)
    assert page.locator(".response").count() == 4

    # The highlighted response starts at A; each rank moves the highlight down.
    for key in ["2", "1", "3", "3"]:  # A=2, B=1, C=3, D=3
        page.keyboard.press(key)
    assert page.locator("#ranking-summary").inner_text().split() == ["B", "›", "A", "›", "C", "=", "D"]
    page.keyboard.press("k")  # back up to C
    page.keyboard.press("2")  # C ties with A
    assert page.locator("#ranking-summary").inner_text().split() == ["B", "›", "A", "=", "C", "›", "D"]
    assert page.locator("#response-2").get_attribute("data-verdict") == "tie"
    page.keyboard.press("w")
    shot(page, "annotate-ranking-1280")
    page.keyboard.press("Enter")
    wait_for_task(page, other_than=task)

    a, b, c, d = response_ids(task)
    row = Annotation.objects.get(annotator=user, comparison_id=task)
    assert row.ranking[0] == [b]
    assert sorted(row.ranking[1]) == sorted([a, c])
    assert row.ranking[2] == [d]
    assert len(row.ranking) == 3
    assert row.strength == "clear"


def test_reload_keeps_the_draft(page, live_server):
    project = ProjectFactory(rating_axes=["helpfulness", "honesty"])
    make_comparisons(project, 2)
    user = member(project, Role.ANNOTATOR, username="keep")

    login(page, live_server.url, "keep")
    task = open_annotate(page, live_server.url, project.slug)
    page.keyboard.press("2")
    page.keyboard.press("e")
    page.keyboard.press("j")  # highlight B
    page.keyboard.press("r")
    page.keyboard.press("4")
    page.keyboard.press("n")
    page.keyboard.type("half written")
    page.keyboard.press("Escape")

    page.reload()
    assert wait_for_task(page) == task  # the server hands back the same lease
    assert page.locator("[data-choice='b']").get_attribute("aria-pressed") == "true"
    assert page.locator("[data-strength='strong']").get_attribute("aria-pressed") == "true"
    assert page.locator("#response-1 .likert").first.locator("input:checked").input_value() == "4"
    assert page.locator("#rationale").input_value() == "half written"
    assert page.locator("#status").inner_text() != ""  # "restored" is announced
    token = page.evaluate(f"JSON.parse(localStorage.getItem('prefer:draft:{user.pk}:{task}')).clientToken")

    page.keyboard.press("Enter")
    wait_for_task(page, other_than=task)
    row = Annotation.objects.get(annotator=user, comparison_id=task)
    a, b = response_ids(task)
    assert row.ranking == [[b], [a]]
    assert row.strength == "strong"
    assert row.ratings == {str(b): {"helpfulness": 4}}
    assert row.rationale == "half written"
    assert row.client_token == token
    assert page.evaluate(f"localStorage.getItem('prefer:draft:{user.pk}:{task}')") is None


def _someone_else_completes(project, task: int) -> None:
    """The annotator's lease ran out and another annotator filled the task meanwhile."""
    Assignment.objects.filter(comparison_id=task).update(leased_until=timezone.now())
    other = UserFactory(username="fast")
    project.memberships.create(user=other, role=Role.ANNOTATOR)
    a, b = response_ids(task)
    Annotation.objects.create(
        comparison_id=task, annotator=other, project=project, ranking=[[a], [b]], client_token="other"
    )
    Comparison.objects.filter(pk=task).update(annotations_received=1, status=ComparisonStatus.COMPLETE)


def test_heartbeat_that_finds_the_lease_lost_moves_on(page, live_server):
    project = ProjectFactory()
    make_comparisons(project, 2)
    user = member(project, Role.ANNOTATOR, username="idle")

    page.clock.install()
    login(page, live_server.url, "idle")
    task = open_annotate(page, live_server.url, project.slug)
    assert page.locator("#lease-time").inner_text() in {"10:00", "09:59"}
    page.keyboard.press("1")  # some work, then a pause
    _someone_else_completes(project, task)
    page.clock.fast_forward("01:05")  # the next heartbeat is due

    assert wait_for_task(page, other_than=task) != task
    page.clock.run_for(100)  # the message is drawn on the next animation frame, which the fake clock owns
    assert "went to someone else" in page.locator("#status").inner_text()
    assert page.locator("[data-choice='a']").get_attribute("aria-pressed") == "false"  # a fresh answer
    # What was done on the lost one is kept (on this device) and said so.
    assert "went to someone else" in page.locator("#kept-draft").inner_text()
    assert page.locator("#kept-rationale").is_hidden()  # no rationale was written
    draft = page.evaluate(f"localStorage.getItem('prefer:draft:{user.pk}:{task}')")
    assert draft is not None and '"choice":"a"' in draft


def test_submit_after_the_task_went_elsewhere_moves_on(page, live_server):
    project = ProjectFactory()
    make_comparisons(project, 2)
    member(project, Role.ANNOTATOR, username="slow")

    login(page, live_server.url, "slow")
    task = open_annotate(page, live_server.url, project.slug)
    _someone_else_completes(project, task)

    page.keyboard.press("1")
    page.keyboard.press("Enter")
    wait_for_task(page, other_than=task)
    assert (
        "someone else" in page.locator("#status").inner_text()
        or "completed by others" in page.locator("#status").inner_text()
    )


def test_an_answer_the_server_refuses_is_kept_and_comes_back_with_its_task(new_page, live_server):
    project = ProjectFactory()
    make_comparisons(project, 2)
    user = member(project, Role.ANNOTATOR, username="late")
    page = new_page(permissions=["clipboard-read", "clipboard-write"])

    login(page, live_server.url, "late")
    first = open_annotate(page, live_server.url, project.slug)
    page.keyboard.press("1")
    page.keyboard.press("e")
    page.keyboard.press("n")
    page.keyboard.type("A cites its sources")
    page.keyboard.press("Escape")
    _someone_else_completes(project, first)
    page.keyboard.press("Enter")  # 409 task_full
    second = wait_for_task(page, other_than=first)

    # The next task starts fresh; the refused answer is shown beside it, and kept.
    assert page.locator("#rationale").input_value() == ""
    kept = page.locator("#kept-draft")
    assert "completed it before your answer arrived" in kept.inner_text()
    assert page.locator("#kept-text").input_value() == "A cites its sources"
    draft = page.evaluate(f"JSON.parse(localStorage.getItem('prefer:draft:{user.pk}:{first}'))")
    assert (draft["choice"], draft["strength"], draft["rationale"]) == ("a", "strong", "A cites its sources")
    page.get_by_role("button", name="Copy").click()
    page.wait_for_function("() => document.getElementById('status').textContent.includes('Copied')")
    assert page.evaluate("navigator.clipboard.readText()") == "A cites its sources"
    shot(page, "annotate-kept-1280")

    # The task comes back to this annotator (the other annotation was withdrawn): so does the answer.
    Annotation.objects.filter(comparison_id=first).exclude(annotator=user).delete()
    Comparison.objects.filter(pk=first).update(annotations_received=0, status=ComparisonStatus.OPEN)
    page.keyboard.press("s")
    page.locator("#skip-dialog[open]").wait_for()
    page.keyboard.press("Enter")
    assert wait_for_task(page, other_than=second) == first
    assert page.locator("[data-choice='a']").get_attribute("aria-pressed") == "true"
    assert page.locator("[data-strength='strong']").get_attribute("aria-pressed") == "true"
    assert page.locator("#rationale").input_value() == "A cites its sources"
    assert kept.is_hidden()

    page.keyboard.press("Enter")
    page.locator("#state-empty").wait_for()
    row = Annotation.objects.get(annotator=user, comparison_id=first)
    a, b = response_ids(first)
    assert (row.ranking, row.strength, row.rationale) == ([[a], [b]], "strong", "A cites its sources")
    assert row.client_token == draft["clientToken"]
    assert page.evaluate(f"localStorage.getItem('prefer:draft:{user.pk}:{first}')") is None


def test_a_short_lease_gets_a_heartbeat_every_third_of_it(page, live_server):
    project = ProjectFactory(lease_seconds=30)  # the smallest a project allows
    make_comparisons(project, 1)
    user = member(project, Role.ANNOTATOR, username="brisk")

    page.clock.install()
    login(page, live_server.url, "brisk")
    task = open_annotate(page, live_server.url, project.slug)
    assert page.locator("#lease-time").inner_text() in {"00:30", "00:29", "00:28"}
    taken = Assignment.objects.get(comparison_id=task, annotator=user).leased_until
    page.keyboard.press("1")  # at work on it

    # A third of the lease has passed (a minute would lose it). The beat is due at once: waiting longer
    # would let the lease run out, and the page then beats anyway (to keep it if nobody took the task).
    with page.expect_request("**/heartbeat/", timeout=5000) as beat:
        page.clock.fast_forward("00:11")
    assert beat.value.response().status == 200
    assert Assignment.objects.get(comparison_id=task, annotator=user).leased_until > taken
    page.clock.run_for(1000)
    assert page.locator("#lease").get_attribute("data-level") != "out"
