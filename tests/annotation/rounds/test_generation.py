"""generate_responses: the current policy fills the queue without training (tiny policy, in process)."""

import pytest
from django.core.management import CommandError, call_command

from annotation.models import Comparison, Response
from annotation.projects.services import project_create
from tests.factories import PromptFactory


@pytest.fixture
def tiny_project(db, tmp_path, settings):
    settings.PREFER_DATA_DIR = tmp_path
    project = project_create(slug="gen", name="Gen", policy="tiny-causal-lm", responses_per_task=3)
    project.generation_defaults = {"generation": {"preset": "smoke"}}
    project.save()
    for index in range(3):
        PromptFactory(project=project, external_id=f"q{index}")
    return project


def test_generate_responses_creates_comparisons_from_the_current_policy(tiny_project, capsys):
    call_command("generate_responses", "gen", "--limit", "2")
    assert "created 2 comparisons" in capsys.readouterr().out
    comparisons = Comparison.objects.filter(project=tiny_project)
    assert comparisons.count() == 2
    for comparison in comparisons:
        responses = Response.objects.filter(comparisons=comparison)
        assert responses.count() == 3
        assert {r.policy_version_id for r in responses} == {tiny_project.current_policy_id}
        assert all(r.n_tokens is not None and r.generation_params["max_new_tokens"] for r in responses)
    # the least-compared prompt comes next
    call_command("generate_responses", "gen", "--limit", "1")
    fresh = Comparison.objects.filter(project=tiny_project).order_by("-id").first()
    assert fresh.prompt.external_id not in set(
        comparisons.exclude(pk=fresh.pk).values_list("prompt__external_id", flat=True)
    )


def test_generate_responses_refuses_a_wrong_size(tiny_project):
    with pytest.raises(CommandError, match="compares 3 responses"):
        call_command("generate_responses", "gen", "--per-prompt", "2")
