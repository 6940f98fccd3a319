"""Filling the annotation queue from the current policy without training (`generate_responses`)."""

from annotation.errors import ApplicationError
from annotation.models import Comparison, Project
from annotation.rounds.stages import fresh_prompts, responses_generate
from training.config import GenerationConfig


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
