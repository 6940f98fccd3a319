"""The scheduler: a round when a project has enough new preferences, never twice for the same data."""

import uuid

from annotation.models import Comparison, PolicyVersion, RoundStatus, TrainingRound
from annotation.queue.leasing import task_lease_next
from annotation.queue.submission import annotation_submit
from annotation.rounds.schedule import new_preferences_since_last_round, rounds_schedule
from tests.factories import ProjectFactory, make_comparisons, member


def test_schedule_starts_exactly_at_threshold_and_not_again_without_new_data(db):
    project = ProjectFactory(auto_round_enabled=True, auto_round_min_new_preferences=3)
    PolicyVersion.objects.create(project=project, version=1, model_ref="tiny-causal-lm")
    make_comparisons(project, 6)
    users = [member(project) for _ in range(2)]

    def annotate(n):
        for _ in range(n):
            user = users[0] if task_lease_next(project=project, user=users[0]) else users[1]
            lease = task_lease_next(project=project, user=user)
            ids = Comparison.objects.get(pk=lease.comparison_id).items.values_list(
                "response__public_id", flat=True
            )
            annotation_submit(
                comparison_id=lease.comparison_id, user=user, client_token=uuid.uuid4().hex,
                ranking=[[str(i)] for i in ids],
            )  # fmt: skip

    annotate(2)
    assert rounds_schedule() == []
    annotate(1)
    [launched] = rounds_schedule()
    assert TrainingRound.objects.get(pk=launched).trigger == "schedule"
    assert rounds_schedule() == []  # one is active
    TrainingRound.objects.filter(pk=launched).update(status=RoundStatus.SUCCEEDED)
    assert new_preferences_since_last_round(project=project) == 0
    assert rounds_schedule() == []  # nothing new since that round
    annotate(3)
    assert len(rounds_schedule()) == 1


def test_schedule_skips_a_project_with_an_invalid_auto_config(db, caplog):
    broken = ProjectFactory(
        auto_round_enabled=True, auto_round_min_new_preferences=0, auto_round_config={"ppo": {"stepz": 1}}
    )
    healthy = ProjectFactory(
        auto_round_enabled=True, auto_round_min_new_preferences=0, auto_round_config={"preset": "smoke"}
    )
    [launched] = rounds_schedule()
    assert TrainingRound.objects.get(pk=launched).project_id == healthy.pk
    assert not TrainingRound.objects.filter(project=broken).exists()
    assert broken.slug in caplog.text and "stepz" in caplog.text
