"""The feedback fields of a submission (DESIGN section 7): `edits`, `safety`, `harmless_ranking`, and the
shape of a scoring task's judgement. Each rule an ApplicationError naming the field, checked before
anything is written; `edits_record` then writes the rewrites as Responses of their own."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from annotation.errors import ApplicationError
from annotation.models import Response

SEVERITIES = ("minor", "moderate", "severe")
SEVERITY_LEVEL = {"": 0, "minor": 1, "moderate": 2, "severe": 3}  # PKU-SafeRLHF's severity_level 0..3
EDIT_SOURCE = "edit"  # Response.source_model of a rewrite (it has no policy version)


@dataclass(frozen=True)
class FeedbackRules:
    """What a project collects, as the submit path reads it with the comparison's lock."""

    responses_per_task: int
    allow_edits: bool
    categories: frozenset[str]
    dual_preference: bool

    @property
    def scoring(self) -> bool:
        return self.responses_per_task == 1


def scoring_ranking(
    *, ranking: Any, strength: Any, all_bad: Any, ratings: dict[str, dict[str, int]], axes: set[str],
    response_id: int,
) -> list[list[int]]:  # fmt: skip
    """A scoring task is judged by its ratings alone: no ranking, no strength, no all-bad, and a score on
    every axis for its one response. Returns the stored ranking (the lone response in one group)."""
    if ranking not in (None, []):
        raise ApplicationError("a scoring task takes ratings, not a ranking", field="ranking")
    if strength:
        raise ApplicationError("a scoring task has no ranking to state a strength for", field="strength")
    if all_bad is not False:
        raise ApplicationError("a scoring task rates its one response instead", field="all_bad")
    given = ratings.get(str(response_id), {})
    missing = sorted(axes - set(given))
    if missing:
        raise ApplicationError(
            f"a scoring task needs a score on every axis; missing {missing}", field="ratings"
        )
    return [[response_id]]


def clean_harmless_ranking(
    value: Any, rules: FeedbackRules, parse_ranking: Callable[[Any, str], list[list[int]]]
) -> list[list[int]] | None:
    """The "which is safer" verdict: same shape as `ranking`, only where the project asks for it."""
    if value is None:
        return None
    if not rules.dual_preference:
        raise ApplicationError(
            "this project does not collect a separate harmless verdict (dual_preference is off)",
            field="harmless_ranking",
        )
    return parse_ranking(value, "harmless_ranking")


def clean_safety(value: Any, rules: FeedbackRules, public_to_id: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Harm flags per response: `{public id: {safe, categories, severity}}`, keyed by response id."""
    field = "safety"
    if value in (None, {}):
        return {}
    if not rules.categories:
        raise ApplicationError("this project does not collect harm flags (no safety_categories)", field=field)
    if not isinstance(value, dict):
        raise ApplicationError("must be an object {response_id: {safe, categories, severity}}", field=field)
    cleaned: dict[str, dict[str, Any]] = {}
    for public, flag in value.items():
        if str(public) not in public_to_id:
            raise ApplicationError(f"unknown response id {public!r} for this task", field=field)
        if (
            not isinstance(flag, dict)
            or not set(flag) <= {"safe", "categories", "severity"}
            or "safe" not in flag
        ):
            raise ApplicationError(
                f"the flag of {public} must be {{safe, categories, severity}}", field=field
            )
        safe, categories, severity = flag["safe"], flag.get("categories", []), flag.get("severity") or ""
        if not isinstance(safe, bool):
            raise ApplicationError(f"safe of {public} must be true or false", field=field)
        if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
            raise ApplicationError(f"categories of {public} must be a list of category slugs", field=field)
        unknown = sorted(set(categories) - rules.categories)
        if unknown:
            raise ApplicationError(
                f"unknown harm category {unknown[0]!r}; this project flags {sorted(rules.categories)}",
                field=field,
            )
        if safe and (categories or severity):
            raise ApplicationError(f"a safe response ({public}) has no categories or severity", field=field)
        if not safe and not categories:
            raise ApplicationError(f"an unsafe response ({public}) needs at least one category", field=field)
        if not safe and severity not in SEVERITIES:
            raise ApplicationError(
                f"the severity of {public} must be one of {', '.join(SEVERITIES)}", field=field
            )
        cleaned[str(public_to_id[str(public)])] = {
            "safe": safe,
            "categories": sorted(set(categories)),
            "severity": severity,
        }
    return cleaned


def clean_edits(
    value: Any, rules: FeedbackRules, public_to_id: dict[str, int], original_text: Callable[[int], str]
) -> list[dict[str, Any]]:
    """Rewrites: `[{response: public id or null (from scratch), text}]`, at most one per response and one
    from scratch; a rewrite must say something and differ from its original. Keyed by response id."""
    field = "edits"
    if value in (None, []):
        return []
    if not rules.allow_edits:
        raise ApplicationError("this project does not take edits (allow_edits is off)", field=field)
    if not isinstance(value, list) or len(value) > len(public_to_id) + 1:
        raise ApplicationError("must be a list of {response, text}, at most one per response", field=field)
    limit = settings.PREFER_MAX_TEXT_BYTES
    cleaned: list[dict[str, Any]] = []
    seen: set[int | None] = set()
    for item in value:
        if not isinstance(item, dict) or set(item) != {"response", "text"}:
            raise ApplicationError('each edit is {"response": id or null, "text": "..."}', field=field)
        public, text = item["response"], item["text"]
        response_id = None
        if public is not None:
            if str(public) not in public_to_id:
                raise ApplicationError(f"response {public!r} is not in this task", field=field)
            response_id = public_to_id[str(public)]
        if response_id in seen:
            raise ApplicationError(
                "at most one edit per response (and one written from scratch)", field=field
            )
        seen.add(response_id)
        if not isinstance(text, str) or not text.strip():
            raise ApplicationError("an edit must not be empty", field=field)
        if "\x00" in text or len(text.encode("utf-8", errors="surrogatepass")) > limit:
            raise ApplicationError(f"an edit must be text of at most {limit} bytes", field=field)
        if response_id is not None and text.strip() == original_text(response_id).strip():
            raise ApplicationError(f"the edit of {public} is identical to the original", field=field)
        cleaned.append({"response": response_id, "text": text.strip()})
    return cleaned


def original_texts(response_ids: list[int]) -> Callable[[int], str]:
    """The texts of a task's responses, read once and only when an edit needs them."""
    cache: dict[int, str] = {}

    def text(response_id: int) -> str:
        if not cache:
            cache.update(Response.objects.filter(pk__in=response_ids).values_list("pk", "text"))
        return cache[response_id]

    return text


def edits_record(
    *, edits: list[dict[str, Any]], annotation_id: int, prompt_id: int, author_id: int
) -> list[dict[str, Any]]:
    """Write each rewrite as a Response of its own (`edited_from`, `author`, the annotation) and return
    what the annotation keeps: `[{response, edit, text}]` (original id or None, the rewrite's id, its text).
    Inside the submission's transaction."""
    created = Response.objects.bulk_create(
        [
            Response(
                prompt_id=prompt_id,
                text=edit["text"],
                source_model=EDIT_SOURCE,
                edited_from_id=edit["response"],
                author_id=author_id,
                annotation_id=annotation_id,
                generation_params={"edit": True},
            )
            for edit in edits
        ]
    )
    return [
        {"response": edit["response"], "edit": response.pk, "text": edit["text"]}
        for edit, response in zip(edits, created, strict=True)
    ]
