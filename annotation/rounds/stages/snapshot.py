"""Stage 1, snapshot: the consensus preference pairs of the train and eval splits, frozen to hashed files."""

from annotation.data.snapshots import dataset_snapshot_create
from annotation.models import Project, Split
from annotation.rounds.protocol import round_record
from annotation.rounds.stages.context import StageContext, StageError
from annotation.rounds.summary import SnapshotRecord


def feedback_snapshots(project: Project) -> dict[str, int]:
    """Issue 11's data for the later stages, frozen beside the pairs: the edit texts (SFT rows for
    PPO-ptx) where the project takes edits, the harmless pairs (train and eval) where it collects them."""
    fields: dict[str, int] = {}
    if project.allow_edits:
        sft = dataset_snapshot_create(project=project, split=Split.TRAIN, format="sft")
        fields.update(sft_snapshot_id=sft.pk, sft_rows=sft.row_count)
    if project.dual_preference:
        harmless = dataset_snapshot_create(project=project, split=Split.TRAIN, format="trl-harmless")
        held_out = dataset_snapshot_create(project=project, split=Split.EVAL, format="trl-harmless")
        fields.update(
            harmless_snapshot_id=harmless.pk,
            harmless_pairs=harmless.row_count,
            harmless_eval_snapshot_id=held_out.pk,
            harmless_eval_pairs=held_out.row_count,
        )
    return fields


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
            **feedback_snapshots(project),
        ),
    )
    ctx.progress(1.0, {})
