"""The worker protocol: claims, and resuming a round from a lost worker a bounded number of times."""

from django.utils import timezone

from annotation.models import TrainingRound
from annotation.rounds.protocol import round_claim
from annotation.rounds.services import round_launch


def _make_stale(round_id: int, settings) -> None:
    TrainingRound.objects.filter(pk=round_id).update(
        heartbeat_at=timezone.now() - timezone.timedelta(seconds=settings.PREFER_ROUND_STALE_SECONDS + 1)
    )


def test_a_round_that_keeps_losing_its_worker_fails_after_two_resumes(project, settings):
    training_round = round_launch(project=project, config={"preset": "smoke"})
    first = round_claim(round_id=training_round.pk)
    assert first
    TrainingRound.objects.filter(pk=training_round.pk).update(stage="policy")
    assert round_claim(round_id=training_round.pk) == ""  # fresh heartbeat: a duplicate delivery waits
    tokens = []
    for _ in range(2):
        _make_stale(training_round.pk, settings)
        tokens.append(round_claim(round_id=training_round.pk))
    assert all(tokens) and len({first, *tokens}) == 3
    training_round.refresh_from_db()
    assert training_round.status == "running"
    assert [e["kind"] for e in training_round.metrics["events"]] == ["resume", "resume"]
    _make_stale(training_round.pk, settings)
    assert round_claim(round_id=training_round.pk) is None
    training_round.refresh_from_db()
    assert training_round.status == "failed" and training_round.finished_at is not None
    assert "lost 3 times" in training_round.error and "policy stage" in training_round.error
    assert round_claim(round_id=training_round.pk) is None  # later redeliveries stop at once
