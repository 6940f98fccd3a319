"""Celery tasks: thin doors over services. They carry ids, re-read state from Postgres, and are safe to run
twice (a duplicate delivery finds the work claimed or done and returns)."""

from celery import shared_task

from annotation.services import rounds


@shared_task(
    bind=True,
    name="annotation.tasks.training_round_run",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=10,
)
def training_round_run(self, round_id: int) -> str:  # type: ignore[no-untyped-def]
    from django.conf import settings

    from annotation.training_runs.runner import round_execute

    outcome = round_execute(round_id=round_id)
    if outcome == "busy":
        # Another worker holds the round with a fresh heartbeat. If that worker died (this is the
        # redelivery of its task), the heartbeat goes stale and the retry resumes the round.
        raise self.retry(countdown=settings.PREFER_ROUND_STALE_SECONDS)
    return outcome


@shared_task(name="annotation.tasks.training_generate_responses", acks_late=True, ignore_result=True)
def training_generate_responses(project_id: int, per_prompt: int | None = None, limit: int = 32) -> int:
    from annotation.models import Project
    from annotation.training_runs.generation import project_generate_responses

    project = Project.objects.get(pk=project_id)
    return len(project_generate_responses(project=project, per_prompt=per_prompt, limit=limit))


@shared_task(name="annotation.tasks.rounds_reap_stale", ignore_result=True)
def rounds_reap_stale() -> list[int]:
    return rounds.rounds_reap_stale()


@shared_task(name="annotation.tasks.rounds_schedule", ignore_result=True)
def rounds_schedule() -> list[int]:
    return rounds.rounds_schedule()


@shared_task(name="annotation.tasks.leases_expire", ignore_result=True)
def leases_expire() -> int:
    from annotation.services.assignment import leases_expire as expire

    return expire()
