"""Reviewing: what a reviewer is shown of a comparison, and recording their verdict.

A review is immutable and the latest one of a comparison decides (review/verdicts.py): `accept` keeps the
consensus of the annotations it does not reject, `override` replaces it with the reviewer's ranking (the
exported consensus, `adjudicated: true`), `reject_all` takes every annotation of the comparison out.
`rejected_annotations` takes single annotations out with any verdict. Annotators appear by pseudonym only.
"""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from annotation.data.pseudonyms import annotator_pseudonymiser
from annotation.errors import ApplicationError, Conflict, NotFound
from annotation.models import Annotation, Comparison, Project, Review, ReviewLease, Verdict
from annotation.rendering import render_markdown
from annotation.review.queue import ReviewLeaseInfo, review_lease_holder, review_lease_next, review_queue
from annotation.review.verdicts import label_trust

MAX_COMMENT = 20_000


def _public_ranking(ranking: Any, public: dict[int, str]) -> list[list[str]]:
    return [[public.get(int(rid), str(rid)) for rid in group] for group in ranking or []]


def _feedback(annotation: Annotation, public: dict[int, str]) -> dict[str, Any]:
    """An annotation's rewrites, harm flags and safer verdict, with the responses' public ids."""
    harmless = annotation.harmless_ranking
    return {
        "edits": [
            {"response": public.get(edit["response"]) if edit.get("response") else None, "text": edit["text"]}
            for edit in annotation.edits or []
        ],
        "safety": {public.get(int(rid), rid): flag for rid, flag in (annotation.safety or {}).items()},
        "harmless_ranking": _public_ranking(harmless, public) if harmless else None,
    }


def review_payload(*, comparison: Comparison, reasons: list[str], lease: ReviewLeaseInfo | None) -> dict:
    """The comparison with every live annotation (pseudonymous, rationale included) and why it is here."""
    items = list(comparison.items.select_related("response").order_by("position"))
    public = {item.response_id: str(item.response.public_id) for item in items}
    pseudonym = annotator_pseudonymiser(project_id=comparison.project_id)
    trust = label_trust(project=comparison.project)
    annotations = []
    for a in Annotation.objects.filter(comparison=comparison, is_live=True).order_by("id"):
        annotations.append(
            {
                "id": a.pk,
                "annotator": pseudonym(a.annotator_id),
                "ranking": _public_ranking(a.ranking, public),
                "strength": a.strength,
                "all_bad": a.all_bad,
                "ratings": {public.get(int(rid), rid): scores for rid, scores in (a.ratings or {}).items()},
                "rationale": a.rationale,
                **_feedback(a, public),
                "gold_correct": a.gold_correct,
                "excluded": trust.excluded(
                    comparison_id=comparison.pk, annotation_id=a.pk, annotator_id=a.annotator_id
                )
                or None,
                "time_spent_ms": a.time_spent_ms,
            }
        )
    messages = comparison.prompt.messages
    return {
        "comparison": {
            "id": comparison.pk,
            "prompt": {
                "messages": [
                    {"role": m["role"], "content": m["content"], "html": render_markdown(m["content"])}
                    for m in messages
                ]
            },
            "responses": [
                {
                    "id": public[i.response_id],
                    "text": i.response.text,
                    "html": render_markdown(i.response.text),
                }
                for i in items
            ],
            "is_gold": comparison.is_gold,
            "gold": {
                "expected": _public_ranking(comparison.gold_ranking, public),
                "explanation": comparison.gold_explanation,
            }
            if comparison.is_gold
            else None,
        },
        "annotations": annotations,
        "reasons": reasons,
        "lease_expires_at": lease.leased_until.isoformat() if lease else None,
    }


def review_next(*, project: Project, reviewer: AbstractBaseUser) -> dict | None:
    """The reviewer's next comparison to review (leased to them), or None when nothing is left."""
    lease = review_lease_next(project=project, reviewer=reviewer)
    if lease is None:
        return None
    comparison = Comparison.objects.select_related("prompt", "project").get(pk=lease.comparison_id)
    return review_payload(comparison=comparison, reasons=lease.reasons, lease=lease)


@dataclass(frozen=True)
class ReviewResult:
    review_id: int
    created: bool


def _parse_override(ranking: Any, public_to_id: dict[str, int]) -> list[list[int]]:
    if not isinstance(ranking, list) or not ranking or not all(isinstance(g, list) and g for g in ranking):
        raise ApplicationError(
            "is required for an override: groups of response ids, best first", field="ranking"
        )
    flat = [str(rid) for group in ranking for rid in group]
    if any(rid not in public_to_id for rid in flat):
        raise ApplicationError("names a response that is not in this comparison", field="ranking")
    if sorted(flat) != sorted(public_to_id):
        raise ApplicationError("must rank every response of the comparison exactly once", field="ranking")
    return [[public_to_id[str(rid)] for rid in group] for group in ranking]


def review_submit(
    *,
    comparison_id: int,
    reviewer: AbstractBaseUser,
    verdict: Any,
    client_token: Any,
    ranking: Any = None,
    rejected_annotations: Any = None,
    comment: Any = "",
) -> ReviewResult:
    """Record a verdict on the comparison (idempotent by the reviewer's client_token). Refused while
    another reviewer holds the comparison (409 `review_leased`)."""
    if not isinstance(client_token, str) or not 1 <= len(client_token) <= 64:
        raise ApplicationError("is required: a string of 1..64 characters", field="client_token")
    with transaction.atomic():
        comparison = (
            Comparison.objects.select_for_update().select_related("project").filter(pk=comparison_id).first()
        )
        if comparison is None:
            raise NotFound("No such comparison.")
        previous = Review.objects.filter(reviewer=reviewer, client_token=client_token).first()
        if previous is not None:
            if previous.comparison_id != comparison_id:
                raise Conflict(
                    "This client_token was already used for another comparison.", field="client_token"
                )
            return ReviewResult(previous.pk, created=False)
        holder = review_lease_holder(comparison_id=comparison_id)
        if holder is not None and holder != reviewer.pk:
            raise Conflict("Another reviewer is reviewing this comparison.", code="review_leased")
        if verdict not in Verdict.values:
            raise ApplicationError(f"must be one of {', '.join(Verdict.values)}", field="verdict")
        public_to_id = {
            str(public): rid
            for rid, public in comparison.items.values_list("response_id", "response__public_id")
        }
        final = None
        if verdict == Verdict.OVERRIDE:
            final = _parse_override(ranking, public_to_id)
        elif ranking not in (None, []):
            raise ApplicationError("applies to an override only", field="ranking")
        live = set(
            Annotation.objects.filter(comparison=comparison, is_live=True).values_list("id", flat=True)
        )
        rejected = rejected_annotations if rejected_annotations is not None else []
        if (
            not isinstance(rejected, list)
            or any(isinstance(a, bool) or not isinstance(a, int) for a in rejected)
            or len(set(rejected)) != len(rejected)
        ):
            raise ApplicationError("must be a list of distinct annotation ids", field="rejected_annotations")
        if not set(rejected) <= live:
            raise ApplicationError(
                "names an annotation that is not live on this comparison", field="rejected_annotations"
            )
        if not isinstance(comment, str) or len(comment) > MAX_COMMENT or "\x00" in comment:
            raise ApplicationError(f"must be text of at most {MAX_COMMENT} characters", field="comment")
        reasons = review_queue(project=comparison.project).get(comparison_id, [])
        try:
            with transaction.atomic():
                review = Review.objects.create(
                    comparison=comparison,
                    project=comparison.project,
                    reviewer=reviewer,
                    verdict=verdict,
                    ranking=final,
                    rejected_annotations=sorted(rejected),
                    reasons=reasons,
                    comment=comment.strip(),
                    client_token=client_token,
                )
        except IntegrityError as exc:
            raise Conflict("This client_token was already used.", field="client_token") from exc
        ReviewLease.objects.filter(comparison=comparison, reviewer=reviewer).delete()
    return ReviewResult(review.pk, created=True)
