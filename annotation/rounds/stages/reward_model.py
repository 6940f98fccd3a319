"""Stage 2, reward model: train (warm-started from the last accepted one) and accept it only when the
held-out pairs show it is better than chance and not worse than the last accepted one, both by a one-sided
test at 5% (`training.acceptance`) rather than by a raw comparison of two accuracies (one pair in six).
A held-out slice under `cross_validate_below` pairs is too small for the first verdict (8 pairs cannot show
0.75 above chance): the train pairs then join it, each judged out of fold by a model of the same recipe.

A reward model at chance cannot guide PPO nor judge a new policy. When no accepted reward model can judge
after this stage, a PPO round stops here and says so in plain words, before spending its policy budget on
no signal; a DPO round goes on (DPO learns from the pairs themselves) and is judged by its own held-out
preference accuracy."""

from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Max

from annotation.models import ComparisonItem, ResponseScore, RewardModelVersion, RoundKind
from annotation.review.flags import rm_disagreements_record, unanimous_rows
from annotation.rounds.protocol import round_record
from annotation.rounds.selectors import accepted_reward_model
from annotation.rounds.stages.context import RoundRows, StageContext, StageError, numbers, round_rows
from annotation.rounds.summary import RewardModelRecord
from training.acceptance import AccuracyTest, accuracy_test, significantly_worse
from training.config import RewardConfig


def _verdict(
    test: AccuracyTest,
    rows: RoundRows,
    previous: RewardModelVersion | None,
    worse: bool | None,
    out_of_fold: int,
    slice_accuracy: float,
) -> str:
    """Why the new reward model is not accepted ("" when it is)."""
    pairs = (
        f"{test.pairs} pairs ({test.pairs - out_of_fold} held-out, {out_of_fold} train pairs judged "
        "out of fold)"
        if out_of_fold
        else f"{test.pairs} held-out pairs"
    )
    interval = f"{test.accuracy:.2f} on {pairs}, 95% interval {test.ci_low:.2f}-{test.ci_high:.2f}"
    if rows.eval_is_train:
        return (
            "no held-out pairs (too few prompts to split), so nothing shows it learned more than the "
            "pairs it was trained on. Annotate eval-split prompts."
        )
    if not test.better_than_chance:
        return f"not better than chance on held-out pairs (accuracy {interval})"
    if worse and previous is not None:
        # Judged on the held-out slice alone: the earlier model trained on the train pairs.
        held = f"{slice_accuracy:.2f} on {test.pairs - out_of_fold}" if out_of_fold else interval
        return f"worse than RM v{previous.version} on the same held-out pairs (accuracy {held})"
    return ""


def _flag_rm_disagreements(ctx: StageContext, training_round: Any, output: Any, rows: RoundRows) -> None:
    import math

    from training.reward import score

    unanimous = unanimous_rows([*rows.train, *([] if rows.eval_is_train else rows.eval)])
    if not unanimous:
        return
    chosen = score(output, [r["prompt"] + r["chosen"] for r in unanimous], models_dir=ctx.models_dir)
    rejected = score(output, [r["prompt"] + r["rejected"] for r in unanimous], models_dir=ctx.models_dir)
    p = [1 / (1 + math.exp(c - r)) for c, r in zip(chosen, rejected, strict=True)]
    rm_disagreements_record(training_round=training_round, rows=unanimous, p_rejected_better=p)


MAX_SCORED_RESPONSES = 4000  # bounds the stage's extra time (MiniLM scores a few hundred a second on a CPU)


def _score_responses(ctx: StageContext, reward_model: RewardModelVersion, rows: RoundRows) -> int:
    """Score the responses of the comparisons the round trained and checked on with the accepted reward
    model (ResponseScore, shown on the comparison page); returns how many were scored."""
    from training.reward import score

    compared = {row["comparison_id"] for row in [*rows.train, *rows.eval] if row.get("comparison_id")}
    items = list(
        ComparisonItem.objects.filter(comparison_id__in=compared)
        .select_related("response__prompt")
        .order_by("response_id")
        .distinct("response_id")[:MAX_SCORED_RESPONSES]
    )
    if not items:
        return 0
    conversations = [
        [*item.response.prompt.messages, {"role": "assistant", "content": item.response.text}]
        for item in items
    ]
    scores = score(reward_model.artifact_path, conversations, models_dir=ctx.models_dir)
    ResponseScore.objects.bulk_create(
        [
            ResponseScore(response_id=item.response_id, reward_model=reward_model, score=float(value))
            for item, value in zip(items, scores, strict=True)
        ],
        ignore_conflicts=True,  # a resumed stage scores again
    )
    return len(items)


def _cross_validates(ctx: StageContext, rows: RoundRows) -> bool:
    return (
        not rows.eval_is_train
        and ctx.config.cross_validation_folds >= 2
        and len(rows.eval) < ctx.config.cross_validate_below
    )


def _out_of_fold_correct(
    ctx: StageContext, rows: RoundRows, config: RewardConfig, output: Path
) -> list[float]:
    """When the held-out slice is too small for a verdict, every train pair judged by a reward model that
    did not see its prompt (`training.reward.cross_validated_correct`); otherwise nothing.

    The fold models start from the base model, not from the last accepted reward model: that one was
    trained on these pairs' prompts in earlier rounds, and a judge that saw a pair is no judge of it. So
    on a warm-started round the estimate is of the recipe from scratch, a conservative one."""
    if not _cross_validates(ctx, rows):
        return []
    from training.reward import cross_validated_correct

    return cross_validated_correct(
        config,
        rows.train,
        folds=ctx.config.cross_validation_folds,
        models_dir=ctx.models_dir,
        work_dir=output.with_name(output.name + "-folds"),
        progress=lambda f, m: ctx.progress(0.4 + 0.45 * f, m),
        should_stop=ctx.should_stop,
    )


def stage_reward_model(ctx: StageContext) -> None:
    from training.reward import pairwise_correct, train_reward_model

    training_round = ctx.load_round()
    if training_round.reward_model_id:
        return
    project = training_round.project
    rows = round_rows(ctx, training_round)
    previous = accepted_reward_model(project=project)
    output = ctx.artifact_dir("reward_models")
    config = ctx.config.reward_config()
    share = 0.4 if _cross_validates(ctx, rows) else 0.85  # of the stage's progress: the folds take the rest
    metrics = train_reward_model(
        config,
        rows.train,
        rows.eval,
        output,
        models_dir=ctx.models_dir,
        init=previous.artifact_path if previous else None,
        progress=lambda f, m: ctx.progress(share * f, m),
        should_stop=ctx.should_stop,
    )
    correct = pairwise_correct(output, rows.eval, models_dir=ctx.models_dir)
    out_of_fold = _out_of_fold_correct(ctx, rows, config, output)
    test = accuracy_test(correct + out_of_fold)
    previous_accuracy = worse_p = None
    worse = None
    if previous is not None and not rows.eval_is_train:
        previous_correct = pairwise_correct(previous.artifact_path, rows.eval, models_dir=ctx.models_dir)
        previous_accuracy = sum(previous_correct) / max(len(previous_correct), 1)
        worse, worse_p = significantly_worse(correct, previous_correct)
    rejected_because = _verdict(
        test, rows, previous, worse, len(out_of_fold), sum(correct) / max(len(correct), 1)
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
                **numbers(metrics),
                **{f"eval_{k}": v for k, v in test.to_dict().items()},
                "previous_eval_accuracy": previous_accuracy,
                "eval_is_train": rows.eval_is_train,
                "eval_out_of_fold_pairs": len(out_of_fold),
                **({"rejected_because": rejected_because} if rejected_because else {}),
            },
            accepted=accepted,
        )
        judge = reward_model if accepted else previous
        round_record(
            round_id=ctx.round_id,
            runner=ctx.runner,
            reward_model=reward_model,
            summary=RewardModelRecord(
                rm_version=version,
                rm_accepted=accepted,
                rm_eval_accuracy=test.accuracy,
                rm_previous_eval_accuracy=previous_accuracy,
                rm_eval_is_train=rows.eval_is_train,
                rm_rejected_because=rejected_because,
                rm_eval_pairs=test.pairs,
                rm_out_of_fold_pairs=len(out_of_fold),
                rm_eval_ci_low=test.ci_low,
                rm_eval_ci_high=test.ci_high,
                rm_better_than_chance=test.better_than_chance,
                rm_worse_p_value=worse_p,
                rm_judge_version=judge.version if judge else None,
            ),
        )
    if accepted:  # issue 12: unanimous verdicts the accepted model contradicts go to the review queue
        _flag_rm_disagreements(ctx, training_round, output, rows)
        _score_responses(ctx, reward_model, rows)
    ctx.progress(1.0, {"eval_accuracy": test.accuracy})
    if judge is None and training_round.kind == RoundKind.PPO and ctx.config.require_improvement:
        raise StageError(
            f"The reward model learned nothing the held-out pairs confirm: it is {rejected_because}. "
            "PPO would optimise noise and no reward model could judge the result, so the round stops "
            "before the policy stage. Annotate more comparisons (and check the annotators agree), or "
            "launch a DPO round, which learns from the pairs directly."
        )
