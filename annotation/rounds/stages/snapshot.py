"""Stage 1, snapshot: the consensus preference pairs of the train and eval splits, frozen to hashed files."""

from annotation.data.snapshots import dataset_snapshot_create
from annotation.models import Split
from annotation.rounds.protocol import round_record
from annotation.rounds.stages.context import StageContext, StageError
from annotation.rounds.summary import SnapshotRecord


def stage_snapshot(ctx: StageContext) -> None:
    training_round = ctx.load_round()
    if training_round.snapshot_id:
        return
    project = training_round.project
    ctx.progress(0.1, {})
    aggregation = ctx.config.aggregation
    train = dataset_snapshot_create(project=project, split=Split.TRAIN, format="trl", aggregation=aggregation)
    ctx.progress(0.6, {})
    evaluation = dataset_snapshot_create(
        project=project, split=Split.EVAL, format="trl", aggregation=aggregation
    )
    if train.row_count < ctx.config.min_pairs:
        raise StageError(
            f"Only {train.row_count} preference pair(s) in the train split; this round needs at least "
            f"{ctx.config.min_pairs} (annotate more, or lower min_pairs in the round config)."
        )
    round_record(
        round_id=ctx.round_id,
        runner=ctx.runner,
        snapshot=train,
        summary=SnapshotRecord(
            snapshot_sha256=train.sha256,
            train_pairs=train.row_count,
            eval_snapshot_id=evaluation.pk,
            eval_pairs_split=evaluation.row_count,
        ),
    )
    ctx.progress(1.0, {})
