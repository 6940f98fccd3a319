"""Filling the queue from the current policy without training: one service, which the admin action and
`seed_demo --generate` call; the work goes to the gpu queue on commit."""

import ast
import io

from django.core.management import call_command
from django.test import Client

from annotation.models import GenerationJob, PolicyVersion, Project, Response
from annotation.rounds.services import project_fill_queue
from tests.factories import PromptFactory
from tests.helpers import broker_queue


def _generation_messages() -> list[tuple[str, str]]:
    """(args, kwargs) of the generation messages sent, oldest first; each names a queued job of the project
    with the same limit (the job id itself left out)."""
    sent = []
    for m in reversed(broker_queue("gpu")):
        if m["headers"]["task"] != "annotation.tasks.training_generate_responses":
            continue
        kwargs = ast.literal_eval(m["headers"]["kwargsrepr"])
        job = GenerationJob.objects.get(pk=kwargs.pop("job_id"))
        assert (job.status, job.limit, f"({job.project_id},)") == (
            "queued",
            kwargs["limit"],
            m["headers"]["argsrepr"],
        )
        sent.append((m["headers"]["argsrepr"], repr(kwargs)))
    return sent


def test_fill_queue_sends_on_commit_and_once_means_once(project, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        assert project_fill_queue(project=project, limit=5)
    assert _generation_messages() == [] and len(callbacks) == 1  # nothing sent before the commit
    callbacks[0]()
    assert _generation_messages() == [(f"({project.pk},)", "{'limit': 5}")]
    policy = PolicyVersion.objects.create(project=project, version=1, model_ref="tiny-causal-lm")
    Response.objects.create(prompt=PromptFactory(project=project), text="t", policy_version=policy)
    with django_capture_on_commit_callbacks(execute=True):
        assert not project_fill_queue(project=project, limit=5, once=True)  # the policy already wrote some
        assert project_fill_queue(project=project, limit=7)
    assert [kwargs for _, kwargs in _generation_messages()] == ["{'limit': 5}", "{'limit': 7}"]


def test_the_admin_action_fills_the_queue(project, site_admin, django_capture_on_commit_callbacks):
    client = Client()
    client.force_login(site_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/annotation/project/",
            {"action": "generate_responses", "_selected_action": [project.pk]},
            follow=True,
        )
    assert "Queued generation for 1 project(s)." in response.content.decode()
    assert _generation_messages() == [(f"({project.pk},)", "{'limit': 32}")]


def test_seed_demo_generate_queues_the_demo_project_once(db, django_capture_on_commit_callbacks):
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", "--generate", "3", stdout=out)
    assert "writes responses for 3 prompts on the gpu worker" in out.getvalue()
    project = Project.objects.get(slug="demo")
    assert _generation_messages() == [(f"({project.pk},)", "{'limit': 3}")]
