"""What the data page lists: prompts and comparisons of one project, filtered, newest first, paged by key
(`id < after`), so page 2000 costs what page 1 costs; and one comparison with everything about it."""

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from annotation.data.pseudonyms import annotator_pseudonymiser
from annotation.errors import NotFound
from annotation.models import (
    Annotation,
    Comparison,
    ComparisonItem,
    Project,
    Prompt,
    ResponseScore,
    Review,
    TrainingRound,
)

PAGE_SIZE = 50

# Two live annotations of the comparison that differ: annotators disagree (on the ranking or on all-bad).
_DISAGREE = (
    "EXISTS (SELECT 1 FROM annotation_annotation a JOIN annotation_annotation b"
    " ON b.comparison_id = a.comparison_id AND b.id > a.id AND b.is_live"
    " WHERE a.comparison_id = annotation_comparison.id AND a.is_live"
    " AND (a.ranking <> b.ranking OR a.all_bad <> b.all_bad))"
)


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    next_after: int | None


def _page(queryset: QuerySet, after: int | None, size: int) -> Page:
    if after is not None:
        queryset = queryset.filter(id__lt=after)
    rows = list(queryset.order_by("-id")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows=rows, next_after=rows[-1].id if more and rows else None)


def prompt_page(
    *, project: Project, split: str = "", after: int | None = None, size: int = PAGE_SIZE
) -> Page:
    """The project's prompts, newest first, with how many comparisons each has."""
    queryset = Prompt.objects.filter(project=project)
    if split:
        queryset = queryset.filter(split=split)
    page = _page(queryset.only("id", "external_id", "messages", "split", "created_at"), after, size)
    counts = dict(
        Comparison.objects.filter(prompt_id__in=[p.id for p in page.rows])
        .values_list("prompt_id")
        .annotate(n=Count("id"))
        .values_list("prompt_id", "n")
    )
    for prompt in page.rows:
        prompt.n_comparisons = counts.get(prompt.id, 0)
        prompt.last_user = next((m["content"] for m in reversed(prompt.messages) if m["role"] == "user"), "")
    return page


def comparison_page(
    *,
    project: Project,
    status: str = "",
    split: str = "",
    gold: bool | None = None,
    round_id: int | None = None,
    imported: bool = False,
    agreement: str = "",
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> Page:
    """The project's comparisons, newest first, under the data page's filters: status, split, gold, the
    round that generated them (or imported ones), and agreement (`disagree`: two live annotations differ;
    `unanimous`: two or more, all alike)."""
    queryset = Comparison.objects.filter(project=project)
    if status:
        queryset = queryset.filter(status=status)
    if split:
        queryset = queryset.filter(prompt__split=split)
    if gold is not None:
        queryset = queryset.filter(is_gold=gold)
    if imported:
        queryset = queryset.filter(round__isnull=True)
    elif round_id is not None:
        queryset = queryset.filter(round_id=round_id)
    if agreement == "disagree":
        queryset = queryset.extra(where=[_DISAGREE])
    elif agreement == "unanimous":
        queryset = queryset.filter(annotations_received__gte=2).extra(where=[f"NOT {_DISAGREE}"])
    queryset = queryset.select_related("prompt").only(
        "id", "status", "is_gold", "round_id", "annotations_wanted", "annotations_received", "created_at",
        "prompt__external_id", "prompt__split", "prompt__messages",
    )  # fmt: skip
    page = _page(queryset, after, size)
    for comparison in page.rows:
        messages = comparison.prompt.messages
        comparison.last_user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    return page


def project_rounds(*, project: Project) -> list[TrainingRound]:
    """The rounds of the project (for the round filter), newest first."""
    return list(TrainingRound.objects.filter(project=project).only("id", "kind", "status").order_by("-id"))


def _source(item: ComparisonItem) -> str:
    response = item.response
    if response.policy_version_id is not None:
        return f"policy-v{response.policy_version.version}"
    return response.source_model or "imported"


def comparison_detail(*, project: Project, comparison_id: int, include_sources: bool) -> dict[str, Any]:
    """One comparison of the project: its prompt, its responses in display order (with their sources for
    admins) and the newest accepted reward model's score of each, every annotation, superseded ones too, and
    every review (newest first: the first decides), under the project's pseudonyms."""
    comparison = (
        Comparison.objects.filter(project=project, pk=comparison_id).select_related("prompt", "round").first()
    )
    if comparison is None:
        raise NotFound("No such comparison.")
    items = list(
        ComparisonItem.objects.filter(comparison=comparison)
        .select_related("response__policy_version")
        .order_by("position")
    )
    letters = {item.response_id: chr(ord("A") + item.position) for item in items}
    pseudonym = annotator_pseudonymiser(project_id=project.pk)
    annotations = []
    for annotation in Annotation.objects.filter(comparison=comparison).order_by("created_at", "id"):
        annotations.append(
            {
                "id": annotation.pk,
                "annotator": pseudonym(annotation.annotator_id),
                "ranking": [[letters.get(rid, str(rid)) for rid in group] for group in annotation.ranking],
                "strength": annotation.strength,
                "all_bad": annotation.all_bad,
                "ratings": {
                    letters.get(int(rid), rid): scores for rid, scores in (annotation.ratings or {}).items()
                },
                "rationale": annotation.rationale,
                "time_spent_ms": annotation.time_spent_ms,
                "is_live": annotation.is_live,
                "created_at": annotation.created_at,
            }
        )
    by_id = {a["id"]: a["annotator"] for a in annotations}  # a review names the annotations it rejected
    scores: dict[int, tuple[float, int]] = {}  # response id -> (score, version) of the newest accepted RM
    for response_id, value, version in (
        ResponseScore.objects.filter(response_id__in=letters, reward_model__accepted=True)
        .order_by("response_id", "-reward_model__version")
        .values_list("response_id", "score", "reward_model__version")
    ):
        scores.setdefault(response_id, (value, version))
    return {
        "comparison": comparison,
        "messages": comparison.prompt.messages,
        "responses": [
            {
                "letter": letters[item.response_id],
                "id": item.response_id,
                "text": item.response.text,
                "source": _source(item) if include_sources else None,
                "rm_score": scores.get(item.response_id),
            }
            for item in items
        ],
        "annotations": annotations,
        "live": sum(1 for a in annotations if a["is_live"]),
        "reviews": [
            {
                "verdict": review.verdict,
                "reviewer": pseudonym(review.reviewer_id),
                "ranking": [[letters.get(rid, str(rid)) for rid in group] for group in review.ranking or []],
                "rejected": [by_id.get(aid, str(aid)) for aid in review.rejected_annotations or []],
                "reasons": review.reasons,
                "comment": review.comment,
                "created_at": review.created_at,
                "decides": index == 0,  # the latest review decides
            }
            for index, review in enumerate(Review.objects.filter(comparison=comparison).order_by("-id"))
        ],
    }


def data_counts(*, project: Project) -> dict[str, int]:
    """The totals above the lists."""
    counts = Comparison.objects.filter(project=project).aggregate(
        comparisons=Count("id"),
        open=Count("id", filter=Q(status="open")),
        gold=Count("id", filter=Q(is_gold=True)),
    )
    counts["prompts"] = Prompt.objects.filter(project=project).count()
    return counts
