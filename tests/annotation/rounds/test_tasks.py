"""The Celery tasks as doors: safe to run twice, and sent to the right queue."""

import uuid

from annotation.rounds.services import round_launch
from tests.helpers import broker_queue


def test_generate_responses_task_does_not_generate_twice_for_one_message(project, monkeypatch):
    from annotation.rounds import generation
    from annotation.rounds.tasks import training_generate_responses

    calls = []
    monkeypatch.setattr(
        generation, "project_generate_responses", lambda **kwargs: calls.append(kwargs) or ["c1", "c2"]
    )
    task_id = uuid.uuid4().hex
    assert training_generate_responses.apply(args=(project.pk,), task_id=task_id).get() == 2
    assert training_generate_responses.apply(args=(project.pk,), task_id=task_id).get() == 2  # redelivery
    assert len(calls) == 1
    assert training_generate_responses.apply(args=(project.pk,), task_id=uuid.uuid4().hex).get() == 2
    assert len(calls) == 2  # another message is new work


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
