"""Stage 2, reward model: train (warm-started from the last accepted one) and accept it only if it is not
worse on held-out pairs."""

from django.db import transaction
from django.db.models import Max

from annotation.models import RewardModelVersion
from annotation.rounds.protocol import round_record
from annotation.rounds.selectors import accepted_reward_model
from annotation.rounds.stages.context import StageContext, numbers, round_rows
from annotation.rounds.summary import RewardModelRecord


def stage_reward_model(ctx: StageContext) -> None:
    from training.reward import pairwise_accuracy, train_reward_model

    training_round = ctx.load_round()
    if training_round.reward_model_id:
        return
    project = training_round.project
    rows = round_rows(ctx, training_round)
    train_rows, eval_rows = rows.train, rows.eval
    previous = accepted_reward_model(project=project)
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
                **numbers(metrics),
                "previous_eval_accuracy": previous_accuracy,
                "eval_is_train": rows.eval_is_train,
                **({"rejected_because": rejected_because} if rejected_because else {}),
            },
            accepted=accepted,
        )
        summary = RewardModelRecord(
            rm_version=version,
            rm_accepted=accepted,
            rm_eval_accuracy=new_accuracy,
            rm_previous_eval_accuracy=previous_accuracy,
            rm_eval_is_train=rows.eval_is_train,
            rm_rejected_because=rejected_because,
        )
        round_record(round_id=ctx.round_id, runner=ctx.runner, reward_model=reward_model, summary=summary)
    ctx.progress(1.0, {"eval_accuracy": new_accuracy})
