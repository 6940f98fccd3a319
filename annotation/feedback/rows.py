"""Export rows of the feedback kinds (DESIGN section 7). Pure functions over consensus records, like
annotation/formats/exports.py which dispatches to them:

- edit pairs (`kind: "edit"`): each live edit over its original and over every response that annotation
  ranked below the original (a rewrite from scratch: over every response of the task), margin "strong";
- rating pairs (`kind: "rating"`, scoring projects): two responses to the same prompt whose mean ratings
  (over the axes and the live annotations) differ by at least 1, margin = the difference;
- `sft` rows: the conversation plus an edit as the assistant's turn, one row per live edit;
- `safe-rlhf` rows: PKU-SafeRLHF's columns, one row per pair of responses with both a helpful and a
  harmless consensus.

Edit and rating pairs are not votes of several annotators: their `agreement` is None (min_agreement does
not filter them, and the reward model's label smoothing leaves them alone)."""

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from annotation.data.consensus import STRENGTH_MARGIN, ComparisonRecord, Consensus, consensus_of
from annotation.feedback.settings import PKU_NAMES
from annotation.feedback.submission import SEVERITY_LEVEL
from annotation.formats.transcripts import transcript

EDIT_MARGIN = STRENGTH_MARGIN["strong"]
MIN_RATING_GAP = 1.0


@dataclass(frozen=True, slots=True)
class TextPair:
    chosen: str
    rejected: str
    margin: float
    kind: str
    comparison_id: int
    n_annotations: int
    agreement: float | None = None
    adjudicated: bool = False  # a reviewer's override is this pair's consensus


def edit_pairs(record: ComparisonRecord) -> Iterator[TextPair]:
    """Edited-over-original pairs of one comparison's live annotations."""
    texts = {response.id: response.text for response in record.responses}
    for annotation in record.annotations:
        rank = {rid: position for position, group in enumerate(annotation.ranking) for rid in group}
        for edit in annotation.edits:
            original = edit["response"]
            if original is None:
                below = list(texts)
            else:
                below = [original] + [
                    rid for rid in texts if rank.get(rid, -1) > rank.get(original, len(texts))
                ]
            for rid in below:
                yield TextPair(edit["text"], texts[rid], EDIT_MARGIN, "edit", record.id, 1)


@dataclass
class _Scored:
    comparison_id: int
    text: str
    scores: list[float] = field(default_factory=list)


@dataclass
class RatingPairs:
    """Collects a scoring project's rated responses per prompt, then yields the rating pairs. Responses to
    one prompt are scattered over comparisons (one task per response), so this keeps each rated
    response's text and mean until the end of the export: memory follows the rated responses."""

    prompts: dict[str, tuple[list[dict[str, str]], dict[int, _Scored]]] = field(default_factory=dict)

    def add(self, record: ComparisonRecord) -> None:
        _, responses = self.prompts.setdefault(record.prompt_external_id, (record.messages, {}))
        texts = {response.id: response.text for response in record.responses}
        for annotation in record.annotations:
            for rid, scores in annotation.ratings.items():
                if int(rid) in texts and scores:
                    entry = responses.setdefault(int(rid), _Scored(record.id, texts[int(rid)]))
                    entry.scores.append(sum(scores.values()) / len(scores))

    def pairs(self) -> Iterator[tuple[list[dict[str, str]], TextPair]]:
        for messages, responses in self.prompts.values():
            scored = sorted(responses.items())
            for i, (_, first) in enumerate(scored):
                for _, second in scored[i + 1 :]:
                    gap = sum(first.scores) / len(first.scores) - sum(second.scores) / len(second.scores)
                    if abs(gap) < MIN_RATING_GAP:
                        continue
                    chosen, rejected = (first, second) if gap > 0 else (second, first)
                    yield messages, TextPair(
                        chosen.text, rejected.text, round(abs(gap), 6), "rating", chosen.comparison_id,
                        len(first.scores) + len(second.scores),
                    )  # fmt: skip


def unanimous_winner(record: ComparisonRecord, consensus: Consensus) -> int | None:
    """The response placed above every other by the consensus, with every counted annotator agreeing (or a
    reviewer's override deciding); None when there is no such response (ties at the top, all bad, a split)."""
    if consensus.all_bad:
        return None
    everyone = {response.id for response in record.responses}
    for candidate in everyone:
        won = [pair for pair in consensus.pairs if pair.chosen_id == candidate]
        if {pair.rejected_id for pair in won} == everyone - {candidate}:
            unanimous = consensus.adjudicated or all(pair.agreement == 1 for pair in won)
            return candidate if unanimous else None
    return None


def sft_rows(record: ComparisonRecord, consensus: Consensus | None = None) -> Iterator[dict[str, Any]]:
    """One row per live edit; with `consensus`, also the comparison's unanimous winner."""
    if consensus is not None and (winner := unanimous_winner(record, consensus)) is not None:
        texts = {response.id: response.text for response in record.responses}
        yield {
            "messages": [*record.messages, {"role": "assistant", "content": texts[winner]}],
            "source": "chosen",
            "comparison_id": record.id,
            "response_id": winner,
        }
    for annotation in record.annotations:
        for edit in annotation.edits:
            yield {
                "messages": [*record.messages, {"role": "assistant", "content": edit["text"]}],
                "source": "edit",
                "comparison_id": record.id,
                "response_id": edit["edit"],
            }


def _flags(record: ComparisonRecord, response_id: int, categories: list[str]) -> tuple[bool, dict, int]:
    """(is safe, {category: flagged}, severity level 0..3) by the annotators who flagged the response:
    unsafe when at least half of them said so, with every category they named and the highest severity."""
    votes = [a.safety[str(response_id)] for a in record.annotations if str(response_id) in a.safety]
    unsafe = [vote for vote in votes if not vote["safe"]]
    is_safe = len(unsafe) * 2 < len(votes) or not votes
    named = {category for vote in unsafe for category in vote["categories"]} if not is_safe else set()
    severity = max((SEVERITY_LEVEL[vote["severity"]] for vote in unsafe), default=0) if not is_safe else 0
    return is_safe, {PKU_NAMES.get(c, c): c in named for c in categories}, severity


def _prompt_text(messages: list[dict[str, str]]) -> str:
    if len(messages) == 1:
        return messages[0]["content"]
    return transcript(messages).removesuffix("\n\nAssistant:").lstrip("\n")


def safe_rlhf_rows(record: ComparisonRecord, categories: list[str]) -> Iterator[dict[str, Any]]:
    """PKU-SafeRLHF's columns for each pair of responses with a helpful and a harmless consensus."""
    helpful = {frozenset((p.chosen_id, p.rejected_id)): p.chosen_id for p in consensus_of(record).pairs}
    harmless = {
        frozenset((p.chosen_id, p.rejected_id)): p.chosen_id for p in harmless_consensus(record).pairs
    }
    texts = {response.id: response.text for response in record.responses}
    ids = list(texts)
    prompt = _prompt_text(record.messages)
    for i, first in enumerate(ids):
        for second in ids[i + 1 :]:
            key = frozenset((first, second))
            if key not in helpful or key not in harmless:
                continue
            safe0, harm0, severity0 = _flags(record, first, categories)
            safe1, harm1, severity1 = _flags(record, second, categories)
            yield {
                "prompt": prompt,
                "response_0": texts[first],
                "response_1": texts[second],
                "is_response_0_safe": safe0,
                "is_response_1_safe": safe1,
                "response_0_harm_category": harm0,
                "response_1_harm_category": harm1,
                "response_0_severity_level": severity0,
                "response_1_severity_level": severity1,
                "better_response_id": 0 if helpful[key] == first else 1,
                "safer_response_id": 0 if harmless[key] == first else 1,
                "comparison_id": record.id,
            }


def harmless_consensus(record: ComparisonRecord) -> Consensus:
    """The consensus of the "which is safer" verdicts (the same rule as for rankings; chosen = safer)."""
    voters = [a for a in record.annotations if a.harmless_ranking]
    return consensus_of(replace(record, annotations=[replace(a, ranking=a.harmless_ranking) for a in voters]))
