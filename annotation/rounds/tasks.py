"""The rounds' Celery tasks: thin doors over the services. They carry ids, re-read state from Postgres, and
are safe to run twice (a duplicate delivery finds the work claimed or done and returns). The two training
tasks run on the gpu queue, said here where they are declared; names and queue come from
annotation/rounds/dispatch.py, which is how the services send them."""

from celery import shared_task
from django.conf import settings
from django.core.cache import cache

from annotation.models import Project
from annotation.rounds import generation, reaper, runner, schedule
from annotation.rounds.dispatch import GENERATE_RESPONSES_TASK, GPU_QUEUE, ROUND_RUN_TASK

# Periodic bookkeeping finishes in seconds; a hung one must not hold a worker slot for the training limit.
SHORT = {"time_limit": 300, "soft_time_limit": 240}


@shared_task(
    bind=True,
    name=ROUND_RUN_TASK,
    queue=GPU_QUEUE,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=10,
    time_limit=settings.PREFER_TRAINING_TIME_LIMIT,
    soft_time_limit=settings.PREFER_TRAINING_TIME_LIMIT - 60,
)
def training_round_run(self, round_id: int) -> str:  # type: ignore[no-untyped-def]
    outcome = runner.round_execute(round_id=round_id)
    if outcome == "busy":
        # Another worker holds the round with a fresh heartbeat. If that worker died (this is the
        # redelivery of its task), the heartbeat goes stale and the retry resumes the round.
        raise self.retry(countdown=settings.PREFER_ROUND_STALE_SECONDS)
    return outcome


@shared_task(
    bind=True,
    name=GENERATE_RESPONSES_TASK,
    queue=GPU_QUEUE,
    acks_late=True,
    ignore_result=True,
    time_limit=settings.PREFER_GENERATION_TIME_LIMIT,
    soft_time_limit=settings.PREFER_GENERATION_TIME_LIMIT - 60,
)
def training_generate_responses(  # type: ignore[no-untyped-def]
    self, project_id: int, per_prompt: int | None = None, limit: int = 32
) -> int:
    # Everything is written in one transaction at the end, so a delivery that died mid-way left nothing and
    # is simply redone; this key covers the other case, a redelivery after the commit but before the ack.
    done_key = f"prefer:generate-responses-done:{self.request.id}"
    if self.request.id and (done := cache.get(done_key)) is not None:
        return int(done)
    project = Project.objects.get(pk=project_id)
    created = len(generation.project_generate_responses(project=project, per_prompt=per_prompt, limit=limit))
    if self.request.id:
        cache.set(done_key, created, timeout=7 * 24 * 3600)
    return created


@shared_task(name="annotation.tasks.rounds_reap_stale", ignore_result=True, **SHORT)
def rounds_reap_stale() -> list[int]:
    return reaper.rounds_reap_stale()


@shared_task(name="annotation.tasks.rounds_schedule", ignore_result=True, **SHORT)
def rounds_schedule() -> list[int]:
    return schedule.rounds_schedule()
