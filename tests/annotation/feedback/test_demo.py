"""seed_demo's feedback demos (issue 11): a helpful-and-harmless project with a few harmful requests among
the bundled prompts (English and Chinese), harm flags and dual preference on; a scoring project at 1-5."""

import io

from django.conf import settings
from django.core.management import call_command

from annotation.feedback.settings import BUILTIN_CATEGORIES
from annotation.models import Comparison, Membership, Project, Prompt
from annotation.projects.demo import HARMFUL_PROMPTS_PATH, PROMPTS_PATH
from training.import_format import parse_prompts_jsonl


def _lines(path) -> int:
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def test_the_harmful_requests_are_valid_and_in_both_languages():
    with HARMFUL_PROMPTS_PATH.open("rb") as handle:
        rows, errors = parse_prompts_jsonl(
            handle, responses_needed=2, max_text_bytes=settings.PREFER_MAX_TEXT_BYTES
        )
    assert errors == [] and len(rows) >= 4
    assert {row.metadata["lang"] for row in rows} == {"en", "zh"}
    assert all(row.metadata["harmful_request"] for row in rows)


def test_seed_demo_makes_the_feedback_demos(db):
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    text = out.getvalue()
    assert "'demo-hh'" in text and "'demo-score'" in text and "/p/demo-hh/annotate/" in text
    hh = Project.objects.get(slug="demo-hh")
    assert hh.dual_preference and hh.allow_edits and len(hh.safety_categories) == len(BUILTIN_CATEGORIES)
    assert Prompt.objects.filter(project=hh).count() == _lines(PROMPTS_PATH) + _lines(HARMFUL_PROMPTS_PATH)
    assert Prompt.objects.filter(project=hh, metadata__harmful_request=True).count() == _lines(
        HARMFUL_PROMPTS_PATH
    )
    score = Project.objects.get(slug="demo-score")
    assert (score.responses_per_task, score.rating_scale_max) == (1, 5)
    tasks = Comparison.objects.filter(project=score)
    assert tasks.count() == 2 * _lines(PROMPTS_PATH) and all(t.items.count() == 1 for t in tasks[:5])
    for project in (hh, score):
        roles = set(Membership.objects.filter(project=project).values_list("user__username", "role"))
        assert roles == {("admin", "admin"), ("annotator1", "annotator"), ("annotator2", "annotator")}
    again = io.StringIO()
    call_command("seed_demo", stdout=again)
    assert Prompt.objects.filter(project=score).count() == _lines(PROMPTS_PATH)
    assert f"0 imported, {_lines(PROMPTS_PATH)} already present" in again.getvalue()
