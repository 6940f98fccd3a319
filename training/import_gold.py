"""The `gold` field of the prompt import format (DESIGN section 7): the expected answer of a gold item.

`"gold": {"ranking": [[0], [1]], "explanation": "why"}`: indices into the line's responses, groups best
first, ties in one group, every response exactly once. A gold line must hold exactly the responses of one
task (so the gold answer is about the comparison it becomes). Pure: no Django, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GOLD_KEYS = {"ranking", "explanation"}
MAX_EXPLANATION_CHARS = 20_000


@dataclass(frozen=True)
class ImportedGold:
    ranking: list[list[int]]  # indices into the line's responses, best group first
    explanation: str = ""


def parse_gold(
    value: Any, n_responses: int | None, responses_needed: int
) -> tuple[ImportedGold | None, list[tuple[str, str]]]:
    """The gold answer of a line, or (None, [(field, message), ...]).

    Args:
        value: the line's `gold` value.
        n_responses (`int`, *optional*): how many responses the line has (None: the line has none, or they
            were invalid and are reported on their own).
        responses_needed (`int`): the project's responses per task (0 where there is no project).
    """
    problems: list[tuple[str, str]] = []
    if not isinstance(value, dict):
        return None, [("gold", "must be an object {ranking, explanation}")]
    unknown = sorted(set(value) - GOLD_KEYS)
    if unknown:
        problems.append((f"gold.{unknown[0]}", f"unknown field; allowed: {', '.join(sorted(GOLD_KEYS))}"))
    explanation = value.get("explanation", "")
    if not isinstance(explanation, str) or len(explanation) > MAX_EXPLANATION_CHARS or "\x00" in explanation:
        problems.append(("gold.explanation", f"must be text of at most {MAX_EXPLANATION_CHARS} characters"))
    if responses_needed == 1:
        scoring = "a scoring project takes no gold items (a gold answer ranks a task's responses)"
        return None, [("gold", scoring)]
    if n_responses is None:
        problems.append(("gold", "a gold item needs the line's responses"))
        return None, problems
    if responses_needed and n_responses != responses_needed:
        problems.append(
            ("gold", f"a gold line needs exactly {responses_needed} responses (one task), has {n_responses}")
        )
        return None, problems
    ranking = value.get("ranking")
    if (
        not isinstance(ranking, list)
        or not ranking
        or not all(isinstance(group, list) and group for group in ranking)
        or not all(isinstance(i, int) and not isinstance(i, bool) for group in ranking for i in group)
    ):
        problems.append(("gold.ranking", "must be a list of non-empty lists of response indices"))
        return None, problems
    flat = [i for group in ranking for i in group]
    if any(not 0 <= i < n_responses for i in flat):
        problems.append(("gold.ranking", f"indices must be between 0 and {n_responses - 1}"))
    elif sorted(flat) != list(range(n_responses)):
        problems.append(("gold.ranking", "must rank every response of the line exactly once"))
    if problems:
        return None, problems
    return ImportedGold(ranking=[list(group) for group in ranking], explanation=explanation.strip()), []
