"""The rounds' Celery tasks: thin doors over the services. They carry ids, re-read state from Postgres, and
are safe to run twice (a duplicate delivery finds the work claimed or done and returns). The two training
tasks run on the gpu queue, said here where they are declared; names and queue come from
annotation/rounds/dispatch.py, which is how the services send them."""

from celery import shared_task
from django.conf import settings

from annotation.rounds import artifacts, generation, reaper, runner, schedule
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
    self, project_id: int, per_prompt: int | None = None, limit: int = 32, job_id: int | None = None
) -> int:
    # The job row (Postgres) is marked done in the transaction that writes the comparisons, so a delivery
    # that died mid-way left nothing and is redone, and a redelivery after the commit writes nothing twice.
    return generation.generation_job_run(
        project_id=project_id, job_id=job_id, task_id=self.request.id, per_prompt=per_prompt, limit=limit
    )


@shared_task(name="annotation.tasks.rounds_reap_stale", ignore_result=True, **SHORT)
def rounds_reap_stale() -> list[int]:
    return reaper.rounds_reap_stale()


@shared_task(name="annotation.tasks.rounds_schedule", ignore_result=True, **SHORT)
def rounds_schedule() -> list[int]:
    return schedule.rounds_schedule()


# On the gpu queue: the gpu worker is the process that surely sees the artifacts' volume.
@shared_task(name="annotation.tasks.artifacts_sweep", queue=GPU_QUEUE, ignore_result=True, **SHORT)
def artifacts_sweep() -> int:
    return len(artifacts.artifacts_sweep())
