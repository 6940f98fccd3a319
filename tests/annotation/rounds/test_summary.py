"""The typed accessor of a round's metrics JSON: the keys existing rounds hold read back, every key a stage
writes is one that is read, and the context reads the round only when asked."""

import dataclasses
from datetime import UTC, datetime

import pytest

from annotation.rounds.summary import (
    Dispatch,
    GenerateRecord,
    PolicyVerdict,
    RewardModelRecord,
    RoundSummary,
    SnapshotRecord,
    StageSeconds,
    event_add,
    read_dispatch,
    read_summary,
    resume_count,
    series_append,
    stage_series,
    summary_update,
    write_dispatch,
)
from tests.helpers import stage_context

# What a round of the previous release has in its metrics (the JSON the dashboard and the API show).
EXISTING = {
    "summary": {
        "snapshot_sha256": "ab" * 32,
        "train_pairs": 12,
        "eval_snapshot_id": 7,
        "eval_pairs_split": 0,
        "rm_version": 2,
        "rm_accepted": False,
        "rm_eval_accuracy": 0.6,
        "rm_previous_eval_accuracy": 0.8,
        "rm_eval_is_train": False,
        "rm_rejected_because": "held-out accuracy 0.600 below RM v1's 0.800",
        "policy_accepted": True,
        "policy_kl_to_previous": 1.5,
        "policy_win_rate": 0.7,
        "policy_reward_new": 1.0,
        "policy_reward_previous": 0.5,
        "policy_artifact": "/data/p",
        "policy_version": 3,
        "generated_comparisons": 4,
        "seconds_snapshot": 0.4,
        "seconds_policy": 61.0,
        "some_future_key": "ignored",
    },
    "events": [{"at": "2025-01-01T00:00:00+00:00", "kind": "resume", "event": "resumed ..."}],
    "dispatch": {"requeued": 2, "at": "2025-01-01T00:05:00+00:00"},
    "series": {"policy": [{"step": 0, "reward_raw": 0.1}, {"step": 1, "kl_ref": 0.2}]},
}


def test_an_existing_rounds_metrics_read_back_typed():
    summary = read_summary(EXISTING)
    assert (summary.eval_snapshot_id, summary.rm_accepted, summary.policy_version) == (7, False, 3)
    assert summary.policy_decided and summary.policy_accepted and summary.generated_comparisons == 4
    assert summary.seconds == {"snapshot": 0.4, "policy": 61.0}
    assert resume_count(EXISTING) == 1
    assert read_dispatch(EXISTING) == Dispatch(requeued=2, at=datetime(2025, 1, 1, 0, 5, tzinfo=UTC))
    assert stage_series(EXISTING, "policy", "reward_raw") == [0.1, None]


def test_a_fresh_round_has_decided_nothing():
    summary = read_summary({})
    assert summary == RoundSummary() and not summary.policy_decided and summary.eval_snapshot_id is None
    assert read_dispatch({}) == Dispatch() and resume_count({}) == 0 and stage_series({}, "policy", "x") == []


def test_every_key_a_stage_writes_is_read_back():
    read = {f.name for f in dataclasses.fields(RoundSummary)}
    for record in (SnapshotRecord, RewardModelRecord, PolicyVerdict, GenerateRecord):
        assert {f.name for f in dataclasses.fields(record)} <= read, record


def test_records_written_are_the_records_read():
    metrics: dict = {}
    summary_update(metrics, SnapshotRecord("cd" * 32, 5, 9, 1))
    summary_update(metrics, RewardModelRecord(1, True, 0.9, None, True))
    verdict = PolicyVerdict(False, 9.0, 0.4, None, 0.2, "/a", policy_rejected_because="KL over")
    summary_update(metrics, verdict)
    summary_update(metrics, StageSeconds("reward_model", 3.5))
    assert "rm_rejected_because" not in metrics["summary"] and "policy_version" not in metrics["summary"]
    assert metrics["summary"]["rm_previous_eval_accuracy"] is None  # recorded as "no previous one"
    summary = read_summary(metrics)
    assert summary.eval_snapshot_id == 9 and summary.rm_previous_eval_accuracy is None
    assert summary.policy_decided and summary.policy_accepted is False
    assert summary.policy_rejected_because == "KL over" and summary.seconds == {"reward_model": 3.5}
    summary_update(metrics, dataclasses.replace(verdict, policy_accepted=True, policy_version=2))
    summary_update(metrics, GenerateRecord(generated_comparisons=6))
    assert read_summary(metrics).policy_version == 2 and read_summary(metrics).generated_comparisons == 6


def test_events_dispatch_and_bounded_series():
    metrics: dict = {}
    event_add(metrics, kind="resume", at=datetime(2025, 1, 2, tzinfo=UTC), text="resumed")
    event_add(metrics, kind="other", at=datetime(2025, 1, 3, tzinfo=UTC), text="x")
    assert resume_count(metrics) == 1 and metrics["events"][0]["at"] == "2025-01-02T00:00:00+00:00"
    write_dispatch(metrics, Dispatch(requeued=1, at=datetime(2025, 1, 4, tzinfo=UTC)))
    assert metrics["dispatch"] == {"requeued": 1, "at": "2025-01-04T00:00:00+00:00"}
    assert read_dispatch(metrics).requeued == 1
    series_append(metrics, "policy", [{"loss": float(i), "flag": True, "name": "x"} for i in range(401)])
    points = metrics["series"]["policy"]
    assert len(points) <= 400 and points[0] == {"step": 0, "loss": 0.0}  # numbers only, every other kept
    assert stage_series(metrics, "policy", "loss")[-1] == 400.0


@pytest.mark.django_db
def test_the_stage_context_reads_the_round_once_and_again_only_when_asked(project, django_assert_num_queries):
    ctx = stage_context(project, {"preset": "smoke"})
    with django_assert_num_queries(0):
        assert ctx.config.min_pairs == 2 and ctx.project_slug == project.slug
        assert ctx.artifact_dir("policies").parts[-3:-1] == (project.slug, "policies")
    with django_assert_num_queries(1):
        assert ctx.load_round().project.current_policy == project.current_policy
