"""Sampling responses from policy versions into new comparisons: the generate stage's pairing of the new
policy against its parent, and filling the queue from the current policy without training
(`generate_responses`, the admin action, `seed_demo --generate`). torch is imported only inside the calls."""

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from annotation.data.comparisons import comparisons_create
from annotation.errors import ApplicationError
from annotation.models import (
    Comparison,
    GenerationJob,
    PolicyVersion,
    Project,
    Prompt,
    Response,
    RoundStatus,
    Split,
    TrainingRound,
)
from training.config import GenerationConfig
from training.metrics import ProgressCallback, StopCallback


def policy_ref(policy: PolicyVersion) -> str:
    """What the training library loads a policy version from: its artifact, else its model reference."""
    return policy.artifact_path or policy.model_ref


def conversations(prompts: list[Prompt]) -> list[list[dict[str, str]]]:
    """The prompts' conversations, in the library's message format."""
    return [prompt.messages for prompt in prompts]


def responses_generate(
    *,
    project: Project,
    prompts: list[Prompt],
    sources: list[tuple[PolicyVersion, int]],
    generation: Any,
    progress: ProgressCallback | None = None,
    should_stop: StopCallback | None = None,
    training_round: TrainingRound | None = None,
    on_written: Callable[[list[Comparison]], None] | None = None,
) -> list[Comparison]:
    """Sample `count` responses per prompt from each policy in `sources` and make one comparison per prompt
    (the counts add up to the project's responses per task). `on_written` runs in the transaction that
    writes them (a job marking itself done commits with its comparisons, or not at all)."""
    from training.generation import generate

    if sum(count for _, count in sources) != project.responses_per_task:
        raise ValueError("the responses per source must add up to the project's responses per task")
    models_dir = Path(settings.PREFER_DATA_DIR) / "models"
    asked = conversations(prompts)
    sampled: list[tuple[PolicyVersion, list[list[Any]], dict[str, Any]]] = []
    for index, (policy, count) in enumerate(sources):
        config = dataclasses.replace(generation, per_prompt=count)
        span = (index / len(sources), (index + 1) / len(sources))
        outputs = generate(
            policy_ref(policy),
            asked,
            config,
            models_dir=models_dir,
            progress=(lambda f, m, s=span: progress(s[0] + (s[1] - s[0]) * f, m)) if progress else None,
            should_stop=should_stop,
        )
        sampled.append((policy, outputs, config.to_dict()))
    with transaction.atomic():
        groups = []
        for prompt_index, prompt in enumerate(prompts):
            group = []
            for policy, outputs, params in sampled:
                for generated in outputs[prompt_index]:
                    group.append(
                        Response(
                            prompt=prompt,
                            # Postgres text cannot hold NUL, and a model may sample one (the tiny
                            # random test models do): one bad character must not fail the whole job.
                            text=generated.text.replace("\x00", "\ufffd"),
                            policy_version=policy,
                            generation_params={**params, "finished": generated.finished},
                            n_tokens=generated.n_tokens,
                        )
                    )
            groups.append(Response.objects.bulk_create(group))
        comparisons = comparisons_create(project=project, groups=groups, round=training_round)
        if on_written is not None:
            on_written(comparisons)
        return comparisons


def fresh_prompts(project: Project, count: int) -> list[Prompt]:
    """Train prompts that have been compared least (never, first), oldest first."""
    return list(
        Prompt.objects.filter(project=project, split=Split.TRAIN)
        .annotate(n=Count("comparisons"))
        .order_by("n", "id")[:count]
    )


def project_generate_responses(
    *,
    project: Project,
    per_prompt: int | None = None,
    limit: int = 32,
    progress: ProgressCallback | None = None,
    on_written: Callable[[list[Comparison]], None] | None = None,
) -> list[Comparison]:
    """The current policy samples responses for the least-compared train prompts; one comparison each."""
    per_prompt = per_prompt or project.responses_per_task
    if per_prompt != project.responses_per_task:
        raise ApplicationError(
            f"this project compares {project.responses_per_task} responses per task", field="per_prompt"
        )
    if project.current_policy is None:
        raise ApplicationError("the project has no current policy", field="policy")
    prompts = fresh_prompts(project, limit)
    if not prompts:
        raise ApplicationError("the project has no train prompts to generate for", field="limit")
    generation = GenerationConfig.from_dict(project.generation_defaults.get("generation", {}))
    return responses_generate(
        project=project,
        prompts=prompts,
        sources=[(project.current_policy, per_prompt)],
        generation=generation,
        progress=progress,
        on_written=on_written,
    )


def _job_to_run(
    *, project_id: int, job_id: int | None, task_id: str | None, limit: int
) -> GenerationJob | None:
    """Claim the job (made on the fly for a task sent without one); None when it needs no run: done
    already, or being run by another delivery that is still within the generation time limit."""
    now = timezone.now()
    with transaction.atomic():
        jobs = GenerationJob.objects.select_for_update()
        if job_id is not None:
            job = jobs.get(pk=job_id, project_id=project_id)
        elif task_id:
            job, _ = jobs.get_or_create(task_id=task_id, defaults={"project_id": project_id, "limit": limit})
        else:
            job = GenerationJob.objects.create(project_id=project_id, limit=limit)
        if job.status == RoundStatus.SUCCEEDED:
            return None
        running_since = now - timedelta(seconds=settings.PREFER_GENERATION_TIME_LIMIT)
        if job.status == RoundStatus.RUNNING and job.started_at and job.started_at > running_since:
            return None
        job.status, job.started_at, job.error, job.progress = RoundStatus.RUNNING, now, "", 0.0
        job.save(update_fields=["status", "started_at", "error", "progress"])
    return job


def generation_job_run(
    *,
    project_id: int,
    job_id: int | None = None,
    task_id: str | None = None,
    per_prompt: int | None = None,
    limit: int = 32,
) -> int:
    """Run a fill-the-queue job once: a redelivered task finds it done (or running) and writes nothing.
    Returns the number of comparisons the job wrote."""
    job = _job_to_run(project_id=project_id, job_id=job_id, task_id=task_id, limit=limit)
    if job is None:
        found = GenerationJob.objects.filter(pk=job_id) if job_id is not None else None
        found = found if found is not None else GenerationJob.objects.filter(task_id=task_id)
        return found.values_list("comparisons", flat=True).first() or 0
    current = GenerationJob.objects.filter(pk=job.pk)

    def written(comparisons: list[Comparison]) -> None:
        current.update(
            status=RoundStatus.SUCCEEDED,
            comparisons=len(comparisons),
            progress=1.0,
            finished_at=timezone.now(),
        )

    try:
        project = Project.objects.get(pk=project_id)
        created = project_generate_responses(
            project=project,
            per_prompt=per_prompt,
            limit=job.limit,
            progress=lambda fraction, _message: current.update(progress=round(fraction, 3)),
            on_written=written,
        )
    except Exception as error:
        text = error.text if isinstance(error, ApplicationError) else f"{type(error).__name__}: {error}"
        current.update(status=RoundStatus.FAILED, error=text[:2000], finished_at=timezone.now())
        raise
    return len(created)
