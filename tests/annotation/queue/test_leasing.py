"""Leasing: the hot path under concurrency, overlap, expiry, heartbeat and skip."""

import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.errors import Conflict, NotFound
from annotation.models import Annotation, Assignment, AssignmentState, Comparison, ComparisonStatus, Role
from annotation.queue.leasing import leases_expire, task_heartbeat, task_lease_next, task_skip
from annotation.queue.submission import annotation_submit
from tests.factories import ProjectFactory, make_comparisons, member
from tests.helpers import api_client, run_concurrently


def pairwise_ranking(comparison_id: int) -> list[list[str]]:
    ids = (
        Comparison.objects.get(pk=comparison_id)
        .items.order_by("position")
        .values_list("response__public_id", flat=True)
    )
    return [[str(i)] for i in ids]


def submit(comparison_id: int, user, token: str | None = None):
    return annotation_submit(
        comparison_id=comparison_id,
        user=user,
        client_token=token or uuid.uuid4().hex,
        ranking=pairwise_ranking(comparison_id),
        strength="clear",
    )


def test_same_lease_returned_until_submitted(project, annotator):
    make_comparisons(project, 3)
    first = task_lease_next(project=project, user=annotator)
    again = task_lease_next(project=project, user=annotator)
    assert first == again
    submit(first.comparison_id, annotator)
    second = task_lease_next(project=project, user=annotator)
    assert second.comparison_id != first.comparison_id


def test_overlap_honoured_and_user_never_gets_a_task_twice(db):
    project = ProjectFactory(overlap=2)
    comparisons = make_comparisons(project, 2)
    users = [member(project) for _ in range(3)]
    done: Counter[int] = Counter()
    for user in users:
        while (lease := task_lease_next(project=project, user=user)) is not None:
            submit(lease.comparison_id, user)
            done[lease.comparison_id] += 1
    assert done == {c.pk: 2 for c in comparisons}
    assert set(Comparison.objects.values_list("status", flat=True)) == {ComparisonStatus.COMPLETE}
    assert task_lease_next(project=project, user=users[2]) is None


def test_expired_lease_frees_the_slot(project):
    make_comparisons(project, 1)
    alice, bob = member(project), member(project)
    lease = task_lease_next(project=project, user=alice)
    assert task_lease_next(project=project, user=bob) is None  # overlap 1, held by alice
    Assignment.objects.filter(pk=lease.assignment_id).update(
        leased_until=timezone.now() - timedelta(seconds=1)
    )
    bob_lease = task_lease_next(project=project, user=bob)
    assert bob_lease.comparison_id == lease.comparison_id
    # alice's lease is gone and bob holds the slot: her late submission is refused with 409
    with pytest.raises(Conflict) as excinfo:
        submit(lease.comparison_id, alice)
    assert excinfo.value.status == 409
    with pytest.raises(Conflict, match="went to someone else"):
        task_heartbeat(comparison_id=lease.comparison_id, user=alice)
    assert leases_expire() == 1
    assert Assignment.objects.get(pk=lease.assignment_id).state == AssignmentState.EXPIRED


def test_late_submission_accepted_while_room_remains(project, annotator):
    make_comparisons(project, 1)
    lease = task_lease_next(project=project, user=annotator)
    Assignment.objects.filter(pk=lease.assignment_id).update(
        leased_until=timezone.now() - timedelta(seconds=1)
    )
    result = submit(lease.comparison_id, annotator)
    assert result.created
    assert Comparison.objects.get(pk=lease.comparison_id).annotations_received == 1


def test_heartbeat_extends_and_skip_never_returns(project, annotator):
    make_comparisons(project, 2)
    lease = task_lease_next(project=project, user=annotator)
    Assignment.objects.filter(pk=lease.assignment_id).update(
        leased_until=timezone.now() + timedelta(seconds=5)
    )
    renewed = task_heartbeat(comparison_id=lease.comparison_id, user=annotator)
    assert renewed.leased_until > timezone.now() + timedelta(seconds=project.lease_seconds - 5)
    task_skip(comparison_id=lease.comparison_id, user=annotator, reason="not my language")
    other = task_lease_next(project=project, user=annotator)
    assert other.comparison_id != lease.comparison_id
    task_skip(comparison_id=other.comparison_id, user=annotator)
    assert task_lease_next(project=project, user=annotator) is None
    with pytest.raises(NotFound):
        task_skip(comparison_id=lease.comparison_id, user=member(project))


def test_idempotent_submission_and_correction(project, annotator):
    make_comparisons(project, 1)
    lease = task_lease_next(project=project, user=annotator)
    first = submit(lease.comparison_id, annotator, token="t1")
    retry = submit(lease.comparison_id, annotator, token="t1")
    assert retry.annotation_id == first.annotation_id and not retry.created
    correction = annotation_submit(
        comparison_id=lease.comparison_id,
        user=annotator,
        client_token="t2",
        ranking=[[rid for group in pairwise_ranking(lease.comparison_id) for rid in group]],
    )
    assert correction.created
    comparison = Comparison.objects.get(pk=lease.comparison_id)
    assert comparison.annotations_received == 1  # a correction is not a second vote
    old, new = Annotation.objects.order_by("id")
    assert (old.is_live, new.is_live, new.supersedes_id) == (False, True, old.pk)


def test_gold_items_are_mixed_in_and_shown_to_everyone(db):
    project = ProjectFactory(gold_rate=1.0)
    gold = make_comparisons(project, 1)[0]
    Comparison.objects.filter(pk=gold.pk).update(is_gold=True)
    make_comparisons(project, 1)
    for user in (member(project), member(project)):
        lease = task_lease_next(project=project, user=user)
        assert lease.comparison_id == gold.pk
        submit(lease.comparison_id, user)
    assert Comparison.objects.get(pk=gold.pk).annotations_received == 2


def _annotate_until_empty(project, user, leases):
    while (lease := task_lease_next(project=project, user=user)) is not None:
        leases.append((user.pk, lease.comparison_id))
        token = uuid.uuid4().hex
        first = submit(lease.comparison_id, user, token)
        retry = submit(lease.comparison_id, user, token)  # a retried request must not count twice
        assert (first.created, retry.created, retry.annotation_id) == (True, False, first.annotation_id)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("overlap", [1, 3])
def test_concurrent_annotators_never_collide(overlap):
    project = ProjectFactory(overlap=overlap)
    comparisons = make_comparisons(project, 40)
    users = [member(project, Role.ANNOTATOR) for _ in range(10)]
    leases: list[tuple[int, int]] = []
    assert run_concurrently(_annotate_until_empty, [(project, user, leases) for user in users]) == []
    per_comparison = Counter(cid for _, cid in leases)
    assert per_comparison == {c.pk: overlap for c in comparisons}  # overlap exact, every comparison served
    assert len(set(leases)) == len(leases)  # no user leased the same comparison twice
    received = Counter(Annotation.objects.filter(project=project).values_list("comparison_id", flat=True))
    assert received == per_comparison  # nothing lost, nothing doubled
    assert all(
        c.annotations_received == overlap and c.status == "complete"
        for c in Comparison.objects.filter(project=project)
    )


@pytest.mark.django_db(transaction=True)
def test_one_user_asking_twice_at_once_gets_one_lease():
    project = ProjectFactory(overlap=1)
    make_comparisons(project, 10)
    user = member(project, Role.ANNOTATOR)
    got: list[int] = []
    errors = run_concurrently(
        lambda: got.append(task_lease_next(project=project, user=user).comparison_id), [()] * 6
    )
    assert errors == []
    assert len(got) == 6 and len(set(got)) == 1  # every tab sees the same task
    assert Assignment.objects.filter(annotator=user, state=AssignmentState.LEASED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_submit_and_next_through_the_api_under_concurrency():
    """The page's path: submit with ?next=1 (submission and next lease in one transaction), 8 annotators,
    overlap 2: every comparison served exactly twice, nobody told "nothing left" while work remained."""
    project = ProjectFactory(overlap=2)
    comparisons = make_comparisons(project, 30)
    users = [member(project, Role.ANNOTATOR) for _ in range(8)]
    served: list[tuple[int, int]] = []

    def work(user):
        client = api_client(user)
        response = client.post(f"/api/v1/projects/{project.slug}/tasks/next/")
        task = response.json() if response.status_code == 200 else None
        while task is not None:
            served.append((user.pk, task["id"]))
            body = {
                "ranking": [[r["id"]] for r in task["responses"]],
                "strength": "slight",
                "client_token": uuid.uuid4().hex,
            }
            response = client.post(f"/api/v1/tasks/{task['id']}/annotations/?next=1", body, format="json")
            assert response.status_code == 201, response.content
            task = response.json()["next"]

    assert run_concurrently(work, [(user,) for user in users]) == []
    assert Counter(cid for _, cid in served) == {c.pk: 2 for c in comparisons}
    assert len(set(served)) == len(served)
    assert Annotation.objects.filter(project=project).count() == 60


def test_the_newest_rounds_comparisons_are_served_first(project, annotator):
    """A round's new comparisons (its policy against the previous one) jump the queue of imported ones, the
    newest round's first: judging them is what the next round needs."""
    from annotation.models import TrainingRound

    imported = make_comparisons(project, 2)
    first_round, second_round = (
        TrainingRound.objects.create(project=project, status="succeeded") for _ in range(2)
    )
    older = make_comparisons(project, 1)[0]
    newer = make_comparisons(project, 1)[0]
    Comparison.objects.filter(pk=older.pk).update(round=first_round)
    Comparison.objects.filter(pk=newer.pk).update(round=second_round)
    served = []
    while (lease := task_lease_next(project=project, user=annotator)) is not None:
        served.append(lease.comparison_id)
        submit(lease.comparison_id, annotator)
    assert served == [newer.pk, older.pk, imported[0].pk, imported[1].pk]
