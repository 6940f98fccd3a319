"""An accepted reward model scores the responses of the comparisons its round trained and checked on; the
comparison page shows the newest accepted model's score (scored by a real tiny reward model)."""

from django.test import Client

from annotation.models import Comparison, ResponseScore, RewardModelVersion, Role, TrainingRound
from annotation.rounds.stages import reward_model as stage
from annotation.rounds.stages.context import round_rows
from annotation.rounds.stages.snapshot import stage_snapshot
from tests.factories import TINY_ROUND, member, tiny_loop_project
from tests.helpers import stage_context


def test_the_accepted_reward_model_scores_the_rounds_responses(db, settings, tmp_path):
    settings.PREFER_DATA_DIR = tmp_path
    project, _, _ = tiny_loop_project(6)
    ctx = stage_context(project, {**TINY_ROUND, "eval_fraction": 0.5})
    stage_snapshot(ctx)
    stage.stage_reward_model(ctx)
    training_round = TrainingRound.objects.get(pk=ctx.round_id)
    model = RewardModelVersion.objects.get(pk=training_round.reward_model_id)
    ResponseScore.objects.all().delete()  # whatever acceptance decided, score with the trained model now
    scored = stage._score_responses(ctx, model, round_rows(ctx, training_round))
    responses = Comparison.objects.filter(project=project).values_list("items__response_id", flat=True)
    assert scored == len(set(responses)) == ResponseScore.objects.filter(reward_model=model).count()
    again = stage._score_responses(ctx, model, round_rows(ctx, training_round))  # a resumed stage
    assert again == scored
    assert ResponseScore.objects.filter(reward_model=model).count() == scored

    comparison = Comparison.objects.filter(project=project).first()
    client = Client()
    client.force_login(member(project, Role.ADMIN))
    url = f"/p/{project.slug}/data/comparisons/{comparison.pk}/"
    model.accepted = False
    model.save()
    assert "data-rm-score" not in client.get(url).content.decode()  # only an accepted model's scores
    model.accepted = True
    model.save()
    page = client.get(url).content.decode()
    assert page.count("data-rm-score") == comparison.items.count()
    assert f"RM v{model.version}" in page
