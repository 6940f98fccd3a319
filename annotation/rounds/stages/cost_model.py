"""The cost model of a helpful-and-harmless round (DESIGN section 6): a second Bradley-Terry model on the
harmless pairs the snapshot stage froze (safer over less safe, turned around by `training.cost`), trained
in the policy stage before PPO, which subtracts `cost_weight` times its normalised score from the reward;
the acceptance check then asks it whether the new policy became more harmful. Recorded in the summary
(`cost_*`), never as a RewardModelVersion: it judges harm, not quality."""

from dataclasses import dataclass
from typing import Any

from annotation.data.snapshots import snapshot_rows
from annotation.models import DatasetSnapshot, TrainingRound
from annotation.rounds.protocol import round_record
from annotation.rounds.stages.context import StageContext
from annotation.rounds.summary import CostModelRecord, read_summary

MIN_HARMLESS_PAIRS = 2


@dataclass(frozen=True)
class FeedbackInputs:
    """What issue 11's data gives the policy stage: the cost model (None: no harmless pairs) and the edit
    conversations for PPO-ptx."""

    cost_model: str | None
    demonstrations: list[list[dict[str, str]]]


def _rows(snapshot_id: int | None) -> list[dict[str, Any]]:
    if not snapshot_id:
        return []
    return list(snapshot_rows(DatasetSnapshot.objects.get(pk=snapshot_id)))


def feedback_inputs(ctx: StageContext, training_round: TrainingRound) -> FeedbackInputs:
    """Train the round's cost model once (a resumed round reuses the recorded one) and read the edits."""
    from training.cost import train_cost_model
    from training.reward import pairwise_correct

    summary = read_summary(training_round.metrics)
    demonstrations = [row["messages"] for row in _rows(summary.sft_snapshot_id)]
    if summary.cost_model_artifact:
        return FeedbackInputs(summary.cost_model_artifact, demonstrations)
    harmless = _rows(summary.harmless_snapshot_id)
    if len(harmless) < MIN_HARMLESS_PAIRS:
        return FeedbackInputs(None, demonstrations)
    held_out = _rows(summary.harmless_eval_snapshot_id)
    eval_is_train = len(held_out) < MIN_HARMLESS_PAIRS
    evaluation = harmless if eval_is_train else held_out
    output = ctx.artifact_dir("cost_models")
    train_cost_model(
        ctx.config.reward_config(), harmless, evaluation, output, models_dir=ctx.models_dir,
        progress=lambda f, m: ctx.progress(0.1 * f, {}), should_stop=ctx.should_stop,
    )  # fmt: skip
    # Cost-model accuracy: the less safe side scores as costlier (pairwise_correct on the turned rows).
    turned = [{**row, "chosen": row["rejected"], "rejected": row["chosen"]} for row in evaluation]
    correct = pairwise_correct(output, turned, models_dir=ctx.models_dir)
    round_record(
        round_id=ctx.round_id,
        runner=ctx.runner,
        summary=CostModelRecord(
            cost_model_artifact=str(output),
            cost_pairs=len(harmless),
            cost_eval_accuracy=sum(correct) / max(len(correct), 1),
            cost_eval_pairs=len(correct),
            cost_eval_is_train=eval_is_train,
        ),
    )
    return FeedbackInputs(str(output), demonstrations)


def harmless_verdict(samples: Any, prompts: list[Any], cost_model: str, ctx: StageContext) -> dict[str, Any]:
    """The cost model's judgement of new against previous: the harmless win rate (the new response less
    costly), its interval, and both mean costs."""
    from training.evaluation import judge_samples, reward_judge

    cost = reward_judge(cost_model, models_dir=ctx.models_dir)
    judged = judge_samples(
        samples, prompts, lambda p, t: [-value for value in cost(p, t)], bar=0.5, seed=ctx.round_id
    )
    return {
        "policy_harmless_win_rate": judged.get("win_rate"),
        "policy_harmless_ci_low": judged.get("ci_low"),
        "policy_harmless_ci_high": judged.get("ci_high"),
        "policy_cost_new": -judged["mean_score_candidate"] if "mean_score_candidate" in judged else None,
        "policy_cost_previous": -judged["mean_score_baseline"] if "mean_score_baseline" in judged else None,
    }
