"""The review queue: which comparisons need a second look, and the reviewer's lease on one of them.

A comparison is in the queue while it has a reason and no review newer than its newest live annotation:
- `disagreement`: at least 2 counted annotations and an agreement under the project's
  review_agreement_below (agreement = the share of votes that match the pair's plurality, the lowest over
  the comparison's pairs; a pair without a unique plurality agrees at its largest share);
- `gold_failed`: an annotator's first answer to a gold item did not match the gold answer;
- `skipped_broken`: an annotator skipped it with a reason that says it is broken;
- `flagged`: a live annotation marks one of its responses unsafe (a harm flag);
- `rm_disagrees`: raised from outside the annotations (review/flags.py: the reward model of a round
  contradicting a unanimous verdict).
The queue is computed per request from the consensus scan (reviews are rare next to annotations). Lease
decisions are serialised per project with an advisory lock, so two reviewers never hold the same comparison;
a reviewer asking again while holding a live lease gets the same comparison back.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from annotation.data.consensus import PreferenceFilters, comparison_records
from annotation.models import Annotation, Project, Review, ReviewFlag, ReviewLease, ReviewReason

REVIEW_LEASE_SECONDS = 900
BROKEN_WORDS = ("broken", "坏")  # the annotate page's skip reason, and what people type

_SERIALISE_SQL = "SELECT pg_advisory_xact_lock(hashtextextended('prefer-review:' || %(project)s, 0))"


@dataclass(frozen=True)
class ReviewLeaseInfo:
    comparison_id: int
    leased_until: datetime
    reasons: list[str]


def comparison_agreement(votes: Sequence[str]) -> float:
    """The share of votes that match their most common value (1.0 for no votes)."""
    if not votes:
        return 1.0
    return max(votes.count(value) for value in set(votes)) / len(votes)


def review_reasons(*, project: Project) -> dict[int, list[str]]:
    """comparison id -> its reasons for review (ordered as ReviewReason), for every comparison that has any,
    whether or not it was reviewed since."""
    found: dict[int, set[str]] = defaultdict(set)
    for record in comparison_records(project=project, filters=PreferenceFilters(min_annotations=2)):
        counted = [a for a in record.annotations if not a.excluded]
        ranks = [{rid: i for i, group in enumerate(a.ranking) for rid in group} for a in counted]
        ids = [response.id for response in record.responses]
        lowest = 1.0
        for i, first in enumerate(ids):
            for second in ids[i + 1 :]:
                votes = [
                    "tie"
                    if a.all_bad or r[first] == r[second]
                    else "first"
                    if r[first] < r[second]
                    else "second"
                    for a, r in zip(counted, ranks, strict=True)
                ]
                lowest = min(lowest, comparison_agreement(votes))
        if len(counted) >= 2 and lowest < project.review_agreement_below:
            found[record.id].add(ReviewReason.DISAGREEMENT)
    gold_failed = Annotation.objects.filter(
        project=project, is_live=True, supersedes__isnull=True, gold_correct=False
    ).values_list("comparison_id", flat=True)
    for comparison_id in gold_failed:
        found[comparison_id].add(ReviewReason.GOLD_FAILED)
    broken = " OR ".join("a.skip_reason ILIKE %s" for _ in BROKEN_WORDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT a.comparison_id FROM annotation_assignment a "
            f"WHERE a.project_id = %s AND a.state = 'skipped' AND ({broken})",
            [project.pk, *(f"%{word}%" for word in BROKEN_WORDS)],
        )
        for (comparison_id,) in cursor.fetchall():
            found[comparison_id].add(ReviewReason.SKIPPED_BROKEN)
        cursor.execute(
            "SELECT DISTINCT a.comparison_id FROM annotation_annotation a "
            "WHERE a.project_id = %s AND a.is_live "
            "AND EXISTS (SELECT 1 FROM jsonb_each(a.safety) flag WHERE flag.value->>'safe' = 'false')",
            [project.pk],
        )
        for (comparison_id,) in cursor.fetchall():
            found[comparison_id].add(ReviewReason.FLAGGED)
    for comparison_id, reason in ReviewFlag.objects.filter(project=project).values_list(
        "comparison_id", "reason"
    ):
        found[comparison_id].add(reason)
    order = list(ReviewReason.values)
    return {cid: sorted(reasons, key=order.index) for cid, reasons in sorted(found.items())}


def review_queue(*, project: Project, reviewer_id: int | None = None) -> dict[int, list[str]]:
    """The comparisons that need review now (their reasons), oldest first: a reason, and no review since
    their newest live annotation or flag. With reviewer_id, not those the reviewer annotated themselves."""
    reasons = review_reasons(project=project)
    if not reasons:
        return {}
    ids = list(reasons)
    reviewed = dict(
        Review.objects.filter(comparison_id__in=ids)
        .values_list("comparison_id")
        .annotate(at=Max("created_at"))
    )
    newest = dict(
        Annotation.objects.filter(comparison_id__in=ids, is_live=True)
        .values_list("comparison_id")
        .annotate(at=Max("created_at"))
    )
    flagged = dict(
        ReviewFlag.objects.filter(comparison_id__in=ids)
        .values_list("comparison_id")
        .annotate(at=Max("created_at"))
    )
    own: set[int] = set()
    if reviewer_id is not None:
        own = set(
            Annotation.objects.filter(comparison_id__in=ids, annotator_id=reviewer_id).values_list(
                "comparison_id", flat=True
            )
        )
    queue = {}
    for comparison_id, why in reasons.items():
        if comparison_id in own:
            continue
        last_review = reviewed.get(comparison_id)
        changed = max(filter(None, [newest.get(comparison_id), flagged.get(comparison_id)]), default=None)
        if last_review is None or (changed is not None and changed > last_review):
            queue[comparison_id] = why
    return queue


@transaction.atomic
def review_lease_next(*, project: Project, reviewer: AbstractBaseUser) -> ReviewLeaseInfo | None:
    """The reviewer's live lease if it still needs review, else the oldest comparison in the queue that no
    other reviewer holds, leased to this reviewer; None when the queue is empty for them."""
    with connection.cursor() as cursor:
        cursor.execute(_SERIALISE_SQL, {"project": str(project.pk)})
    now = timezone.now()
    queue = review_queue(project=project, reviewer_id=reviewer.pk)
    live = ReviewLease.objects.filter(project=project, leased_until__gt=now)
    mine = live.filter(reviewer=reviewer).order_by("id").first()
    until = now + timedelta(seconds=REVIEW_LEASE_SECONDS)
    if mine is not None and mine.comparison_id in queue:
        mine.leased_until = until
        mine.save(update_fields=["leased_until"])
        return ReviewLeaseInfo(mine.comparison_id, until, queue[mine.comparison_id])
    held = set(live.exclude(reviewer=reviewer).values_list("comparison_id", flat=True))
    for comparison_id, reasons in queue.items():
        if comparison_id in held:
            continue
        ReviewLease.objects.filter(project=project, reviewer=reviewer).exclude(
            comparison_id=comparison_id
        ).delete()
        ReviewLease.objects.update_or_create(
            comparison_id=comparison_id,
            defaults={"project": project, "reviewer": reviewer, "leased_until": until},
        )
        return ReviewLeaseInfo(comparison_id, until, reasons)
    return None


def review_lease_holder(*, comparison_id: int, now: datetime | None = None) -> int | None:
    """The reviewer holding a live lease on the comparison, if any."""
    lease = ReviewLease.objects.filter(comparison_id=comparison_id, leased_until__gt=now or timezone.now())
    return lease.values_list("reviewer_id", flat=True).first()
