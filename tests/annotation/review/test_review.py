"""The review queue: reasons, reviewer leases, verdicts (immutable, the latest decides) and what they do to
the consensus, exports and stats."""

import json
import uuid

import pytest
from django.utils import timezone

from annotation.data.exports import preference_export
from annotation.data.gold import gold_mark
from annotation.data.stats import project_stats
from annotation.models import Assignment, AssignmentState, Comparison, ReviewFlag, Role
from annotation.review.queue import review_queue
from tests.factories import ProjectFactory, make_comparisons, member
from tests.helpers import annotate, api_client, run_concurrently


def _public(comparison):
    return [
        str(i.response.public_id) for i in comparison.items.order_by("position").select_related("response")
    ]


def _split_project(project, n=3):
    """n comparisons with two annotators who disagree (agreement 0.5)."""
    project.overlap = 2
    project.save()
    comparisons = make_comparisons(project, n)
    a, b = member(project, Role.ANNOTATOR), member(project, Role.ANNOTATOR)
    for comparison in comparisons:
        annotate(comparison, a, order=[0, 1], rationale="A is more complete.")
        annotate(comparison, b, order=[1, 0], rationale="B is shorter.")
    return comparisons, a, b


def _next(user, project):
    return api_client(user).post(f"/api/v1/projects/{project.slug}/review/next/")


def _review(user, comparison, **body):
    body.setdefault("client_token", uuid.uuid4().hex)
    return api_client(user).post(f"/api/v1/comparisons/{comparison.pk}/review/", body, format="json")


def _trl(project):
    return [
        json.loads(line)
        for chunk in preference_export(project=project, fmt="trl").ndjson()
        for line in chunk.splitlines()
    ]


def test_disagreement_puts_a_comparison_in_the_queue_with_every_annotation(project):
    comparisons, a, b = _split_project(project, 1)
    reviewer = member(project, Role.REVIEWER)
    response = _next(reviewer, project)
    assert response.status_code == 200
    body = response.json()
    assert body["reasons"] == ["disagreement"] and body["comparison"]["id"] == comparisons[0].pk
    assert [x["rationale"] for x in body["annotations"]] == ["A is more complete.", "B is shorter."]
    assert all(x["annotator"].startswith("ann_") for x in body["annotations"])
    assert a.username not in response.content.decode() and b.username not in response.content.decode()
    assert body["annotations"][0]["ranking"] == [[p] for p in _public(comparisons[0])]


def test_agreeing_comparisons_stay_out_and_the_threshold_is_the_projects(project):
    project.review_agreement_below = 0.4
    _split_project(project, 2)
    assert review_queue(project=project) == {}
    project.review_agreement_below = 0.6
    project.save()
    assert len(review_queue(project=project)) == 2


def test_gold_failed_and_skipped_broken_and_flags_are_reasons(project):
    gold, broken, flagged = make_comparisons(project, 3)
    order = list(gold.items.order_by("position").values_list("response_id", flat=True))
    gold_mark(comparison=gold, ranking=[[order[0]], [order[1]]], explanation="")
    annotator = member(project, Role.ANNOTATOR)
    annotate(gold, annotator, order=[1, 0])
    Assignment.objects.create(
        comparison=broken,
        annotator=annotator,
        project=project,
        state=AssignmentState.SKIPPED,
        leased_until=timezone.now(),
        skip_reason="Broken: the response is cut off",
    )
    ReviewFlag.objects.create(comparison=flagged, project=project, reason="rm_disagrees", detail={"p": 0.97})
    assert review_queue(project=project) == {
        gold.pk: ["gold_failed"],
        broken.pk: ["skipped_broken"],
        flagged.pk: ["rm_disagrees"],
    }


def test_roles_annotators_cannot_review_and_reviewers_get_204_when_done(project):
    comparisons, a, _ = _split_project(project, 1)
    assert _next(a, project).status_code == 403
    assert _review(a, comparisons[0], verdict="accept").status_code == 403
    reviewer = member(project, Role.REVIEWER)
    outsider = member(ProjectFactory(), Role.ADMIN)
    assert _next(outsider, project).status_code == 404
    assert _review(outsider, comparisons[0], verdict="accept").status_code == 404
    assert _review(reviewer, comparisons[0], verdict="accept").status_code == 201
    assert _next(reviewer, project).status_code == 204


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_never_hold_the_same_comparison():
    project = ProjectFactory()
    _split_project(project, 2)
    reviewers = [member(project, Role.REVIEWER) for _ in range(3)]
    got: dict[int, int | None] = {}

    def take(user):
        response = _next(user, project)
        got[user.pk] = response.json()["comparison"]["id"] if response.status_code == 200 else None

    assert run_concurrently(take, [(r,) for r in reviewers]) == []
    held = [cid for cid in got.values() if cid is not None]
    assert sorted(held) == sorted(set(held)) and len(held) == 2 and list(got.values()).count(None) == 1
    holder = next(r for r in reviewers if got[r.pk] is not None)
    assert _next(holder, project).json()["comparison"]["id"] == got[holder.pk]  # the same one back
    idle = next(r for r in reviewers if got[r.pk] is None)
    blocked = _review(idle, Comparison.objects.get(pk=got[holder.pk]), verdict="accept")
    assert blocked.status_code == 409 and blocked.json()["code"] == "review_leased"
    assert _review(holder, Comparison.objects.get(pk=got[holder.pk]), verdict="accept").status_code == 201
    assert _next(idle, project).status_code == 204  # the other one is still held


def test_override_is_the_exported_consensus_with_adjudicated(project):
    (comparison,), _, _ = _split_project(project, 1)
    reviewer = member(project, Role.REVIEWER)
    assert _trl(project) == []  # 1:1, no pair
    public = _public(comparison)
    missing = _review(reviewer, comparison, verdict="override")
    assert missing.status_code == 400 and missing.json()["field"] == "ranking"
    partial = _review(reviewer, comparison, verdict="override", ranking=[[public[1]]])
    assert partial.status_code == 400 and partial.json()["field"] == "ranking"
    unknown = _review(reviewer, comparison, verdict="override", ranking=[[public[1]], [public[0]]], why="x")
    assert unknown.status_code == 400
    bad_verdict = _review(reviewer, comparison, verdict="maybe")
    assert bad_verdict.status_code == 400 and bad_verdict.json()["field"] == "verdict"
    ok = _review(
        reviewer, comparison, verdict="override", ranking=[[public[1]], [public[0]]], comment="B is right"
    )
    assert ok.status_code == 201
    (row,) = _trl(project)
    texts = {i.response.public_id.hex: i.response.text for i in comparison.items.select_related("response")}
    assert row["chosen"][0]["content"] == texts[uuid.UUID(public[1]).hex] and row["adjudicated"] is True
    assert row["agreement"] == 0.5  # still says how many annotators agreed with the final verdict


def test_reviews_are_kept_and_the_latest_decides(project):
    (comparison,), _, _ = _split_project(project, 1)
    reviewer, admin = member(project, Role.REVIEWER), member(project, Role.ADMIN)
    public = _public(comparison)
    token = uuid.uuid4().hex
    first = _review(
        reviewer, comparison, verdict="override", ranking=[[public[1]], [public[0]]], client_token=token
    )
    same = _review(reviewer, comparison, verdict="accept", client_token=token)
    assert (first.status_code, same.status_code) == (201, 200) and first.json() == same.json()
    assert _review(admin, comparison, verdict="reject_all", comment="prompt is broken").status_code == 201
    assert _trl(project) == []
    assert comparison.reviews.count() == 2
    raw = list(preference_export(project=project, fmt="raw"))
    assert [row["excluded"] for row in raw] == ["rejected", "rejected"]
    assert (
        _review(admin, comparison, verdict="override", ranking=[[public[0]], [public[1]]]).status_code == 201
    )
    assert _trl(project)[0]["adjudicated"] is True


def test_rejecting_single_annotations_takes_them_out_of_consensus_and_stats(project):
    (comparison,), _, _ = _split_project(project, 1)
    reviewer = member(project, Role.REVIEWER)
    ids = list(comparison.annotations.order_by("id").values_list("id", flat=True))
    wrong = _review(reviewer, comparison, verdict="accept", rejected_annotations=[ids[1] + 999])
    assert wrong.status_code == 400 and wrong.json()["field"] == "rejected_annotations"
    assert comparison.reviews.count() == 0  # nothing half-written
    assert (
        _review(
            reviewer, comparison, verdict="accept", rejected_annotations=[ids[1]], comment="B misread"
        ).status_code
        == 201
    )
    (row,) = _trl(project)
    assert row["n_annotations"] == 1 and row["agreement"] == 1.0 and row["adjudicated"] is False
    stats = project_stats(project=project, now=timezone.now())
    assert stats["agreement"]["comparisons"] == 0  # one counted annotation left: no agreement unit
    assert sorted(row["annotations"] for row in stats["annotators"]) == [1]  # b's rejected one is gone
    assert review_queue(project=project) == {}  # reviewed since its last annotation
