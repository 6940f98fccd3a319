"""The Celery tasks as doors: safe to run twice."""

import uuid


def test_generate_responses_task_does_not_generate_twice_for_one_message(project, monkeypatch):
    from annotation.rounds import generation
    from annotation.tasks import training_generate_responses

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
