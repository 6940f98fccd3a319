"""Sending work to the gpu workers, by the tasks' registered names.

Services that start GPU work (a round launch, the reaper's re-send, filling the queue) call these functions;
the task declarations (annotation/rounds/tasks.py) take their names and queue from the constants here. So
every import goes one way: tasks -> services -> dispatch, and no service imports a task module (which
imports the runner, which imports the services: the circle this module replaces).

Messages go out in `transaction.on_commit`, carry ids only, and name the queue explicitly."""

from typing import Any

from celery import current_app
from django.db import transaction

# The queue the gpu worker consumes (`celery -A config worker -Q gpu`); everything else goes to "default".
GPU_QUEUE = "gpu"

# Registered names: messages in flight and the workers' registries name the tasks by these, so they stay
# `annotation.tasks.<name>` whatever the module layout.
ROUND_RUN_TASK = "annotation.tasks.training_round_run"
GENERATE_RESPONSES_TASK = "annotation.tasks.training_generate_responses"


def _send_on_commit(name: str, args: tuple[Any, ...], kwargs: dict[str, Any] | None = None) -> None:
    transaction.on_commit(lambda: current_app.send_task(name, args=args, kwargs=kwargs, queue=GPU_QUEUE))


def round_run_send(*, round_id: int) -> None:
    """Send the round's task to the gpu queue when the current transaction commits."""
    _send_on_commit(ROUND_RUN_TASK, (round_id,))


def generate_responses_send(*, project_id: int, limit: int, job_id: int) -> None:
    """Send a fill-the-queue generation job to the gpu queue when the transaction commits."""
    _send_on_commit(GENERATE_RESPONSES_TASK, (project_id,), {"limit": limit, "job_id": job_id})
