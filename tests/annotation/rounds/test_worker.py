"""Whole rounds through a real Celery worker process with tiny models (real Redis, real Postgres, real
torch)."""

import pytest

from annotation.models import Comparison, PolicyVersion, Response, RewardModelVersion, TrainingRound
from annotation.queue.leasing import task_lease_next
from tests.celery_worker import celery_worker
from tests.factories import TINY_ROUND as TINY
from tests.factories import tiny_loop_project
from tests.helpers import api_client, final, wait_for


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_whole_round_through_a_worker_closes_the_loop(tmp_path):
    project, admin, annotator = tiny_loop_project()
    assert not task_lease_next(project=project, user=annotator)  # everything annotated
    with celery_worker(tmp_path, concurrency=2) as worker:
        response = api_client(admin).post(
            f"/api/v1/projects/{project.slug}/rounds/", {"kind": "ppo", "config": TINY}, format="json"
        )
        round_id = response.json()["id"]
        saw_running = wait_for(
            lambda: TrainingRound.objects.filter(pk=round_id, status="running").exists() or final(round_id),
            120, worker, "the round to start",
        )  # fmt: skip
        assert saw_running
        # a duplicate delivery of the same task must not train twice
        from annotation.rounds.tasks import training_round_run

        training_round_run.delay(round_id)
        done = wait_for(lambda: final(round_id), 300, worker, "the round to finish")
    assert done.status == "succeeded", done.error + worker.output()
    summary = done.metrics["summary"]
    assert len(done.snapshot.sha256) == 64 and summary["train_pairs"] >= 2
    assert RewardModelVersion.objects.filter(project=project).count() == 1
    reward_model = RewardModelVersion.objects.get(project=project)
    assert 0.0 <= reward_model.metrics["eval_accuracy"] <= 1.0
    # Nothing could be held out (every prompt is the same text), so it is not accepted; a pipeline check
    # (require_improvement off) goes on with it all the same.
    assert not reward_model.accepted and summary["rm_eval_is_train"] is True
    policies = PolicyVersion.objects.filter(project=project).order_by("version")
    assert [p.version for p in policies] == [1, 2]
    new_policy = policies[1]
    assert new_policy.parent_id == policies[0].pk and new_policy.produced_by_id == round_id
    project.refresh_from_db()
    assert project.current_policy_id == new_policy.pk
    assert done.metrics["series"]["reward_model"] and done.metrics["series"]["policy"]
    assert "kl_to_previous" in new_policy.metrics and done.progress == 1.0
    # the new policy's comparisons, paired against the previous policy, are served to the annotator
    lease = task_lease_next(project=project, user=annotator)
    assert lease is not None
    comparison = Comparison.objects.get(pk=lease.comparison_id)
    assert comparison.round_id == round_id
    sources = set(
        Response.objects.filter(comparisons=comparison).values_list("policy_version__version", flat=True)
    )
    assert sources == {1, 2}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_cancel_mid_stage_and_failure_and_killed_worker(tmp_path):
    project, admin, _ = tiny_loop_project()
    client = api_client(admin)
    long_ppo = {**TINY, "ppo": {"preset": "smoke", "steps": 400}}
    with celery_worker(tmp_path, concurrency=1) as worker:
        # 1. cancel while the policy stage runs: stops between steps, registers nothing
        round_id = client.post(
            f"/api/v1/projects/{project.slug}/rounds/", {"config": long_ppo}, format="json"
        ).json()["id"]
        in_policy = wait_for(
            lambda: _policy_stage_under_way(round_id), 180, worker, "the policy stage to start"
        )
        assert in_policy == "policy", f"the round finished before it could be cancelled: {in_policy}"
        assert client.post(f"/api/v1/rounds/{round_id}/cancel/").status_code == 200
        cancelled = wait_for(lambda: final(round_id), 60, worker, "the cancel to take effect")
        assert cancelled.status == "cancelled" and "policy" in cancelled.error
        assert PolicyVersion.objects.filter(project=project).count() == 1

        # 2. a stage that raises (the policy's artifact went missing): failed, with a readable error
        PolicyVersion.objects.filter(project=project, version=1).update(model_ref="/nonexistent/policy-dir")
        round_id = client.post(
            f"/api/v1/projects/{project.slug}/rounds/", {"config": TINY}, format="json"
        ).json()["id"]
        failed = wait_for(lambda: final(round_id), 120, worker, "the broken round to fail")
        assert failed.status == "failed"
        assert failed.error.startswith("policy stage failed") and "nonexistent" in failed.error
        assert PolicyVersion.objects.filter(project=project).count() == 1
        PolicyVersion.objects.filter(project=project, version=1).update(model_ref="tiny-causal-lm")

        # 3. SIGKILL the process running the round mid-stage: the redelivered task resumes it once the
        # heartbeat is stale, and nothing is registered twice. The stage is as long as in 1: progress is
        # written at most once a second, so a short stage (60 steps of tiny models can take under a second)
        # may pass from its first write to its last between two polls, and the kill would never land.
        round_id = client.post(
            f"/api/v1/projects/{project.slug}/rounds/", {"config": long_ppo}, format="json"
        ).json()["id"]
        in_policy = wait_for(
            lambda: _policy_stage_under_way(round_id), 180, worker, "the round to reach training"
        )
        assert in_policy == "policy", f"the round finished before the kill could land: {in_policy}"
        worker.kill_child()
        resumed = wait_for(lambda: final(round_id), 300, worker, "the killed round to finish")
    assert resumed.status in {"succeeded", "failed"}, resumed.error
    assert resumed.status == "succeeded", resumed.error + worker.output()
    assert any("resumed" in event["event"] for event in resumed.metrics.get("events", []))
    assert RewardModelVersion.objects.filter(produced_by_id=round_id).count() == 1
    assert PolicyVersion.objects.filter(produced_by_id=round_id).count() == 1


def _policy_stage_under_way(round_id: int) -> str | None:
    """'policy' once the policy stage has written progress, the final status if the round ended first."""
    if TrainingRound.objects.filter(pk=round_id, stage="policy", progress__gt=0.36).exists():
        return "policy"
    done = final(round_id)
    return done.status if done else None
