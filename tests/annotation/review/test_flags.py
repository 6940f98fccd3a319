"""rm_disagrees: after a round, unanimous human verdicts that the round's reward model contradicts with
high confidence are flagged for review (scored by a real tiny reward model trained in the test)."""

import pytest

from annotation.models import ReviewFlag, RewardModelVersion, TrainingRound
from annotation.projects.services import project_update
from annotation.review import flags
from annotation.review.queue import review_queue
from annotation.rounds.stages import reward_model as stage
from annotation.rounds.stages.context import round_rows
from annotation.rounds.stages.snapshot import stage_snapshot
from tests.factories import TINY_ROUND, annotate_all, member, tiny_loop_project
from tests.helpers import stage_context


def test_unanimous_rows_need_two_agreeing_annotators_and_no_review():
    rows = [
        {"comparison_id": 1, "agreement": 1.0, "n_annotations": 2},
        {"comparison_id": 2, "agreement": 1.0, "n_annotations": 1},
        {"comparison_id": 3, "agreement": 0.5, "n_annotations": 2},
        {"comparison_id": 4, "agreement": 1.0, "n_annotations": 3, "adjudicated": True},
    ]
    assert [row["comparison_id"] for row in flags.unanimous_rows(rows)] == [1]


@pytest.mark.parametrize("confidence", [0.0, 1.01])
def test_the_reward_stage_flags_what_its_model_contradicts(db, settings, tmp_path, monkeypatch, confidence):
    settings.PREFER_DATA_DIR = tmp_path
    project, _, _ = tiny_loop_project(6)
    project_update(project=project, overlap=2)  # reopens the comparisons for a second annotator
    annotate_all(project, [member(project)])  # with the same rule: unanimous pairs
    monkeypatch.setattr(flags, "RM_CONFIDENCE", confidence)
    ctx = stage_context(project, {**TINY_ROUND, "eval_fraction": 0.5})
    stage_snapshot(ctx)
    stage.stage_reward_model(ctx)
    training_round = TrainingRound.objects.get(pk=ctx.round_id)
    model = RewardModelVersion.objects.get(pk=training_round.reward_model_id)
    ReviewFlag.objects.all().delete()  # whatever acceptance decided, score with the trained model now
    stage._flag_rm_disagreements(ctx, training_round, model.artifact_path, round_rows(ctx, training_round))
    flagged = ReviewFlag.objects.filter(project=project, reason="rm_disagrees", round=training_round)
    if confidence == 0.0:  # every unanimous pair counts as contradicted
        assert flagged.count() == 6 and all(0 <= f.detail["p_rejected_better"] <= 1 for f in flagged)
        assert set(review_queue(project=project)) == set(flagged.values_list("comparison_id", flat=True))
    else:
        assert flagged.count() == 0
