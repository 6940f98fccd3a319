"""Submit-and-lease-next as one service: the next task comes back leased in the same commit."""

import uuid

from annotation.models import Assignment, AssignmentState
from annotation.queue.leasing import task_lease_next
from annotation.queue.submission import annotation_submit_and_next
from tests.factories import make_comparisons


def _ranking(task: dict) -> list[list[str]]:
    return [[response["id"]] for response in task["responses"]]


def test_submit_and_next_leases_the_following_task_then_none(project, annotator):
    make_comparisons(project, 2)
    lease = task_lease_next(project=project, user=annotator)
    ids = [str(i) for i in Assignment.objects.get(pk=lease.assignment_id).comparison.items.order_by(
        "position").values_list("response__public_id", flat=True)]  # fmt: skip
    token = uuid.uuid4().hex
    first = annotation_submit_and_next(
        comparison_id=lease.comparison_id, project=project, user=annotator, client_token=token,
        want_next=True, ranking=[[ids[0]], [ids[1]]],
    )  # fmt: skip
    assert first.result.created and first.next_task is not None
    assert first.next_task["id"] != lease.comparison_id
    assert Assignment.objects.get(comparison_id=first.next_task["id"], annotator=annotator).state == (
        AssignmentState.LEASED
    )
    again = annotation_submit_and_next(
        comparison_id=lease.comparison_id, project=project, user=annotator, client_token=token,
        want_next=True, ranking=[[ids[0]], [ids[1]]],
    )  # fmt: skip
    assert not again.result.created and again.result.annotation_id == first.result.annotation_id
    assert again.next_task["id"] == first.next_task["id"]  # the live lease, not a second one
    last = annotation_submit_and_next(
        comparison_id=first.next_task["id"], project=project, user=annotator, client_token=uuid.uuid4().hex,
        want_next=True, ranking=_ranking(first.next_task),
    )  # fmt: skip
    assert last.result.created and last.next_task is None  # nothing left for this annotator


def test_without_next_nothing_is_leased(project, annotator):
    make_comparisons(project, 2)
    lease = task_lease_next(project=project, user=annotator)
    task_ids = [str(i) for i in Assignment.objects.get(pk=lease.assignment_id).comparison.items.order_by(
        "position").values_list("response__public_id", flat=True)]  # fmt: skip
    outcome = annotation_submit_and_next(
        comparison_id=lease.comparison_id, project=project, user=annotator, client_token=uuid.uuid4().hex,
        want_next=False, ranking=[[task_ids[0]], [task_ids[1]]],
    )  # fmt: skip
    assert outcome.result.created and outcome.next_task is None
    assert Assignment.objects.filter(annotator=annotator, state=AssignmentState.LEASED).count() == 0
