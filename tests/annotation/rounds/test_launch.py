"""Launching and cancelling rounds: one active round per project, enqueued on commit (or run here)."""

import pytest
from django.core.management import call_command

from annotation.errors import Conflict
from annotation.models import RoundStatus, TrainingRound
from annotation.rounds import runner
from annotation.rounds.protocol import round_claim, round_finish
from annotation.rounds.services import round_cancel, round_launch
from tests.factories import ProjectFactory
from tests.helpers import run_concurrently


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_launches_one_refused():
    project = ProjectFactory()
    outcomes: list[object] = []

    def launch():
        try:
            outcomes.append(round_launch(project=project, config={"preset": "smoke"}).pk)
        except Conflict as exc:
            outcomes.append(exc.code)

    assert run_concurrently(launch, [(), ()], timeout=30) == []
    assert sorted(outcomes, key=str) == sorted(
        [*TrainingRound.objects.filter(project=project).values_list("pk", flat=True), "round_active"], key=str
    )
    assert TrainingRound.objects.filter(project=project).count() == 1


def test_cancel_running_round_sets_the_flag(project):
    training_round = round_launch(project=project, config={"preset": "smoke"})
    TrainingRound.objects.filter(pk=training_round.pk).update(status=RoundStatus.RUNNING)
    assert round_cancel(training_round=training_round).cancel_requested


def test_launch_round_inline_sends_no_task(project, monkeypatch, django_capture_on_commit_callbacks):
    ran = []

    def execute_here(*, round_id):
        token = round_claim(round_id=round_id)
        round_finish(round_id=round_id, runner=token, status=RoundStatus.SUCCEEDED)
        ran.append(round_id)
        return "succeeded"

    monkeypatch.setattr(runner, "round_execute", execute_here)
    with django_capture_on_commit_callbacks() as callbacks:
        call_command("launch_round", project.slug, "--inline", "--config", '{"preset": "smoke"}')
    assert callbacks == [] and len(ran) == 1
    assert TrainingRound.objects.get(pk=ran[0]).status == "succeeded"
    with django_capture_on_commit_callbacks() as callbacks:
        call_command("launch_round", project.slug, "--config", '{"preset": "smoke"}')
    assert len(callbacks) == 1 and len(ran) == 1  # without --inline: enqueued on commit, not run here
