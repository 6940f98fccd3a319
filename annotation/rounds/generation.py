"""Sampling responses from policy versions into new comparisons: the generate stage's pairing of the new
policy against its parent, and filling the queue from the current policy without training
(`generate_responses`, the admin action, `seed_demo --generate`). torch is imported only inside the calls."""

import dataclasses
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count

from annotation.data.comparisons import comparisons_create
from annotation.errors import ApplicationError
from annotation.models import Comparison, PolicyVersion, Project, Prompt, Response, Split, TrainingRound
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
) -> list[Comparison]:
    """Sample `count` responses per prompt from each policy in `sources` and make one comparison per prompt
    (the counts add up to the project's responses per task)."""
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
                            text=generated.text,
                            policy_version=policy,
                            generation_params={**params, "finished": generated.finished},
                            n_tokens=generated.n_tokens,
                        )
                    )
            groups.append(Response.objects.bulk_create(group))
        return comparisons_create(project=project, groups=groups, round=training_round)


def fresh_prompts(project: Project, count: int) -> list[Prompt]:
    """Train prompts that have been compared least (never, first), oldest first."""
    return list(
        Prompt.objects.filter(project=project, split=Split.TRAIN)
        .annotate(n=Count("comparisons"))
        .order_by("n", "id")[:count]
    )


def project_generate_responses(
    *, project: Project, per_prompt: int | None = None, limit: int = 32
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
    )
