"""Stage 3, policy: PPO (or DPO) from the current policy with the accepted reward model, accepted only within
the KL budget and with a win rate over the previous policy."""

import dataclasses
import random

from django.db import transaction
from django.db.models import Max

from annotation.models import PolicyVersion, Project, Prompt, RoundKind, Split
from annotation.rounds.generation import conversations, policy_ref
from annotation.rounds.protocol import round_record
from annotation.rounds.selectors import accepted_reward_model
from annotation.rounds.stages.context import StageContext, StageError, numbers, round_rows
from annotation.rounds.summary import PolicyVerdict, read_summary
from training import TrainingCancelled


def _sample_prompts(project: Project, split: str, count: int, seed: int) -> list[Prompt]:
    ids = list(
        Prompt.objects.filter(project=project, split=split).order_by("id").values_list("id", flat=True)
    )
    if not ids and split == Split.EVAL:
        ids = list(Prompt.objects.filter(project=project).order_by("id").values_list("id", flat=True))
    chosen = random.Random(seed).sample(ids, min(count, len(ids)))
    return list(Prompt.objects.filter(id__in=chosen).order_by("id"))


def stage_policy(ctx: StageContext) -> None:
    from training.dpo import train_dpo
    from training.evaluation import kl_to_reference, win_rate
    from training.ppo import train_ppo

    training_round = ctx.load_round()
    if training_round.policy_id or read_summary(training_round.metrics).policy_decided:
        return
    project = training_round.project
    base = project.current_policy
    if base is None:
        raise StageError("The project has no current policy version to train from.")
    reward_model = accepted_reward_model(project=project)
    if reward_model is None:
        raise StageError("No accepted reward model: the reward-model stage must accept one first.")
    output = ctx.artifact_dir("policies")
    step_progress = lambda f, m: ctx.progress(0.75 * f, m)  # noqa: E731 - the eval checks take the rest
    if training_round.kind == RoundKind.DPO:
        metrics = train_dpo(
            ctx.config.dpo_config(),
            policy_ref(base),
            round_rows(ctx, training_round).train,
            output,
            models_dir=ctx.models_dir,
            progress=step_progress,
            should_stop=ctx.should_stop,
        )
    else:
        prompts = _sample_prompts(project, Split.TRAIN, ctx.config.prompts_per_round, seed=ctx.round_id)
        metrics = train_ppo(
            ctx.config.ppo_config(),
            policy_ref(base),
            reward_model.artifact_path,
            conversations(prompts),
            output,
            models_dir=ctx.models_dir,
            progress=step_progress,
            should_stop=ctx.should_stop,
        )
    if ctx.should_stop():
        raise TrainingCancelled("cancelled after training, before the acceptance checks")
    eval_prompts = conversations(
        _sample_prompts(project, Split.EVAL, ctx.config.eval_prompts, seed=ctx.round_id + 1)
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
    verdict = PolicyVerdict(
        policy_accepted=accepted,
        policy_kl_to_previous=kl["kl"],
        policy_win_rate=judged["win_rate"],
        policy_reward_new=judged.get("mean_reward_a"),
        policy_reward_previous=judged.get("mean_reward_b"),
        policy_artifact=str(output),
    )
    if not accepted:
        reasons = []
        if kl["kl"] > ctx.config.kl_budget:
            reasons.append(f"KL {kl['kl']:.3f} over the budget {ctx.config.kl_budget}")
        if not improved:
            reasons.append(f"win rate {judged['win_rate']:.2f} not above {ctx.config.min_win_rate}")
        verdict = dataclasses.replace(verdict, policy_rejected_because="; ".join(reasons))
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
            metrics={**numbers(metrics), "kl_to_previous": kl["kl"], "win_rate": judged["win_rate"]},
        )
        Project.objects.filter(pk=project.pk).update(current_policy=policy)
        round_record(
            round_id=ctx.round_id,
            runner=ctx.runner,
            policy=policy,
            summary=dataclasses.replace(verdict, policy_version=version),
        )
    ctx.progress(1.0, {})
