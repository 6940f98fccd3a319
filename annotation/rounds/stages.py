"""The four stages of a training round, each a call into the Django-free `training` library plus the records
it produces. torch is imported only inside the stage functions, so the web process never loads it.

Every stage first checks whether its product already exists on the round (a re-delivered or resumed task)
and returns early; artifacts go to a directory unique to the attempt and are registered only after the
library has renamed them into place, so a crash never registers a half-written model."""

import hashlib
import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max

from annotation.data.comparisons import comparisons_create
from annotation.data.snapshots import dataset_snapshot_create, snapshot_rows
from annotation.errors import ApplicationError
from annotation.models import (
    Comparison,
    PolicyVersion,
    Project,
    Prompt,
    Response,
    RewardModelVersion,
    RoundKind,
    TrainingRound,
)
from annotation.rounds.config import RoundConfig
from annotation.rounds.protocol import round_record

Progress = Callable[[float, dict[str, Any]], None]
ShouldStop = Callable[[], bool]


class StageError(ApplicationError):
    """A stage cannot go on for a reason the admin can act on (too little data, no reward model, ...)."""


@dataclass
class StageContext:
    round_id: int
    runner: str
    progress: Progress
    should_stop: ShouldStop
    config: RoundConfig = field(init=False)

    def __post_init__(self) -> None:
        self.config = RoundConfig.from_dict(self.round.config.get("resolved") or {})

    @property
    def round(self) -> TrainingRound:
        return TrainingRound.objects.select_related("project", "project__current_policy").get(
            pk=self.round_id
        )

    @property
    def models_dir(self) -> Path:
        return Path(settings.PREFER_DATA_DIR) / "models"

    def artifact_dir(self, kind: str) -> Path:
        project = self.round.project
        return (
            Path(settings.PREFER_DATA_DIR)
            / "projects"
            / project.slug
            / kind
            / f"round{self.round_id}-{self.runner[:8]}"
        )


def policy_ref(policy: PolicyVersion) -> str:
    return policy.artifact_path or policy.model_ref


def _prompt_key(messages: list[dict[str, str]]) -> str:
    return hashlib.sha256(json.dumps(messages, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass
class RoundRows:
    train: list[dict[str, Any]]
    eval: list[dict[str, Any]]
    eval_is_train: bool  # too few prompts to hold any out: "eval" accuracy is train accuracy


def round_rows(ctx: StageContext) -> RoundRows:
    """The round's train and eval preference rows. Eval = the eval split's pairs, or, when that split has
    too few, a prompt-disjoint share of the train pairs (deterministic, so a resumed round sees the same)."""
    training_round = ctx.round
    train = list(snapshot_rows(training_round.snapshot))
    eval_id = training_round.metrics.get("summary", {}).get("eval_snapshot_id")
    eval_rows = list(snapshot_rows(type(training_round.snapshot).objects.get(pk=eval_id))) if eval_id else []
    if len(eval_rows) >= 2:
        return RoundRows(train, eval_rows, eval_is_train=False)
    threshold = int(ctx.config.eval_fraction * 1000)
    held_out = [row for row in train if int(_prompt_key(row["prompt"])[:8], 16) % 1000 < threshold]
    if not held_out or len(held_out) == len(train):  # too few prompts to split: evaluate on the train pairs
        return RoundRows(train, train, eval_is_train=True)
    kept = [row for row in train if row not in held_out]
    return RoundRows(kept, held_out, eval_is_train=False)


def stage_snapshot(ctx: StageContext) -> None:
    training_round = ctx.round
    if training_round.snapshot_id:
        return
    project = training_round.project
    ctx.progress(0.1, {})
    train = dataset_snapshot_create(project=project, split="train", format="trl")
    ctx.progress(0.6, {})
    evaluation = dataset_snapshot_create(project=project, split="eval", format="trl")
    if train.row_count < ctx.config.min_pairs:
        raise StageError(
            f"Only {train.row_count} preference pair(s) in the train split; this round needs at least "
            f"{ctx.config.min_pairs} (annotate more, or lower min_pairs in the round config)."
        )
    round_record(
        round_id=ctx.round_id,
        runner=ctx.runner,
        snapshot=train,
        summary={
            "snapshot_sha256": train.sha256,
            "train_pairs": train.row_count,
            "eval_snapshot_id": evaluation.pk,
            "eval_pairs_split": evaluation.row_count,
        },
    )
    ctx.progress(1.0, {})


def _accepted_reward_model(project: Project) -> RewardModelVersion | None:
    return RewardModelVersion.objects.filter(project=project, accepted=True).order_by("-version").first()


def stage_reward_model(ctx: StageContext) -> None:
    from training.reward import pairwise_accuracy, train_reward_model

    training_round = ctx.round
    if training_round.reward_model_id:
        return
    project = training_round.project
    rows = round_rows(ctx)
    train_rows, eval_rows = rows.train, rows.eval
    previous = _accepted_reward_model(project)
    output = ctx.artifact_dir("reward_models")
    config = ctx.config.reward_config()
    metrics = train_reward_model(
        config,
        train_rows,
        eval_rows,
        output,
        models_dir=ctx.models_dir,
        init=previous.artifact_path if previous else None,
        progress=lambda f, m: ctx.progress(0.9 * f, m),
        should_stop=ctx.should_stop,
    )
    new_accuracy = float(metrics.get("eval_accuracy", 0.0))
    previous_accuracy = None
    rejected_because = ""
    if previous is not None and rows.eval_is_train:
        # Accuracy on the pairs it was trained on says nothing about being better: keep the accepted one.
        rejected_because = (
            f"no held-out pairs (too few prompts to split), so no evidence it beats RM v{previous.version}; "
            "kept that one. Annotate eval-split prompts to compare reward models."
        )
    elif previous is not None:
        previous_accuracy = pairwise_accuracy(previous.artifact_path, eval_rows, models_dir=ctx.models_dir)[
            "accuracy"
        ]
        if new_accuracy < previous_accuracy:
            rejected_because = (
                f"held-out accuracy {new_accuracy:.3f} below RM v{previous.version}'s {previous_accuracy:.3f}"
            )
    accepted = not rejected_because
    with transaction.atomic():
        version = (
            RewardModelVersion.objects.filter(project=project).aggregate(m=Max("version"))["m"] or 0
        ) + 1
        reward_model = RewardModelVersion.objects.create(
            project=project,
            version=version,
            base_model=str(previous.artifact_path if previous else config.model),
            artifact_path=str(output),
            snapshot=training_round.snapshot,
            parent=previous,
            produced_by=training_round,
            metrics={
                **_numbers(metrics),
                "previous_eval_accuracy": previous_accuracy,
                "eval_is_train": rows.eval_is_train,
                **({"rejected_because": rejected_because} if rejected_because else {}),
            },
            accepted=accepted,
        )
        summary: dict[str, Any] = {
            "rm_version": version,
            "rm_accepted": accepted,
            "rm_eval_accuracy": new_accuracy,
            "rm_previous_eval_accuracy": previous_accuracy,
            "rm_eval_is_train": rows.eval_is_train,
        }
        if rejected_because:
            summary["rm_rejected_because"] = rejected_because
        round_record(round_id=ctx.round_id, runner=ctx.runner, reward_model=reward_model, summary=summary)
    ctx.progress(1.0, {"eval_accuracy": new_accuracy})


def _conversations(prompts: list[Prompt]) -> list[list[dict[str, str]]]:
    return [prompt.messages for prompt in prompts]


def _sample_prompts(project: Project, split: str, count: int, seed: int) -> list[Prompt]:
    ids = list(
        Prompt.objects.filter(project=project, split=split).order_by("id").values_list("id", flat=True)
    )
    if not ids and split == "eval":
        ids = list(Prompt.objects.filter(project=project).order_by("id").values_list("id", flat=True))
    chosen = random.Random(seed).sample(ids, min(count, len(ids)))
    return list(Prompt.objects.filter(id__in=chosen).order_by("id"))


def stage_policy(ctx: StageContext) -> None:
    from training.dpo import train_dpo
    from training.evaluation import kl_to_reference, win_rate
    from training.ppo import train_ppo

    training_round = ctx.round
    summary = training_round.metrics.get("summary", {})
    if training_round.policy_id or "policy_accepted" in summary:
        return
    project = training_round.project
    base = project.current_policy
    if base is None:
        raise StageError("The project has no current policy version to train from.")
    reward_model = _accepted_reward_model(project)
    if reward_model is None:
        raise StageError("No accepted reward model: the reward-model stage must accept one first.")
    output = ctx.artifact_dir("policies")
    step_progress = lambda f, m: ctx.progress(0.75 * f, m)  # noqa: E731 - the eval checks take the rest
    if training_round.kind == RoundKind.DPO:
        metrics = train_dpo(
            ctx.config.dpo_config(),
            policy_ref(base),
            round_rows(ctx).train,
            output,
            models_dir=ctx.models_dir,
            progress=step_progress,
            should_stop=ctx.should_stop,
        )
    else:
        prompts = _sample_prompts(project, "train", ctx.config.prompts_per_round, seed=ctx.round_id)
        metrics = train_ppo(
            ctx.config.ppo_config(),
            policy_ref(base),
            reward_model.artifact_path,
            _conversations(prompts),
            output,
            models_dir=ctx.models_dir,
            progress=step_progress,
            should_stop=ctx.should_stop,
        )
    from training import TrainingCancelled

    if ctx.should_stop():
        raise TrainingCancelled("cancelled after training, before the acceptance checks")
    eval_prompts = _conversations(
        _sample_prompts(project, "eval", ctx.config.eval_prompts, seed=ctx.round_id + 1)
    )
    generation = ctx.config.generation_config()
    ctx.progress(0.75, {})
    # kl_to_reference takes no callbacks: check for a cancel on either side of it.
    kl = kl_to_reference(
        str(output), policy_ref(base), eval_prompts, models_dir=ctx.models_dir, generation=generation
    )
    if ctx.should_stop():
        raise TrainingCancelled("cancelled during the acceptance checks")
    ctx.progress(0.85, {"kl_to_previous": kl["kl"]})
    judged = win_rate(
        reward_model.artifact_path, str(output), policy_ref(base), eval_prompts, models_dir=ctx.models_dir,
        generation=generation, progress=lambda f, m: ctx.progress(0.85 + 0.15 * f, {}),
        should_stop=ctx.should_stop,
    )  # fmt: skip
    improved = judged["win_rate"] > ctx.config.min_win_rate or not ctx.config.require_improvement
    accepted = kl["kl"] <= ctx.config.kl_budget and improved
    verdict = {
        "policy_accepted": accepted,
        "policy_kl_to_previous": kl["kl"],
        "policy_win_rate": judged["win_rate"],
        "policy_reward_new": judged.get("mean_reward_a"),
        "policy_reward_previous": judged.get("mean_reward_b"),
        "policy_artifact": str(output),
    }
    if not accepted:
        reasons = []
        if kl["kl"] > ctx.config.kl_budget:
            reasons.append(f"KL {kl['kl']:.3f} over the budget {ctx.config.kl_budget}")
        if not improved:
            reasons.append(f"win rate {judged['win_rate']:.2f} not above {ctx.config.min_win_rate}")
        verdict["policy_rejected_because"] = "; ".join(reasons)
        round_record(round_id=ctx.round_id, runner=ctx.runner, summary=verdict)
        return
    with transaction.atomic():
        version = (PolicyVersion.objects.filter(project=project).aggregate(m=Max("version"))["m"] or 0) + 1
        policy = PolicyVersion.objects.create(
            project=project,
            version=version,
            model_ref=str(output),
            artifact_path=str(output),
            parent=base,
            produced_by=training_round,
            metrics={**_numbers(metrics), "kl_to_previous": kl["kl"], "win_rate": judged["win_rate"]},
        )
        Project.objects.filter(pk=project.pk).update(current_policy=policy)
        round_record(
            round_id=ctx.round_id,
            runner=ctx.runner,
            policy=policy,
            summary={**verdict, "policy_version": version},
        )
    ctx.progress(1.0, {})


def responses_generate(
    *,
    project: Project,
    prompts: list[Prompt],
    sources: list[tuple[PolicyVersion, int]],
    generation: Any,
    progress: Progress | None = None,
    should_stop: ShouldStop | None = None,
    training_round: TrainingRound | None = None,
) -> list[Comparison]:
    """Sample `count` responses per prompt from each policy in `sources` and make one comparison per prompt
    (the counts add up to the project's responses per task)."""
    import dataclasses

    from training.generation import generate

    if sum(count for _, count in sources) != project.responses_per_task:
        raise ValueError("the responses per source must add up to the project's responses per task")
    models_dir = Path(settings.PREFER_DATA_DIR) / "models"
    conversations = _conversations(prompts)
    sampled: list[tuple[PolicyVersion, list[list[Any]], dict[str, Any]]] = []
    for index, (policy, count) in enumerate(sources):
        config = dataclasses.replace(generation, per_prompt=count)
        span = (index / len(sources), (index + 1) / len(sources))
        outputs = generate(
            policy_ref(policy),
            conversations,
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
        Prompt.objects.filter(project=project, split="train")
        .annotate(n=Count("comparisons"))
        .order_by("n", "id")[:count]
    )


def stage_generate(ctx: StageContext) -> None:
    training_round = ctx.round
    summary = training_round.metrics.get("summary", {})
    if not summary.get("policy_accepted") or "generated_comparisons" in summary:
        return
    if Comparison.objects.filter(round=training_round).exists():
        return
    project = training_round.project
    new_policy = training_round.policy
    previous = new_policy.parent if new_policy else None
    if new_policy is None or previous is None:
        raise StageError("The accepted policy has no parent version to compare against.")
    prompts = fresh_prompts(project, ctx.config.generate_prompts)
    newer = math.ceil(project.responses_per_task / 2)
    comparisons = responses_generate(
        project=project,
        prompts=prompts,
        sources=[(new_policy, newer), (previous, project.responses_per_task - newer)],
        generation=ctx.config.generation_config(),
        progress=ctx.progress,
        should_stop=ctx.should_stop,
        training_round=training_round,
    )
    round_record(
        round_id=ctx.round_id, runner=ctx.runner, summary={"generated_comparisons": len(comparisons)}
    )
    ctx.progress(1.0, {})


def _numbers(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if isinstance(v, int | float | str | bool) or v is None}


STAGES: list[tuple[str, Callable[[StageContext], None]]] = [
    ("snapshot", stage_snapshot),
    ("reward_model", stage_reward_model),
    ("policy", stage_policy),
    ("generate", stage_generate),
]
