"""Project statistics for the dashboard and GET /stats/: counts, throughput, time per annotation and
agreement (Krippendorff's alpha and each annotator's agreement with the other annotators).

Agreement is computed from the same consensus selector as the exports, over the comparisons with at least
two live annotations: every unordered pair of responses of such a comparison is one unit whose values are
the annotators' votes (first better / second better / tie; pairwise projects have one unit per comparison).
An annotator's agreement is the share of their votes that match the plurality of the OTHER votes on the
same unit (leave-one-out: with two annotators, whether they agree with each other); a unit where the
others have no unique plurality does not count for that annotator.
"""

import datetime as dt
import logging
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Aggregate, Count, FloatField, Max, Q
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from annotation.data.consensus import PreferenceFilters, plurality, project_consensus
from annotation.data.pseudonyms import annotator_pseudonym
from annotation.data.quality import NO_FIGURES, annotator_quality
from annotation.models import Annotation, Comparison, ComparisonStatus, Project
from annotation.review.verdicts import label_trust

HOURS = 48
DAYS = 30
CACHE_SECONDS = 30
log = logging.getLogger(__name__)


class Median(Aggregate):
    function = "percentile_cont"
    template = "percentile_cont(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


class NominalCoincidences:
    """Krippendorff's alpha for nominal data, accumulated one unit at a time: only the coincidence totals
    are kept (never the units), so memory does not grow with the project.

    alpha = 1 - (n - 1) * sum_{c != k} o_ck / sum_{c != k} n_c * n_k, with the coincidence matrix
    o_ck = sum_u (number of c-k value pairs in u) / (m_u - 1) and n_c = sum_k o_ck, n = sum_c n_c."""

    def __init__(self) -> None:
        self.observed_disagreement = 0.0
        self.totals: Counter[Hashable] = Counter()
        self.units = 0

    def add(self, unit: Sequence[Hashable]) -> None:
        """Count one unit (the values its coders gave); one with fewer than two values is not pairable."""
        m = len(unit)
        if m < 2:
            return
        self.units += 1
        for value, count in Counter(unit).items():
            self.totals[value] += count
            # ordered pairs (value, other) within the unit, each weighted 1 / (m - 1)
            self.observed_disagreement += count * (m - count) / (m - 1)

    def alpha(self) -> float | None:
        """None when there is no variation at all (alpha undefined)."""
        n = sum(self.totals.values())
        expected = n * n - sum(count * count for count in self.totals.values())
        if n < 2 or expected == 0:
            return None
        return 1 - (n - 1) * self.observed_disagreement / expected


def krippendorff_alpha_nominal(units: Iterable[Sequence[Hashable]]) -> float | None:
    """Krippendorff's alpha for nominal data over `units` (see NominalCoincidences)."""
    coincidences = NominalCoincidences()
    for unit in units:
        coincidences.add(unit)
    return coincidences.alpha()


def _buckets(counts: dict[dt.datetime, int], last: dt.datetime, step: dt.timedelta, size: int) -> list[dict]:
    return [
        {"start": start, "count": counts.get(start, 0)}
        for start in (last - step * (size - 1 - index) for index in range(size))
    ]


def _throughput(project: Project, now: dt.datetime) -> dict[str, list[dict]]:
    # Every submission counts (corrections too): this measures work done, not distinct judgements.
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    today = this_hour.replace(hour=0)
    hours = (
        Annotation.objects.filter(project=project, created_at__gte=this_hour - dt.timedelta(hours=HOURS - 1))
        .annotate(bucket=TruncHour("created_at", tzinfo=dt.UTC))
        .values_list("bucket")
        .annotate(n=Count("id"))
    )
    days = (
        Annotation.objects.filter(project=project, created_at__gte=today - dt.timedelta(days=DAYS - 1))
        .annotate(bucket=TruncDay("created_at", tzinfo=dt.UTC))
        .values_list("bucket")
        .annotate(n=Count("id"))
    )
    per_hour = _buckets(dict(hours), this_hour, dt.timedelta(hours=1), HOURS)
    per_day = _buckets(dict(days), today, dt.timedelta(days=1), DAYS)
    return {
        "per_hour": per_hour,
        "per_day": per_day,
        "peak_hour": max(bucket["count"] for bucket in per_hour),
        "peak_day": max(bucket["count"] for bucket in per_day),
    }


def _agreement(project: Project) -> tuple[dict[str, Any], dict[int, tuple[int, int]]]:
    coincidences = NominalCoincidences()
    agreed: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    comparisons = 0
    matching_votes = 0
    total_votes = 0
    for _, consensus in project_consensus(project=project, filters=PreferenceFilters(min_annotations=2)):
        comparisons += 1
        for pair in consensus.pair_votes:
            if len(pair.votes) < 2:
                continue
            values = [vote for _, vote in pair.votes]
            coincidences.add(values)
            if pair.outcome is not None:
                matching_votes += values.count(pair.outcome)
                total_votes += len(values)
            # Leave-one-out: each vote against the plurality of the OTHER votes, so an annotator's own vote
            # never counts towards the consensus it is scored on. Skipped when the others have no plurality.
            for index, (annotator_id, vote) in enumerate(pair.votes):
                others = plurality(values[:index] + values[index + 1 :])
                if others is None:
                    continue
                agreed[annotator_id][0] += vote == others
                agreed[annotator_id][1] += 1
    alpha = coincidences.alpha()
    summary = {
        "krippendorff_alpha": None if alpha is None else round(alpha, 4),
        "comparisons": comparisons,
        "units": coincidences.units,
        "consensus_agreement": round(matching_votes / total_votes, 4) if total_votes else None,
    }
    return summary, {uid: (pair[0], pair[1]) for uid, pair in agreed.items()}


def _cache_call(method: Any, *args: Any) -> Any:
    """The stats cache fails open: with Redis down the figures are computed (and not kept), never a 500."""
    try:
        return method(*args)
    except Exception:  # the client's connection errors vary by backend and version
        log.warning("project stats cache unavailable; computing without it")
        return None


def project_stats(
    *,
    project: Project,
    now: dt.datetime | None = None,
    include_usernames: bool = False,
    include_annotators: bool = True,
) -> dict[str, Any]:
    """Everything the stats endpoint and the dashboard partial show. Annotators appear as pseudonyms;
    `include_usernames` adds `username` beside them (for the admin-only dashboard page, not the API);
    `include_annotators=False` leaves out the per-annotator section (for reviewers: aggregates only).

    Without `now`, the result is cached for CACHE_SECONDS under a key that moves with every new annotation,
    so a submission shows at once while a dashboard reloaded without new work costs one cheap aggregate.
    Other changes (new comparisons, a gold flag) show within CACHE_SECONDS."""
    if now is not None:
        stats = _compute_stats(project, now)
    else:
        latest = Annotation.objects.filter(project=project).aggregate(last=Max("id"), n=Count("id"))
        # created_at makes the key unique to this project even where ids are reused (a recreated database).
        key = (
            f"prefer:project-stats:v2:{project.pk}:{project.created_at.timestamp()}"
            f":{latest['last'] or 0}:{latest['n']}"
        )
        stats = _cache_call(cache.get, key)
        if stats is None:
            stats = _compute_stats(project, timezone.now())
            _cache_call(cache.set, key, stats, CACHE_SECONDS)
    if not include_annotators:
        return {name: value for name, value in stats.items() if name != "annotators"}
    if not include_usernames:
        annotators = [
            {name: value for name, value in row.items() if name != "username"} for row in stats["annotators"]
        ]
        return {**stats, "annotators": annotators}
    return stats


def _compute_stats(project: Project, now: dt.datetime) -> dict[str, Any]:
    comparisons = Comparison.objects.filter(project=project).aggregate(
        total=Count("id"),
        open=Count("id", filter=Q(status=ComparisonStatus.OPEN)),
        complete=Count("id", filter=Q(status=ComparisonStatus.COMPLETE)),
        gold=Count("id", filter=Q(is_gold=True)),
    )
    annotations = Annotation.objects.filter(project=project).aggregate(
        live=Count("id", filter=Q(is_live=True)),
        superseded=Count("id", filter=Q(is_live=False)),
        median_time_ms=Median("time_spent_ms", filter=Q(is_live=True)),
    )
    median_time_ms = annotations.pop("median_time_ms")
    trust = label_trust(project=project)  # annotations a review rejected leave the per-annotator figures
    per_annotator = list(
        Annotation.objects.filter(project=project, is_live=True)
        .exclude(pk__in=trust.rejected)
        .exclude(comparison_id__in=trust.rejected_all)
        .values("annotator_id")
        .annotate(n=Count("id"), median_time_ms=Median("time_spent_ms"), last=Max("created_at"))
        .order_by("-n", "annotator_id")
    )
    agreement, by_annotator = _agreement(project)
    usernames = dict(
        get_user_model()
        .objects.filter(pk__in=[row["annotator_id"] for row in per_annotator])
        .values_list("pk", "username")
    )
    quality = annotator_quality(project=project)
    annotators = []
    for row in per_annotator:
        agree, votes = by_annotator.get(row["annotator_id"], (0, 0))
        annotators.append(
            {
                "annotator": annotator_pseudonym(row["annotator_id"], project_id=project.pk),
                "annotations": row["n"],
                "median_time_ms": row["median_time_ms"],
                "last_annotation_at": row["last"],
                "agreement": round(agree / votes, 4) if votes else None,
                "agreement_votes": votes,
                **quality.get(row["annotator_id"], NO_FIGURES),
                "username": usernames.get(row["annotator_id"], ""),
            }
        )
    annotations["annotators"] = len(annotators)
    return {
        "generated_at": now,
        "comparisons": comparisons,
        "annotations": annotations,
        "median_time_ms": median_time_ms,
        "throughput": _throughput(project, now),
        "agreement": agreement,
        "annotators": annotators,
    }
