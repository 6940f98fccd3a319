"""Training rounds: launching, the schedule, and whole rounds through a real Celery worker process with tiny
models (real Redis, real Postgres, real torch)."""

import time
import uuid

import pytest
from django.utils import timezone

from annotation.models import (
    Comparison,
    PolicyVersion,
    Response,
    RewardModelVersion,
    RoundStatus,
    TrainingRound,
)
from annotation.services.annotations import annotation_submit
from annotation.services.assignment import task_lease_next
from annotation.services.errors import Conflict
from annotation.services.rounds import (
    new_preferences_since_last_round,
    round_cancel,
    round_launch,
    rounds_reap_stale,
    rounds_schedule,
)
from tests.celery_worker import celery_worker, use_test_broker
from tests.conftest import api_client
from tests.factories import TINY_ROUND as TINY
from tests.factories import ProjectFactory, make_comparisons, member, tiny_loop_project


@pytest.fixture(autouse=True)
def _isolated_broker():
    use_test_broker()


def wait_for(predicate, timeout: float, worker=None, what: str = "condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}\n" + (worker.output() if worker else ""))


def final(round_id: int) -> TrainingRound | None:
    training_round = TrainingRound.objects.get(pk=round_id)
    return training_round if training_round.status in {"succeeded", "failed", "cancelled"} else None


# --- without a worker -----------------------------------------------------------------------------


def test_launch_validates_config_and_allows_one_active_round(project, project_admin):
    client = api_client(project_admin)
    url = f"/api/v1/projects/{project.slug}/rounds/"
    bad = client.post(url, {"kind": "ppo", "config": {"ppo": {"stepz": 3}}}, format="json")
    assert bad.status_code == 400 and bad.json()["field"] == "config" and "stepz" in bad.json()["detail"]
    bad_kind = client.post(url, {"kind": "sft"}, format="json")
    assert bad_kind.status_code == 400 and bad_kind.json()["field"] == "kind"
    first = client.post(url, {"kind": "dpo", "config": {"preset": "smoke"}}, format="json")
    assert first.status_code == 202 and first.json()["status"] == "queued"
    second = client.post(url, {"kind": "ppo"}, format="json")
    assert second.status_code == 409 and second.json()["code"] == "round_active"
    assert TrainingRound.objects.filter(project=project).count() == 1
    detail = client.get(f"/api/v1/rounds/{first.json()['id']}/").json()
    assert {"id", "kind", "status", "stage", "progress", "metrics", "error"} <= set(detail)
    cancelled = client.post(f"/api/v1/rounds/{first.json()['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/rounds/{first.json()['id']}/cancel/")
    assert again.status_code == 409


def test_round_endpoints_by_role(project, project_admin, annotator, outsider):
    training_round = round_launch(project=project, config={"preset": "smoke"})
    for user, expected in ((None, 401), (outsider, 404), (annotator, 403), (project_admin, 200)):
        client = api_client(user)
        assert client.get(f"/api/v1/projects/{project.slug}/rounds/").status_code == expected
        assert client.get(f"/api/v1/rounds/{training_round.pk}/").status_code == expected
    assert api_client(annotator).post(f"/api/v1/rounds/{training_round.pk}/cancel/").status_code == 403
    assert api_client(annotator).post(f"/api/v1/projects/{project.slug}/rounds/", {}).status_code == 403


def test_two_concurrent_launches_one_refused(project):
    round_launch(project=project, config={"preset": "smoke"})
    with pytest.raises(Conflict):
        round_launch(project=project, config={"preset": "smoke"})


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


def test_cancel_running_round_sets_the_flag(project):
    training_round = round_launch(project=project, config={"preset": "smoke"})
    TrainingRound.objects.filter(pk=training_round.pk).update(status=RoundStatus.RUNNING)
    assert round_cancel(training_round=training_round).cancel_requested


# --- with a real worker ---------------------------------------------------------------------------


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
        from annotation.tasks import training_round_run

        training_round_run.delay(round_id)
        done = wait_for(lambda: final(round_id), 300, worker, "the round to finish")
    assert done.status == "succeeded", done.error + worker.output()
    summary = done.metrics["summary"]
    assert len(done.snapshot.sha256) == 64 and summary["train_pairs"] >= 2
    assert RewardModelVersion.objects.filter(project=project).count() == 1
    reward_model = RewardModelVersion.objects.get(project=project)
    assert reward_model.accepted and 0.0 <= reward_model.metrics["eval_accuracy"] <= 1.0
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
        wait_for(
            lambda: TrainingRound.objects.filter(pk=round_id, stage="policy", progress__gt=0.36).exists(),
            180, worker, "the policy stage to make progress",
        )  # fmt: skip
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
        # heartbeat is stale, and nothing is registered twice
        round_id = client.post(
            f"/api/v1/projects/{project.slug}/rounds/", {"config": TINY}, format="json"
        ).json()["id"]
        wait_for(
            lambda: TrainingRound.objects.filter(pk=round_id, stage__in=["reward_model", "policy"]).exists(),
            180, worker, "the round to reach training",
        )  # fmt: skip
        worker.kill_child()
        resumed = wait_for(lambda: final(round_id), 300, worker, "the killed round to finish")
    assert resumed.status in {"succeeded", "failed"}, resumed.error
    assert resumed.status == "succeeded", resumed.error + worker.output()
    assert any("resumed" in event["event"] for event in resumed.metrics.get("events", []))
    assert RewardModelVersion.objects.filter(produced_by_id=round_id).count() == 1
    assert PolicyVersion.objects.filter(produced_by_id=round_id).count() == 1
