"""Helpers shared by the tests (fixtures live in the conftest.py files): API clients, threads released at
once, annotating through the real submit service, and waiting for a round."""

import json
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta

import redis
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from annotation.models import Annotation, Assignment, AssignmentState, Comparison, RoundStatus, TrainingRound
from annotation.queue.submission import annotation_submit
from annotation.rounds.protocol import round_claim, round_finish
from annotation.rounds.services import round_launch
from annotation.rounds.stages import StageContext
from tests.celery_worker import test_broker_url


def api_client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def run_concurrently(work: Callable[..., object], argsets: Sequence[tuple], *, timeout: float = 120) -> list:
    """Runs `work(*args)` for every args in its own thread, all released at the same moment; each thread
    closes its database connection. Returns what the threads raised (assert it is empty)."""
    barrier = threading.Barrier(len(argsets))
    errors: list[BaseException] = []

    def run(args: tuple) -> None:
        try:
            barrier.wait(timeout=timeout)
            work(*args)
        except BaseException as exc:  # surfaced by the caller's assertion
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(args,)) for args in argsets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return errors


def annotate(
    comparison: Comparison,
    user,
    *,
    order: list | None = None,
    strength: str = "",
    all_bad: bool = False,
    ratings: dict | None = None,
    rationale: str = "",
    time_spent_ms: int = 1000,
) -> int:
    """Submit user's judgement. `order` lists display positions best first; a nested list is a tie group,
    e.g. [[0, 1], 2]. Returns the annotation id. The user is first handed this comparison (a live lease,
    as the queue would: a submission needs one), unless they already judged it (a correction)."""
    hold_lease(comparison, user)
    public = [str(item.response.public_id) for item in comparison.items.select_related("response")]
    groups = [[public[p] for p in (g if isinstance(g, list) else [g])] for g in (order or range(len(public)))]
    rated = {public[p]: scores for p, scores in (ratings or {}).items()}
    result = annotation_submit(
        comparison_id=comparison.pk,
        user=user,
        client_token=uuid.uuid4().hex,
        ranking=groups,
        strength=strength,
        all_bad=all_bad,
        ratings=rated,
        rationale=rationale,
        time_spent_ms=time_spent_ms,
    )
    return result.annotation_id


def hold_lease(comparison: Comparison, user, seconds: int = 600) -> None:
    """Gives `user` a live lease on this very comparison (the queue picks its own order; tests often need a
    given one). A user whose judgement is already in (a correction follows) keeps their assignment."""
    if Annotation.objects.filter(comparison=comparison, annotator=user, is_live=True).exists():
        return
    lease = {"state": AssignmentState.LEASED, "leased_until": timezone.now() + timedelta(seconds=seconds)}
    Assignment.objects.update_or_create(
        comparison=comparison,
        annotator=user,
        defaults=lease,
        create_defaults={**lease, "project_id": comparison.project_id},
    )


def wait_for(predicate, timeout: float, worker=None, what: str = "condition"):
    """Polls `predicate` until it returns something truthy (returned), or fails after `timeout` seconds
    with the worker's log."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}\n" + (worker.output() if worker else ""))


def final(round_id: int) -> TrainingRound | None:
    """The round once it has reached a final status, else None."""
    training_round = TrainingRound.objects.get(pk=round_id)
    return training_round if training_round.status in {"succeeded", "failed", "cancelled"} else None


def broker_queue(name: str) -> list[dict]:
    """The messages waiting in a queue of the test broker (oldest last), decoded."""
    return [json.loads(raw) for raw in redis.Redis.from_url(test_broker_url()).lrange(name, 0, -1)]


def stage_context(project, config, progress=None, should_stop=None, kind="ppo") -> StageContext:
    """A launched round of `config`, claimed by this process, and the context its stages run with."""
    training_round = round_launch(project=project, config=config, kind=kind)
    token = round_claim(round_id=training_round.pk)
    return StageContext(
        round_id=training_round.pk,
        runner=token,
        progress=progress or (lambda fraction, metrics: None),
        should_stop=should_stop or (lambda: False),
    )


def finish_round(ctx: StageContext) -> None:
    """Mark the context's round succeeded (so that the project may launch another)."""
    round_finish(round_id=ctx.round_id, runner=ctx.runner, status=RoundStatus.SUCCEEDED)
