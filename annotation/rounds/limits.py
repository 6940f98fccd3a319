"""What a project admin may ask of the shared gpu worker (DESIGN section 6): a project admin is not a machine
admin. A round's config may name only the built-in models, this project's own registered artifacts and the
site's allow list (`PREFER_ROUND_ALLOWED_MODELS`), and its budgets stay under the site's caps
(`PREFER_ROUND_LIMITS`, over LIMITS). Checked at launch on the resolved config (defaults included), each
breach a 400 naming the field."""

from typing import Any

from django.conf import settings

from annotation.errors import ApplicationError
from annotation.models import PolicyVersion, Project, RewardModelVersion
from annotation.rounds.config import RoundConfig
from training.model_names import BUILTIN_MODELS

# The largest value of each budget field, by section ("round": the round's own fields), in the order checked
# (generation before ppo: PPO samples with the generation section's length unless its own says otherwise).
# Generous for one GPU; a site that wants more raises them in PREFER_ROUND_LIMITS.
LIMITS: dict[str, dict[str, int]] = {
    "round": {
        "prompts_per_round": 20_000, "eval_prompts": 2_000, "eval_samples": 16, "generate_prompts": 20_000,
    },
    "generation": {"per_prompt": 16, "max_new_tokens": 2_048, "batch_size": 512, "max_prompt_tokens": 4_096},
    "reward": {
        "epochs": 50, "max_steps": 20_000, "min_steps": 20_000, "batch_size": 512, "micro_batch_size": 512,
        "eval_batch_size": 1_024, "max_length": 4_096,
    },
    "ppo": {
        "steps": 500, "prompts_per_step": 512, "ppo_epochs": 16, "mini_batch_size": 512,
        "max_new_tokens": 2_048, "max_prompt_tokens": 4_096, "reward_batch_size": 512,
    },
    "dpo": {"steps": 20_000, "batch_size": 512, "max_length": 8_192},
}  # fmt: skip

# The config fields that name a model.
MODEL_FIELDS = {"reward": ("model",)}


def round_limits() -> dict[str, dict[str, int]]:
    overrides = getattr(settings, "PREFER_ROUND_LIMITS", {}) or {}
    return {section: {**caps, **overrides.get(section, {})} for section, caps in LIMITS.items()}


def _project_artifacts(project: Project) -> set[str]:
    policies = PolicyVersion.objects.filter(project=project).values_list("artifact_path", "model_ref")
    rewards = RewardModelVersion.objects.filter(project=project).values_list("artifact_path", flat=True)
    return {path for pair in policies for path in pair if path} | {path for path in rewards if path}


def round_config_check(*, project: Project, config: RoundConfig) -> None:
    """Raises ApplicationError (field `config.<section>.<name>`) for a model the project may not use or a
    budget over the site's cap."""
    sections: dict[str, Any] = {
        "round": config,
        "reward": config.reward_config(),
        "ppo": config.ppo_config(),
        "dpo": config.dpo_config(),
        "generation": config.generation_config(),
    }
    allowed: set[str] | None = None
    for section, names in MODEL_FIELDS.items():
        for name in names:
            ref = str(getattr(sections[section], name) or "")
            if ref in BUILTIN_MODELS:
                continue
            if allowed is None:
                allowed = set(getattr(settings, "PREFER_ROUND_ALLOWED_MODELS", ())) | _project_artifacts(
                    project
                )
            if ref not in allowed:
                raise ApplicationError(
                    f"model {ref!r} is not available to this project: use a built-in model "
                    f"({', '.join(BUILTIN_MODELS)}), one of this project's own, or one a site admin allowed",
                    field=f"config.{section}.{name}",
                )
    for section, caps in round_limits().items():
        for name, cap in caps.items():
            value = getattr(sections[section], name, None)
            if isinstance(value, int) and not isinstance(value, bool) and value > cap:
                where = "" if section == "round" else f"{section}."
                raise ApplicationError(
                    f"{value} is over this site's limit of {cap}", field=f"config.{where}{name}"
                )
