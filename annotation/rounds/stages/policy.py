"""Stage 3, policy: PPO (or DPO) from the current policy, accepted only when it is really better.

Both policies answer the eval split's prompts `eval_samples` times each at the round's one sampling
temperature (the one PPO trained at and the queue is served at) with the same seed. The new policy is
accepted when:
- its KL to the previous policy, exact per token on its own sampled ids, is within `kl_budget`;
- the reward model judges it better than `min_win_rate` by a one-sided test at 5%, the prompt as the unit
  of evidence (`training.acceptance.win_rate_test`: an unchanged policy is rejected at least 95% of the
  time);
- for DPO, its own implicit-reward accuracy on the held-out pairs: when no reward model can judge (none was
  accepted), it must be better than chance by the same kind of test, and that test alone decides; when one
  judges, it only vetoes a policy significantly below chance (`dpo_reason`).
A policy that drifted past the KL budget by its last step is replaced by the checkpoint it saved part-way
when that one is within the budget, and the checks judge that one instead: DPO saves one at half the steps
in rounds (`DPOConfig.earlier_checkpoint`); PPO stops once a rollout passes the budget and saves the last
state a rollout measured within it before its final one (`PPOConfig.kl_stop`, `training.kl_guard`).
"""

import dataclasses
import random
import shutil
from typing import Any

from django.db import transaction
from django.db.models import Max

from annotation.models import PolicyVersion, Project, Prompt, RewardModelVersion, RoundKind, Split
from annotation.rounds.generation import conversations, policy_ref
from annotation.rounds.protocol import round_record
from annotation.rounds.selectors import accepted_reward_model
from annotation.rounds.stages.context import StageContext, StageError, numbers, round_rows
from annotation.rounds.stages.cost_model import feedback_inputs, harmless_verdict
from annotation.rounds.summary import PolicyVerdict, read_summary
from training import TrainingCancelled
from training.checkpoints import EARLIER_DIR, is_complete, read_manifest


def _sample_prompts(project: Project, split: str, count: int, seed: int) -> list[Prompt]:
    ids = list(
        Prompt.objects.filter(project=project, split=split).order_by("id").values_list("id", flat=True)
    )
    if not ids and split == Split.EVAL:
        ids = list(Prompt.objects.filter(project=project).order_by("id").values_list("id", flat=True))
    chosen = random.Random(seed).sample(ids, min(count, len(ids)))
    return list(Prompt.objects.filter(id__in=chosen).order_by("id"))


def _judge(ctx: StageContext, project: Project, own: RewardModelVersion | None) -> RewardModelVersion | None:
    """The reward model that trains PPO and judges the result: the accepted one; in a pipeline check
    (`require_improvement` off) this round's own even when it was not accepted."""
    accepted = accepted_reward_model(project=project)
    if accepted is None and not ctx.config.require_improvement:
        return own
    return accepted


def dpo_reason(accuracy: Any, *, judged: bool) -> str | None:
    """Why DPO's own held-out preference accuracy (an AccuracyTest, None without held-out pairs) rejects the
    policy, or None. Without a competent reward model it is the judge: it must be significantly above
    chance. With one, the reward model's verdict decides and this accuracy only vetoes a policy whose
    implicit rewards are significantly below chance: on 32 pairs it is too noisy to veto more (the
    "concise" round of the efficacy benchmark: accuracy 0.53, yet an oracle win rate of 0.86)."""
    if accuracy is None:
        if judged:
            return None
        return "no held-out pairs to check DPO's own preference accuracy on (annotate eval prompts)"
    if not judged and not accuracy.better_than_chance:
        return (
            f"DPO's own preference accuracy on {accuracy.pairs} held-out pairs, {accuracy.accuracy:.2f}, not "
            f"significantly above chance (p = {accuracy.p_value:.3f})"
        )
    if judged and accuracy.ci_high < 0.5:
        return (
            f"DPO's own preference accuracy on {accuracy.pairs} held-out pairs, {accuracy.accuracy:.2f} (95% "
            f"interval {accuracy.ci_low:.2f}-{accuracy.ci_high:.2f}), significantly below chance"
        )
    return None


def _reasons(verdict: PolicyVerdict, config: Any, dpo: str | None, judged: bool) -> list[str]:
    reasons = []
    if verdict.policy_kl_to_previous > config.kl_budget:
        reasons.append(f"KL {verdict.policy_kl_to_previous:.2f} nats over the budget {config.kl_budget}")
    if verdict.policy_harmless_ci_high is not None and verdict.policy_harmless_ci_high < 0.5:
        reasons.append(
            f"cost-model-judged harmless win rate {verdict.policy_harmless_win_rate:.2f} (95% interval "
            f"{verdict.policy_harmless_ci_low:.2f}-{verdict.policy_harmless_ci_high:.2f}) significantly "
            "below even: the new policy is more harmful than the previous one"
        )
    if judged and not (verdict.policy_win_p_value is not None and verdict.policy_win_p_value < 0.05):
        reasons.append(
            f"reward-model-judged win rate {verdict.policy_win_rate:.2f} (95% interval "
            f"{verdict.policy_win_ci_low:.2f}-{verdict.policy_win_ci_high:.2f}, {verdict.policy_win_prompts} "
            f"prompts) not significantly above {config.min_win_rate} (one-sided p = "
            f"{verdict.policy_win_p_value:.3f})"
        )
    if dpo is not None:
        reasons.append(dpo)
    return reasons


def stage_policy(ctx: StageContext) -> None:
    from training.acceptance import accuracy_test
    from training.dpo import implicit_reward_margins, train_dpo
    from training.evaluation import judge_samples, reward_judge, sample_pair
    from training.ppo import train_ppo

    training_round = ctx.load_round()
    if training_round.policy_id or read_summary(training_round.metrics).policy_decided:
        return
    project = training_round.project
    base = project.current_policy
    if base is None:
        raise StageError("The project has no current policy version to train from.")
    reward_model = _judge(ctx, project, training_round.reward_model)
    is_dpo = training_round.kind == RoundKind.DPO
    if reward_model is None and not is_dpo:
        raise StageError("No accepted reward model: the reward-model stage must accept one first.")
    output = ctx.artifact_dir("policies")
    feedback = feedback_inputs(ctx, training_round)  # the cost model (first 10%) and the edits
    step_progress = lambda f, m: ctx.progress(0.1 + 0.6 * f, m)  # noqa: E731 - the acceptance checks: the rest
    rows = round_rows(ctx, training_round) if is_dpo else None
    if rows is not None:
        dpo_config = ctx.config.dpo_config()
        metrics = train_dpo(
            dpo_config, policy_ref(base), rows.train, output, models_dir=ctx.models_dir,
            progress=step_progress, should_stop=ctx.should_stop,
        )  # fmt: skip
    else:
        assert reward_model is not None
        prompts = _sample_prompts(project, Split.TRAIN, ctx.config.prompts_per_round, seed=ctx.round_id)
        ppo_config = ctx.config.feedback_ppo_config(
            with_cost=feedback.cost_model is not None, with_demonstrations=bool(feedback.demonstrations)
        )
        metrics = train_ppo(
            ppo_config, policy_ref(base), reward_model.artifact_path, conversations(prompts),
            output, models_dir=ctx.models_dir, progress=step_progress, should_stop=ctx.should_stop,
            ptx_conversations=feedback.demonstrations or None, cost_ref=feedback.cost_model,
        )  # fmt: skip
    if ctx.should_stop():
        raise TrainingCancelled("cancelled after training, before the acceptance checks")

    ctx.progress(0.7, {})
    eval_prompts = conversations(
        _sample_prompts(project, Split.EVAL, ctx.config.eval_prompts, seed=ctx.round_id + 1)
    )

    def sample(candidate: Any, progress: Any = None) -> Any:
        return sample_pair(
            str(candidate), policy_ref(base), eval_prompts, models_dir=ctx.models_dir,
            generation=ctx.config.evaluation_config(), should_stop=ctx.should_stop, progress=progress,
        )  # fmt: skip

    samples = sample(output, progress=lambda f, m: ctx.progress(0.7 + 0.25 * f, {}))
    earlier_step = None
    earlier = output / EARLIER_DIR
    if samples.kl_mean > ctx.config.kl_budget and is_complete(earlier):
        nearer = sample(earlier)
        if nearer.kl_mean <= ctx.config.kl_budget:  # judge the part-way policy instead
            output, samples = earlier, nearer
            earlier_step = int(read_manifest(earlier)["metrics"]["steps"])
    judged: dict[str, Any] = {}
    if reward_model is not None:
        judge = reward_judge(reward_model.artifact_path, models_dir=ctx.models_dir)
        judged = judge_samples(samples, eval_prompts, judge, bar=ctx.config.min_win_rate, seed=ctx.round_id)
    dpo: str | None = None
    dpo_fields: dict[str, Any] = {}
    if rows is not None and not rows.eval_is_train:
        margins = implicit_reward_margins(
            str(output), policy_ref(base), rows.eval, models_dir=ctx.models_dir, beta=dpo_config.beta
        )
        dpo_test = accuracy_test([1.0 if m > 0 else 0.5 if m == 0 else 0.0 for m in margins])
        dpo = dpo_reason(dpo_test, judged=reward_model is not None)
        dpo_fields = {
            "dpo_eval_accuracy": dpo_test.accuracy,
            "dpo_eval_p_value": dpo_test.p_value,
            "dpo_eval_pairs": dpo_test.pairs,
        }
    elif rows is not None:  # no held-out pairs: without a reward model nothing shows DPO learned
        dpo = dpo_reason(None, judged=reward_model is not None)
        dpo_fields = {"dpo_eval_pairs": 0}
    harmless: dict[str, Any] = {}
    if feedback.cost_model is not None:
        harmless = harmless_verdict(samples, eval_prompts, feedback.cost_model, ctx)
        harmless["policy_cost_weight"] = None if is_dpo else ppo_config.cost_coef
    ctx.progress(0.97, {"kl_to_previous": samples.kl_mean})
    verdict = PolicyVerdict(
        policy_accepted=False,
        policy_kl_to_previous=samples.kl_mean,
        policy_win_rate=judged.get("win_rate"),
        policy_reward_new=judged.get("mean_score_candidate"),
        policy_reward_previous=judged.get("mean_score_baseline"),
        policy_artifact=str(output),
        policy_kl_per_token=samples.kl_per_token,
        policy_kl_budget=ctx.config.kl_budget,
        policy_min_win_rate=ctx.config.min_win_rate,
        policy_win_ci_low=judged.get("ci_low"),
        policy_win_ci_high=judged.get("ci_high"),
        policy_win_p_value=judged.get("p_value"),
        policy_win_prompts=judged.get("prompts"),
        policy_win_comparisons=judged.get("comparisons"),
        policy_judge="reward_model" if reward_model is not None else "none",
        policy_earlier_step=earlier_step,
        policy_stopped_at_step=metrics.get("stopped_at_step"),
        policy_updates=metrics.get("updates"),
        **dpo_fields,
        **harmless,
    )
    reasons = _reasons(verdict, ctx.config, dpo, judged=reward_model is not None)
    accepted = not reasons or (
        not ctx.config.require_improvement and verdict.policy_kl_to_previous <= ctx.config.kl_budget
    )
    if not accepted:
        verdict = dataclasses.replace(verdict, policy_rejected_because="; ".join(reasons))
        round_record(round_id=ctx.round_id, runner=ctx.runner, summary=verdict)
        return
    verdict = dataclasses.replace(verdict, policy_accepted=True)
    with transaction.atomic():
        version = (PolicyVersion.objects.filter(project=project).aggregate(m=Max("version"))["m"] or 0) + 1
        policy = PolicyVersion.objects.create(
            project=project,
            version=version,
            model_ref=str(output),
            artifact_path=str(output),
            parent=base,
            produced_by=training_round,
            metrics={
                **numbers(metrics),
                "kl_to_previous": samples.kl_mean,
                "win_rate": verdict.policy_win_rate if reward_model is not None else None,
            },
        )
        Project.objects.filter(pk=project.pk).update(current_policy=policy)
        round_record(
            round_id=ctx.round_id,
            runner=ctx.runner,
            policy=policy,
            summary=dataclasses.replace(verdict, policy_version=version),
        )
    if earlier_step is None:
        shutil.rmtree(earlier, ignore_errors=True)  # the final policy stands: its half-way copy is not needed
    ctx.progress(1.0, {})
