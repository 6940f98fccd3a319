"""Training rounds: launching, the schedule, and whole rounds through a real Celery worker process with tiny
models (real Redis, real Postgres, real torch)."""

import json
import threading
import time
import uuid

import pytest
import redis
from django.core.management import call_command
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
    round_claim,
    round_finish,
    round_launch,
    rounds_reap_stale,
    rounds_schedule,
)
from annotation.training_runs import runner, stages
from tests.celery_worker import celery_worker, use_test_broker
from tests.celery_worker import test_broker_url as broker_url
from tests.conftest import api_client, run_concurrently
from tests.factories import TINY_ROUND as TINY
from tests.factories import (
    ProjectFactory,
    loop_project_with_distinct_prompts,
    make_comparisons,
    member,
    tiny_loop_project,
)


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


def _gpu_queue() -> list[dict]:
    return [json.loads(raw) for raw in redis.Redis.from_url(broker_url()).lrange("gpu", 0, -1)]


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


def test_heartbeat_survives_a_database_error(monkeypatch):
    calls = []

    def flaky(*, round_id, runner):
        calls.append(round_id)
        if len(calls) == 1:
            from django.db import OperationalError

            raise OperationalError("server closed the connection unexpectedly")
        return True

    monkeypatch.setattr(runner, "round_heartbeat", flaky)
    heartbeat = runner._Heartbeat(1, "token", interval=0.01)
    heartbeat.start()
    wait_for(lambda: len(calls) >= 3, 5, what="heartbeats after the error")
    assert heartbeat.is_alive() and heartbeat.cancel_requested
    heartbeat.stopped.set()
    heartbeat.join(timeout=5)
    assert not heartbeat.is_alive()


def test_generate_responses_task_does_not_generate_twice_for_one_message(project, monkeypatch):
    from annotation.tasks import training_generate_responses
    from annotation.training_runs import generation

    calls = []
    monkeypatch.setattr(
        generation, "project_generate_responses", lambda **kwargs: calls.append(kwargs) or ["c1", "c2"]
    )
    task_id = uuid.uuid4().hex
    assert training_generate_responses.apply(args=(project.pk,), task_id=task_id).get() == 2
    assert training_generate_responses.apply(args=(project.pk,), task_id=task_id).get() == 2  # redelivery
    assert len(calls) == 1
    assert training_generate_responses.apply(args=(project.pk,), task_id=uuid.uuid4().hex).get() == 2
    assert len(calls) == 2  # another message is new work


# --- acceptance rules, at the service level with the training library's calls replaced ------------


def _stage_context(project, config, progress=None, should_stop=None) -> stages.StageContext:
    training_round = round_launch(project=project, config=config)
    token = round_claim(round_id=training_round.pk)
    return stages.StageContext(
        round_id=training_round.pk,
        runner=token,
        progress=progress or (lambda fraction, metrics: None),
        should_stop=should_stop or (lambda: False),
    )


def _fake_reward_training(monkeypatch, new_accuracy: float, previous_accuracy: float) -> dict:
    import training.reward

    seen: dict = {"previous_evaluated": 0}

    def train_reward_model(config, train_rows, eval_rows, output, **kwargs):
        seen.update(train=train_rows, eval=eval_rows, init=kwargs.get("init"))
        return {"eval_accuracy": new_accuracy, "train_loss": 0.3}

    def pairwise_accuracy(path, rows, **kwargs):
        seen["previous_evaluated"] += 1
        return {"accuracy": previous_accuracy}

    monkeypatch.setattr(training.reward, "train_reward_model", train_reward_model)
    monkeypatch.setattr(training.reward, "pairwise_accuracy", pairwise_accuracy)
    return seen


def _finish_round(ctx) -> None:
    round_finish(round_id=ctx.round_id, runner=ctx.runner, status=RoundStatus.SUCCEEDED)


@pytest.mark.parametrize(
    ("new", "accepted"), [(0.6, False), (0.8, True), (0.9, True)], ids=["worse", "equal", "better"]
)
def test_reward_model_is_accepted_only_if_not_worse_on_held_out_pairs(
    db, settings, tmp_path, monkeypatch, new, accepted
):
    settings.PREFER_DATA_DIR = tmp_path
    project, _, _ = loop_project_with_distinct_prompts()
    previous = RewardModelVersion.objects.create(
        project=project, version=1, base_model="tiny-reward-model", artifact_path="/rm/v1", accepted=True
    )
    seen = _fake_reward_training(monkeypatch, new_accuracy=new, previous_accuracy=0.8)
    ctx = _stage_context(project, {**TINY, "eval_fraction": 0.5, "require_improvement": True})
    stages.stage_snapshot(ctx)
    stages.stage_reward_model(ctx)
    assert seen["eval"] and not {json.dumps(r, sort_keys=True) for r in seen["eval"]} & {
        json.dumps(r, sort_keys=True) for r in seen["train"]
    }  # a real held-out share
    assert seen["init"] == "/rm/v1" and seen["previous_evaluated"] == 1
    summary = TrainingRound.objects.get(pk=ctx.round_id).metrics["summary"]
    reward_model = RewardModelVersion.objects.get(project=project, version=2)
    assert reward_model.accepted is accepted and summary["rm_accepted"] is accepted
    assert summary["rm_eval_is_train"] is False and reward_model.metrics["eval_is_train"] is False
    assert summary["rm_previous_eval_accuracy"] == 0.8
    assert stages._accepted_reward_model(project) == (reward_model if accepted else previous)
    if not accepted:
        assert summary["rm_rejected_because"] == "held-out accuracy 0.600 below RM v1's 0.800"
        assert reward_model.metrics["rejected_because"] == summary["rm_rejected_because"]
    else:
        assert "rm_rejected_because" not in summary


def test_reward_model_judged_on_its_own_train_pairs_does_not_replace_an_accepted_one(
    db, settings, tmp_path, monkeypatch
):
    settings.PREFER_DATA_DIR = tmp_path
    project, _, _ = tiny_loop_project()  # every prompt is the same text: nothing can be held out
    seen = _fake_reward_training(monkeypatch, new_accuracy=0.99, previous_accuracy=0.5)
    first = _stage_context(project, TINY)
    stages.stage_snapshot(first)
    stages.stage_reward_model(first)
    _finish_round(first)
    assert seen["eval"] == seen["train"]
    rm1 = RewardModelVersion.objects.get(project=project, version=1)
    assert rm1.accepted and rm1.metrics["eval_is_train"] is True  # the first one is all there is

    second = _stage_context(project, TINY)
    stages.stage_snapshot(second)
    stages.stage_reward_model(second)
    rm2 = RewardModelVersion.objects.get(project=project, version=2)
    summary = TrainingRound.objects.get(pk=second.round_id).metrics["summary"]
    assert not rm2.accepted and summary["rm_accepted"] is False and summary["rm_eval_is_train"] is True
    assert "no held-out pairs" in summary["rm_rejected_because"] and "RM v1" in summary["rm_rejected_because"]
    assert seen["previous_evaluated"] == 0 and summary["rm_previous_eval_accuracy"] is None
    assert stages._accepted_reward_model(project) == rm1


def _fake_policy_training(monkeypatch, kl: float, win: float, after_kl=None) -> None:
    import training.evaluation
    import training.ppo

    def train_ppo(config, policy, reward, prompts, output, **kwargs):
        kwargs["progress"](1.0, {"reward_raw": 0.1, "value_loss": 0.5})
        return {"steps": 1, "reward_mean_final": 0.1}

    def kl_to_reference(policy, reference, prompts, **kwargs):
        if after_kl:
            after_kl()
        return {"kl": kl, "kl_per_token": kl / 10, "responses": len(prompts)}

    def win_rate(reward, a, b, prompts, *, progress=None, should_stop=None, **kwargs):
        progress(0.5, {"stage": "generated_a"})
        if should_stop():
            from training import TrainingCancelled

            raise TrainingCancelled("during win-rate evaluation")
        return {"win_rate": win, "mean_reward_a": 1.0, "mean_reward_b": 0.5}

    monkeypatch.setattr(training.ppo, "train_ppo", train_ppo)
    monkeypatch.setattr(training.evaluation, "kl_to_reference", kl_to_reference)
    monkeypatch.setattr(training.evaluation, "win_rate", win_rate)


@pytest.mark.parametrize(
    ("kl", "win", "reason"),
    [
        (9.0, 0.9, "KL 9.000 over the budget 8.0"),
        (1.0, 0.5, "win rate 0.50 not above 0.5"),
        (9.0, 0.4, "KL 9.000 over the budget 8.0; win rate 0.40 not above 0.5"),
        (1.0, 0.75, None),
    ],
    ids=["over-kl", "no-win", "both", "accepted"],
)
def test_policy_acceptance_needs_kl_within_budget_and_a_win_rate_above_half(db, monkeypatch, kl, win, reason):
    project, _, _ = tiny_loop_project()
    RewardModelVersion.objects.create(
        project=project, version=1, base_model="tiny-reward-model", artifact_path="/rm/v1", accepted=True
    )
    base = project.current_policy
    _fake_policy_training(monkeypatch, kl=kl, win=win)
    fractions = []
    ctx = _stage_context(
        project,
        {"preset": "smoke", "kl_budget": 8.0, "require_improvement": True},
        progress=lambda fraction, metrics: fractions.append(fraction),
    )
    stages.stage_policy(ctx)
    summary = TrainingRound.objects.get(pk=ctx.round_id).metrics["summary"]
    project.refresh_from_db()
    assert summary["policy_kl_to_previous"] == kl and summary["policy_win_rate"] == win
    assert 0.85 + 0.15 * 0.5 in fractions  # the win-rate check reports progress inside the stage's range
    if reason:
        assert summary["policy_accepted"] is False and summary["policy_rejected_because"] == reason
        assert project.current_policy_id == base.pk
        assert list(PolicyVersion.objects.filter(project=project)) == [base]
    else:
        assert summary["policy_accepted"] is True and "policy_rejected_because" not in summary
        assert project.current_policy.version == 2 and project.current_policy.parent_id == base.pk


def test_cancel_during_the_acceptance_checks_registers_nothing(db, monkeypatch):
    from training import TrainingCancelled

    project, _, _ = tiny_loop_project()
    RewardModelVersion.objects.create(
        project=project, version=1, base_model="tiny-reward-model", artifact_path="/rm/v1", accepted=True
    )
    cancelled = threading.Event()
    _fake_policy_training(monkeypatch, kl=1.0, win=0.9, after_kl=cancelled.set)
    ctx = _stage_context(project, {"preset": "smoke", "kl_budget": 8.0}, should_stop=cancelled.is_set)
    with pytest.raises(TrainingCancelled, match="acceptance checks"):
        stages.stage_policy(ctx)
    assert PolicyVersion.objects.filter(project=project).count() == 1
    assert "policy_accepted" not in TrainingRound.objects.get(pk=ctx.round_id).metrics.get("summary", {})


def test_per_round_charts_include_reward_and_value_loss(project):
    from annotation.selectors.rounds import rounds_dashboard

    for index, (reward, losses) in enumerate([(0.2, [4.0, 3.0, 2.0, 1.0]), (0.7, [0.8, 0.6, 0.5, 0.25])]):
        TrainingRound.objects.create(
            project=project,
            status=RoundStatus.SUCCEEDED,
            metrics={
                "summary": {"rm_eval_accuracy": 0.6 + index / 10, "policy_reward_new": reward},
                "series": {"policy": [{"step": i, "value_loss": v} for i, v in enumerate(losses)]},
            },
        )
    charts = {str(chart).split("<title>")[1].split("</title>")[0]: str(chart) for chart in
              rounds_dashboard(project=project)["round_charts"]}  # fmt: skip
    assert "RM reward of the new policy (eval)" in charts and "value loss (end of PPO)" in charts
    # the last point's tooltip: the reward of the latest round, the mean of the last quarter of its losses
    assert "<title>0.7</title></circle>" in charts["RM reward of the new policy (eval)"]
    assert "<title>0.25</title></circle>" in charts["value loss (end of PPO)"]


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
        # heartbeat is stale, and nothing is registered twice. (Enough PPO steps that the kill lands inside
        # the stage: a smoke round of tiny models is over in half a second.)
        round_id = client.post(
            f"/api/v1/projects/{project.slug}/rounds/",
            {"config": {**TINY, "ppo": {"preset": "smoke", "steps": 60}}},
            format="json",
        ).json()["id"]
        wait_for(
            lambda: TrainingRound.objects.filter(pk=round_id, stage="policy", progress__gt=0.36).exists(),
            180, worker, "the round to reach training",
        )  # fmt: skip
        worker.kill_child()
        resumed = wait_for(lambda: final(round_id), 300, worker, "the killed round to finish")
    assert resumed.status in {"succeeded", "failed"}, resumed.error
    assert resumed.status == "succeeded", resumed.error + worker.output()
    assert any("resumed" in event["event"] for event in resumed.metrics.get("events", []))
    assert RewardModelVersion.objects.filter(produced_by_id=round_id).count() == 1
    assert PolicyVersion.objects.filter(produced_by_id=round_id).count() == 1


def test_round_ppo_defaults_to_the_cpu_lora_recipe_unless_told_otherwise():
    from annotation.training_runs.config import RoundConfig

    default = RoundConfig.from_dict({}).ppo_config()
    assert (default.lora, default.learning_rate, default.steps) == (True, 1e-4, 2)  # 64 prompts, 32 a step
    full = RoundConfig.from_dict({"ppo": {"lora": False, "learning_rate": 1e-5}}).ppo_config()
    assert (full.lora, full.learning_rate) == (False, 1e-5)
    smoke = RoundConfig.from_dict({"preset": "smoke"})
    assert smoke.ppo_config().lora is False  # presets stand as written
    assert smoke.require_improvement is False  # a pipeline check reaches the generate stage
