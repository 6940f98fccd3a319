"""The reaper: silent workers' rounds fail, lost messages are sent again."""

from django.utils import timezone

from annotation.models import RoundStatus, TrainingRound
from annotation.rounds.reaper import rounds_reap_stale
from annotation.rounds.services import round_launch
from tests.factories import ProjectFactory
from tests.helpers import broker_queue


def test_reaper_fails_rounds_whose_worker_went_silent(project, settings):
    training_round = round_launch(project=project, config={"preset": "smoke"})
    TrainingRound.objects.filter(pk=training_round.pk).update(
        status=RoundStatus.RUNNING,
        stage="policy",
        runner="dead-worker",
        heartbeat_at=timezone.now() - timezone.timedelta(seconds=3 * settings.PREFER_ROUND_STALE_SECONDS + 5),
    )
    assert rounds_reap_stale() == [training_round.pk]
    training_round.refresh_from_db()
    assert (
        training_round.status == "failed"
        and "stopped responding during the policy stage" in training_round.error
    )


def _gpu_queue() -> list[dict]:
    return broker_queue("gpu")


def test_reaper_resends_rounds_whose_message_was_lost(project, settings, django_capture_on_commit_callbacks):
    settings.PREFER_ROUND_REQUEUE_SECONDS = 300
    stuck = round_launch(project=project, config={"preset": "smoke"})
    fresh = round_launch(project=ProjectFactory(), config={"preset": "smoke"})
    assert _gpu_queue() == []  # on_commit never ran: as if the message was lost
    TrainingRound.objects.filter(pk=stuck.pk).update(
        created_at=timezone.now() - timezone.timedelta(minutes=6)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert rounds_reap_stale() == []
    [message] = _gpu_queue()
    assert message["headers"]["task"] == "annotation.tasks.training_round_run"
    assert message["headers"]["argsrepr"] == f"({stuck.pk},)"
    with django_capture_on_commit_callbacks(execute=True):
        rounds_reap_stale()
    assert len(_gpu_queue()) == 1  # not again right away: the wait doubles after each re-send
    stuck.refresh_from_db()
    assert stuck.metrics["dispatch"]["requeued"] == 1
    stuck.metrics["dispatch"]["at"] = (timezone.now() - timezone.timedelta(minutes=11)).isoformat()
    TrainingRound.objects.filter(pk=stuck.pk).update(metrics=stuck.metrics)
    with django_capture_on_commit_callbacks(execute=True):
        rounds_reap_stale()
    assert [m["headers"]["argsrepr"] for m in _gpu_queue()] == [f"({stuck.pk},)"] * 2
    assert TrainingRound.objects.get(pk=fresh.pk).metrics.get("dispatch") is None
