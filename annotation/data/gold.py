"""Gold items (issue 12): comparisons with a known answer, mixed unannounced into the queue (leasing serves
them at the project's gold_rate, each at most once per annotator), and the annotators' record against them.

An annotator's gold record counts first judgements only (an annotation that supersedes nothing): a
correction made after the feedback showed the expected answer says nothing about the annotator. Gold
answers given before an admin last cleared the annotator's flag no longer count.
"""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction

from annotation.data.pseudonyms import annotator_pseudonymiser
from annotation.errors import ApplicationError, NotFound
from annotation.models import (
    Annotation,
    Comparison,
    ComparisonStatus,
    GoldFlagClearance,
    Project,
    Response,
)
from annotation.prepared import json_value

MAX_EXPLANATION = 20_000


def same_ranking(a: Any, b: Any) -> bool:
    """Whether two rankings (groups of response ids, best first) say the same thing (order within a group
    does not matter)."""
    return [sorted(map(int, group)) for group in a or []] == [sorted(map(int, group)) for group in b or []]


def gold_mark(*, comparison: Comparison, ranking: list[list[int]], explanation: str) -> None:
    """Make the comparison a gold item with this expected ranking (internal response ids); annotations it
    already has are scored against it. Call inside the caller's transaction."""
    comparison.is_gold = True
    comparison.gold_ranking = ranking
    comparison.gold_explanation = explanation
    comparison.status = ComparisonStatus.OPEN  # gold items stay open for every annotator
    comparison.completed_at = None
    comparison.save(update_fields=["is_gold", "gold_ranking", "gold_explanation", "status", "completed_at"])
    for annotation in Annotation.objects.filter(comparison=comparison):
        annotation.gold_correct = same_ranking(annotation.ranking, ranking)
        annotation.save(update_fields=["gold_correct"])


@transaction.atomic
def gold_create_from_comparison(
    *, project: Project, comparison_id: int, ranking: Any, explanation: Any = ""
) -> Comparison:
    """An admin makes an existing comparison of the project a gold item; `ranking` names the responses by
    the public ids the task payload shows (groups best first)."""
    comparison = Comparison.objects.select_for_update().filter(pk=comparison_id, project=project).first()
    if comparison is None:
        raise NotFound("No such comparison in this project.")
    if project.is_scoring:
        raise ApplicationError(
            "a scoring project takes no gold items: a gold answer ranks a task's responses", field="ranking"
        )
    if not isinstance(explanation, str) or len(explanation) > MAX_EXPLANATION or "\x00" in explanation:
        raise ApplicationError(f"must be text of at most {MAX_EXPLANATION} characters", field="explanation")
    public_to_id = {
        str(public): rid
        for public, rid in Response.objects.filter(comparisons=comparison).values_list("public_id", "id")
    }
    if not isinstance(ranking, list) or not ranking or not all(isinstance(g, list) and g for g in ranking):
        raise ApplicationError("must be a list of non-empty lists of response ids", field="ranking")
    flat = [str(rid) for group in ranking for rid in group]
    if any(rid not in public_to_id for rid in flat):
        raise ApplicationError("names a response that is not in this comparison", field="ranking")
    if sorted(flat) != sorted(public_to_id):
        raise ApplicationError("must rank every response of the comparison exactly once", field="ranking")
    gold_mark(
        comparison=comparison,
        ranking=[[public_to_id[str(rid)] for rid in group] for group in ranking],
        explanation=explanation.strip(),
    )
    return comparison


_GOLD_SQL = """
SELECT c.gold_ranking, c.gold_explanation, p.gold_feedback, a.ranking, a.gold_correct
FROM annotation_annotation a JOIN annotation_comparison c ON c.id = a.comparison_id
JOIN annotation_project p ON p.id = c.project_id
WHERE a.id = %(annotation)s AND c.is_gold
"""


def _public_ranking(ranking: list[list[int]]) -> list[list[str]]:
    ids = [rid for group in ranking for rid in group]
    rows = Response.objects.filter(pk__in=ids).values_list("id", "public_id")
    public = {rid: str(pub) for rid, pub in rows}
    return [[public[rid] for rid in group] for group in ranking]


def _feedback(correct: bool, gold_ranking: list[list[int]], explanation: str) -> dict[str, Any]:
    return {"correct": correct, "expected": _public_ranking(gold_ranking), "explanation": explanation}


def gold_score(*, annotation_id: int, ranking: list[list[int]]) -> dict[str, Any] | None:
    """Record whether a new annotation of a gold item matched; the feedback for the annotator where the
    project shows it (`{correct, expected, explanation}`, `expected` in public response ids), else None."""
    with connection.cursor() as cursor:
        cursor.execute(_GOLD_SQL, {"annotation": annotation_id})
        row = cursor.fetchone()
        if row is None:
            return None
        gold_ranking, explanation, show = json_value(row[0]), row[1], row[2]
        correct = same_ranking(ranking, gold_ranking)
        cursor.execute(
            "UPDATE annotation_annotation SET gold_correct = %(correct)s WHERE id = %(annotation)s",
            {"correct": correct, "annotation": annotation_id},
        )
    return _feedback(correct, gold_ranking, explanation) if show else None


def gold_feedback_of(*, annotation_id: int) -> dict[str, Any] | None:
    """The feedback of an annotation already scored (a retried submission gets the same answer)."""
    with connection.cursor() as cursor:
        cursor.execute(_GOLD_SQL, {"annotation": annotation_id})
        row = cursor.fetchone()
    if row is None or not row[2] or row[4] is None:
        return None
    return _feedback(bool(row[4]), json_value(row[0]), row[1])


def below_bar(*, seen: int, correct: int, min_seen: int, min_accuracy: float) -> bool:
    """The flag rule: at least min_seen gold answers (1 at the least) and an accuracy under min_accuracy."""
    return seen >= max(min_seen, 1) and correct / seen < min_accuracy


@dataclass(frozen=True)
class GoldRecord:
    seen: int
    correct: int
    flagged: bool

    @property
    def accuracy(self) -> float | None:
        return round(self.correct / self.seen, 4) if self.seen else None


_RECORDS_SQL = """
SELECT a.annotator_id, count(*), count(*) FILTER (WHERE a.gold_correct)
FROM annotation_annotation a
WHERE a.project_id = %(project)s AND a.supersedes_id IS NULL AND a.gold_correct IS NOT NULL
  AND a.created_at > COALESCE((SELECT max(g.cleared_at) FROM annotation_goldflagclearance g
                               WHERE g.project_id = a.project_id AND g.annotator_id = a.annotator_id),
                              '-infinity'::timestamptz)
GROUP BY a.annotator_id
"""


def gold_records(*, project: Project) -> dict[int, GoldRecord]:
    """Each annotator's gold record (since their flag was last cleared) and whether it is below the bar:
    at least gold_min_seen gold items seen and an accuracy under gold_min_accuracy."""
    with connection.cursor() as cursor:
        cursor.execute(_RECORDS_SQL, {"project": project.pk})
        rows = cursor.fetchall()
    return {
        annotator_id: GoldRecord(
            seen=seen,
            correct=correct,
            flagged=below_bar(
                seen=seen,
                correct=correct,
                min_seen=project.gold_min_seen,
                min_accuracy=project.gold_min_accuracy,
            ),
        )
        for annotator_id, seen, correct in rows
    }


def excluded_annotators(*, project: Project) -> set[int]:
    """The annotators whose annotations leave consensus: flagged ones, where the project says so."""
    if not project.gold_exclude_below:
        return set()
    return {annotator for annotator, record in gold_records(project=project).items() if record.flagged}


@transaction.atomic
def gold_flag_clear_by_pseudonym(
    *, project: Project, pseudonym: str, by: AbstractBaseUser
) -> GoldFlagClearance:
    """An admin clears the flag of the annotator with this pseudonym (as the stats show it): their gold
    record starts again from now."""
    annotators = Annotation.objects.filter(project=project).values_list("annotator_id", flat=True).distinct()
    name = annotator_pseudonymiser(project_id=project.pk)
    matches = [annotator_id for annotator_id in annotators if name(annotator_id) == pseudonym]
    if not matches:
        raise NotFound("No annotator with this pseudonym in the project.")
    return GoldFlagClearance.objects.create(project=project, annotator_id=matches[0], cleared_by=by)
