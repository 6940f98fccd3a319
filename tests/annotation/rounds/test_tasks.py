"""The Celery tasks as doors: safe to run twice, and sent to the right queue."""

import uuid

import pytest

from annotation.models import GenerationJob, RoundStatus
from annotation.rounds.services import project_fill_queue, round_launch
from tests.helpers import broker_queue


def fake_generation(monkeypatch, fail: list | None = None) -> list:
    """project_generate_responses without a model: writes nothing but reports two comparisons written (in
    its transaction, as the real one does), or raises while `fail` is non-empty."""
    from annotation.rounds import generation

    calls: list = []

    def generate(**kwargs):
        calls.append(kwargs)
        if fail:
            raise RuntimeError(fail.pop())
        kwargs["progress"](0.5, "half")
        kwargs["on_written"](["c1", "c2"])
        return ["c1", "c2"]

    monkeypatch.setattr(generation, "project_generate_responses", generate)
    return calls


def test_generate_responses_task_does_not_generate_twice_for_one_message(project, monkeypatch):
    from annotation.rounds.tasks import training_generate_responses

    calls = fake_generation(monkeypatch)
    task_id = uuid.uuid4().hex
    assert training_generate_responses.apply(args=(project.pk,), task_id=task_id).get() == 2
    assert training_generate_responses.apply(args=(project.pk,), task_id=task_id).get() == 2  # redelivery
    assert len(calls) == 1
    assert training_generate_responses.apply(args=(project.pk,), task_id=uuid.uuid4().hex).get() == 2
    assert len(calls) == 2  # another message is new work
    # The key is in Postgres beside the comparisons, not in Redis: the cache can be flushed.
    job = GenerationJob.objects.get(task_id=task_id)
    assert (job.status, job.comparisons, job.progress) == (RoundStatus.SUCCEEDED, 2, 1.0)


def test_a_fill_the_queue_job_records_its_run_and_a_failure_is_redone(
    project, monkeypatch, django_capture_on_commit_callbacks
):
    from annotation.rounds.tasks import training_generate_responses

    calls = fake_generation(monkeypatch, fail=["model file missing"])
    with django_capture_on_commit_callbacks(execute=True):
        job = project_fill_queue(project=project, limit=5)
    (message,) = [m for m in broker_queue("gpu") if m["headers"]["task"].endswith("generate_responses")]
    assert f"'job_id': {job.pk}" in message["headers"]["kwargsrepr"]
    with pytest.raises(RuntimeError):
        training_generate_responses.apply(args=(project.pk,), kwargs={"job_id": job.pk}, throw=True)
    job.refresh_from_db()
    assert job.status == RoundStatus.FAILED and "model file missing" in job.error
    assert training_generate_responses.apply(args=(project.pk,), kwargs={"job_id": job.pk}).get() == 2
    assert training_generate_responses.apply(args=(project.pk,), kwargs={"job_id": job.pk}).get() == 2
    assert len(calls) == 2 and calls[-1]["limit"] == 5
    job.refresh_from_db()
    assert job.status == RoundStatus.SUCCEEDED and job.error == "" and job.finished_at


def test_training_tasks_go_to_the_gpu_queue_and_bookkeeping_to_default(
    project, django_capture_on_commit_callbacks
):
    from annotation.tasks import leases_expire, rounds_schedule, training_generate_responses

    with django_capture_on_commit_callbacks(execute=True):  # the services' path: by name, on commit
        training_round = round_launch(project=project, config={"preset": "smoke"})
    training_generate_responses.delay(project.pk, limit=3)  # a direct call: the queue named on the task
    leases_expire.delay()
    rounds_schedule.delay()
    gpu = [(m["headers"]["task"], m["headers"]["argsrepr"]) for m in reversed(broker_queue("gpu"))]
    assert gpu == [
        ("annotation.tasks.training_round_run", f"({training_round.pk},)"),
        ("annotation.tasks.training_generate_responses", f"({project.pk},)"),
    ]
    assert [m["headers"]["task"] for m in reversed(broker_queue("default"))] == [
        "annotation.tasks.leases_expire",
        "annotation.tasks.rounds_schedule",
    ]
