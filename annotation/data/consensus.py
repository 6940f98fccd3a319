"""Consensus preferences: the one read behind exports, dataset snapshots and agreement stats.

For each comparison, every live annotation votes on every unordered pair of its responses: the first
response (in display order) better, the second better, or a tie (same ranking group; an all-bad annotation
abstains from preferring and counts as a tie). The pair's consensus is the plurality vote when it is unique;
`agreement` is the share of votes that agree with it. A consensus that prefers one side yields a
chosen/rejected pair; a consensus tie, no unique plurality, or a comparison that most annotators marked
all-bad yields no pair (those comparisons still appear in the `raw` export).

`margin` is the mean, over the agreeing annotators, of their stated strength for that pair: slight 0.5,
clear 1.0, strong 2.0. Strength is stated for the top pair only (the best response against the ones ranked
right below it), so every other pair, and a top pair without a stated strength, gets DEFAULT_MARGIN.

Rows stream from server-side cursors (inside a transaction, so no WITH HOLD materialisation) in
comparison-id order: memory stays flat however large the project, and the order is deterministic. Outside
a caller's transaction the read runs in its own REPEATABLE READ, READ ONLY transaction, so that the
cursors see one snapshot.
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from django.db import connection, transaction
from django.utils.dateparse import parse_datetime

from annotation.errors import ApplicationError
from annotation.models import Project, Split
from annotation.review.verdicts import label_trust

STRENGTH_MARGIN = {"slight": 0.5, "clear": 1.0, "strong": 2.0}
DEFAULT_MARGIN = 1.0
FIRST, SECOND, TIE = "first", "second", "tie"
CHUNK_SIZE = 2000


@dataclass(frozen=True, slots=True)
class ResponseRecord:
    id: int
    text: str
    source: str


@dataclass(frozen=True, slots=True)
class AnnotationRecord:
    id: int
    annotator_id: int
    ranking: list[list[int]]
    strength: str = ""
    all_bad: bool = False
    # Filled only when the caller asks for full records (the raw export).
    ratings: dict[str, dict[str, int]] = field(default_factory=dict)
    rationale: str = ""
    time_spent_ms: int = 0
    created_at: str = ""
    excluded: str = ""  # why it is out of consensus (review/verdicts.py); only the raw export keeps these
    # The feedback kinds of issue 11 (always read: edits make pairs and SFT rows in every format).
    edits: list[dict[str, Any]] = field(default_factory=list)  # [{response, edit, text}]
    safety: dict[str, dict[str, Any]] = field(default_factory=dict)  # {response id: {safe, categories, ...}}
    harmless_ranking: list[list[int]] | None = None


@dataclass(frozen=True, slots=True)
class ComparisonRecord:
    id: int
    created_at: str
    is_gold: bool
    prompt_external_id: str
    split: str
    messages: list[dict[str, str]]
    responses: list[ResponseRecord]  # display order
    annotations: list[AnnotationRecord]  # oldest first
    adjudicated: list[list[int]] | None = None  # a reviewer's override: the comparison's final ranking


@dataclass(frozen=True, slots=True)
class ConsensusPair:
    chosen_id: int
    rejected_id: int
    agreement: float
    margin: float
    votes: int


@dataclass(frozen=True, slots=True)
class PairVotes:
    """Every annotator's vote on one unordered pair (first/second in display order)."""

    first_id: int
    second_id: int
    votes: tuple[tuple[int, str], ...]  # (annotator_id, FIRST | SECOND | TIE)
    outcome: str | None  # the unique plurality vote, None when there is none


@dataclass(frozen=True, slots=True)
class Consensus:
    comparison_id: int
    n_annotations: int
    all_bad: bool
    pairs: list[ConsensusPair]  # chosen/rejected pairs, in display order of the pair
    pair_votes: list[PairVotes]
    adjudicated: bool = False


@dataclass(frozen=True)
class PreferenceFilters:
    """Which comparisons and annotations count. Dates bound the annotations' created_at, [since, until)."""

    split: str | None = None
    min_agreement: float | None = None
    min_annotations: int = 1
    since: datetime | None = None
    until: datetime | None = None
    policy_version: int | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "PreferenceFilters":
        """Validate a filters dict (API query, CLI options, a stored snapshot's filters)."""
        data = {key: value for key, value in (data or {}).items() if value not in (None, "")}
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ApplicationError(f"unknown filter {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
        split = data.get("split")
        if split is not None and split not in Split.values:
            raise ApplicationError(f"must be one of {', '.join(Split.values)}", field="split")
        min_agreement = _number(data, "min_agreement", float)
        if min_agreement is not None and not 0 <= min_agreement <= 1:
            raise ApplicationError("must be between 0 and 1", field="min_agreement")
        min_annotations = _number(data, "min_annotations", int)
        if min_annotations is not None and min_annotations < 1:
            raise ApplicationError("must be at least 1", field="min_annotations")
        since, until = _moment(data, "since"), _moment(data, "until")
        if since and until and since >= until:
            raise ApplicationError("must be later than since", field="until")
        return cls(
            split=split,
            min_agreement=min_agreement,
            min_annotations=min_annotations or 1,
            since=since,
            until=until,
            policy_version=_number(data, "policy_version", int),
        )

    def as_dict(self) -> dict[str, Any]:
        """The filters that differ from the defaults, JSON-ready (what a snapshot records)."""
        values = {
            "split": self.split,
            "min_agreement": self.min_agreement,
            "min_annotations": self.min_annotations if self.min_annotations != 1 else None,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "policy_version": self.policy_version,
        }
        return {key: value for key, value in sorted(values.items()) if value is not None}


def _number(data: Mapping[str, Any], name: str, kind: type) -> Any:
    if name not in data:
        return None
    value = data[name]
    try:
        if isinstance(value, bool) or (kind is int and isinstance(value, float)):
            raise ValueError
        return kind(value)
    except (TypeError, ValueError):
        raise ApplicationError(f"must be a{'n integer' if kind is int else ' number'}", field=name) from None


def _moment(data: Mapping[str, Any], name: str) -> datetime | None:
    value = data.get(name)
    if value is None or isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = parse_datetime(str(value))
        except ValueError:
            moment = None
        if moment is None:
            raise ApplicationError("must be an ISO 8601 date-time", field=name)
    if moment is None:
        return None
    offset = moment.utcoffset()
    if offset is None:
        raise ApplicationError("must include a UTC offset (e.g. 2025-01-31T00:00:00Z)", field=name)
    # Real offsets lie within +-14:00 (Postgres refuses some beyond); a moment must also exist in UTC.
    if abs(offset) > timedelta(hours=14):
        raise ApplicationError("has a UTC offset beyond +-14:00", field=name)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ApplicationError("is out of the range of dates", field=name) from None


# --- the rule, pure -------------------------------------------------------------------------------------


def _ranks(ranking: Sequence[Sequence[int]]) -> dict[int, int]:
    return {int(rid): position for position, group in enumerate(ranking) for rid in group}


def consensus_of(
    record: ComparisonRecord, outcomes: Mapping[tuple[int, int], str | None] | None = None
) -> Consensus:
    """The consensus of one comparison's (live, not excluded) annotations. Pure: no database. `outcomes`
    (Dawid-Skene's) replaces the plurality per (first, second) pair; a reviewer's override beats both."""
    annotations = [a for a in record.annotations if not a.excluded]
    n = len(annotations)
    all_bad = sum(1 for a in annotations if a.all_bad) * 2 > n and record.adjudicated is None
    if record.adjudicated is not None:
        final = _ranks(record.adjudicated)
        outcomes = {
            (a, b): TIE if final[a] == final[b] else FIRST if final[a] < final[b] else SECOND
            for a in final
            for b in final
        }
    ids = [response.id for response in record.responses]
    ranked = [(a, _ranks(a.ranking)) for a in annotations]
    pairs: list[ConsensusPair] = []
    pair_votes: list[PairVotes] = []
    for i, first in enumerate(ids):
        for second in ids[i + 1 :]:
            votes: list[tuple[int, str]] = []
            margins: dict[str, list[float]] = {FIRST: [], SECOND: []}
            for annotation, ranks in ranked:
                r1, r2 = ranks.get(first), ranks.get(second)
                if r1 is None or r2 is None:
                    continue  # not ranked by this annotation (cannot happen for validated input)
                if annotation.all_bad or r1 == r2:
                    votes.append((annotation.annotator_id, TIE))
                    continue
                vote = FIRST if r1 < r2 else SECOND
                votes.append((annotation.annotator_id, vote))
                top, below = min(r1, r2), max(r1, r2)
                is_top_pair = top == 0 and below == 1 and len(annotation.ranking[0]) == 1
                margins[vote].append(
                    STRENGTH_MARGIN.get(annotation.strength, DEFAULT_MARGIN)
                    if is_top_pair
                    else DEFAULT_MARGIN
                )
            plural = plurality([vote for _, vote in votes])
            outcome = outcomes.get((first, second), plural) if outcomes is not None else plural
            pair_votes.append(PairVotes(first, second, tuple(votes), outcome))
            if outcome in (FIRST, SECOND) and not all_bad:
                agreeing = margins[outcome]
                chosen, rejected = (first, second) if outcome == FIRST else (second, first)
                pairs.append(
                    ConsensusPair(
                        chosen_id=chosen,
                        rejected_id=rejected,
                        agreement=round(len(agreeing) / len(votes), 6) if votes else 1.0,
                        margin=round(sum(agreeing) / len(agreeing), 6) if agreeing else DEFAULT_MARGIN,
                        votes=len(votes),
                    )
                )
    return Consensus(record.id, n, all_bad, pairs, pair_votes, record.adjudicated is not None)


def plurality(votes: Sequence[str]) -> str | None:
    """The unique most common vote, None when there is none (no votes, or a tie for the most)."""
    if not votes:
        return None
    counts = {FIRST: 0, SECOND: 0, TIE: 0}
    for vote in votes:
        counts[vote] += 1
    best = max(counts.values())
    winners = [vote for vote, count in counts.items() if count == best]
    return winners[0] if len(winners) == 1 else None


# --- the query ------------------------------------------------------------------------------------------
# Three flat, ordered scans (comparisons with their prompt; their responses; their live annotations) merged
# by comparison id here. Measured on 100k annotations: ~0.2 s of database time, against ~1.5 s for one query
# that built a JSON document per comparison with correlated subqueries.

_SOURCE = "CASE WHEN r.policy_version_id IS NULL THEN r.source_model ELSE 'policy-v' || pv.version END"
_ISO = "to_json({})#>>'{{}}'"  # timestamptz as the same ISO 8601 text that JSON output uses


def _scans(filters: PreferenceFilters, full: bool) -> tuple[str, str, str]:
    # annotations_received > 0 prunes comparisons nobody annotated (the counter moves in the same
    # transaction as the annotation insert, so it never says 0 for an annotated comparison).
    where = ["c.project_id = %(project)s", "c.annotations_received > 0"]
    if filters.split:
        where.append(
            "EXISTS (SELECT 1 FROM annotation_prompt sp WHERE sp.id = c.prompt_id AND sp.split = %(split)s)"
        )
    if filters.policy_version is not None:
        where.append(
            "EXISTS (SELECT 1 FROM annotation_comparisonitem ci2"
            " JOIN annotation_response r2 ON r2.id = ci2.response_id"
            " JOIN annotation_policyversion pv2 ON pv2.id = r2.policy_version_id"
            " WHERE ci2.comparison_id = c.id AND pv2.version = %(policy_version)s)"
        )
    comparisons = " AND ".join(where)
    annotation_where = ["a.is_live"]
    if filters.since:
        annotation_where.append("a.created_at >= %(since)s")
    if filters.until:
        annotation_where.append("a.created_at < %(until)s")
    fields = (
        "a.comparison_id, a.id, a.annotator_id, a.ranking::text, a.strength, a.all_bad,"
        " a.edits::text, a.safety::text, a.harmless_ranking::text"
    )
    if full:
        fields += f", a.ratings::text, a.rationale, a.time_spent_ms, {_ISO.format('a.created_at')}"
    return (
        f"""SELECT c.id, {_ISO.format("c.created_at")}, c.is_gold, p.external_id, p.split, p.messages::text
            FROM annotation_comparison c JOIN annotation_prompt p ON p.id = c.prompt_id
            WHERE {comparisons} ORDER BY c.id""",
        f"""SELECT ci.comparison_id, r.id, r.text, {_SOURCE}
            FROM annotation_comparison c
            JOIN annotation_comparisonitem ci ON ci.comparison_id = c.id
            JOIN annotation_response r ON r.id = ci.response_id
            LEFT JOIN annotation_policyversion pv ON pv.id = r.policy_version_id
            WHERE {comparisons} ORDER BY ci.comparison_id, ci.position""",
        f"""SELECT {fields}
            FROM annotation_comparison c JOIN annotation_annotation a ON a.comparison_id = c.id
            WHERE {comparisons} AND {" AND ".join(annotation_where)} ORDER BY a.comparison_id, a.id""",
    )


class _Rows:
    """A server-side cursor read in chunks, with the next row's comparison id at hand for merging."""

    def __init__(self, cursor: Any, chunk_size: int) -> None:
        self.cursor = cursor
        self.chunk_size = chunk_size
        self.rows: list[Any] = []
        self.index = 0
        self._fill()

    def _fill(self) -> None:
        self.rows = self.cursor.fetchmany(self.chunk_size)
        self.index = 0

    def take(self, comparison_id: int) -> list[Any]:
        """The rows of comparison_id (skipping any of earlier ids)."""
        taken = []
        while self.rows:
            row = self.rows[self.index]
            if row[0] > comparison_id:
                break
            if row[0] == comparison_id:
                taken.append(row)
            self.index += 1
            if self.index == len(self.rows):
                self._fill()
        return taken


def _annotation(row: Sequence[Any], full: bool) -> AnnotationRecord:
    _, aid, uid, ranking, strength, all_bad, edits, safety, harmless = row[:9]
    feedback = {
        "edits": orjson.loads(edits),
        "safety": orjson.loads(safety),
        "harmless_ranking": orjson.loads(harmless) if harmless is not None else None,
    }
    if full:
        ratings, rationale, spent, at = row[9:]
        return AnnotationRecord(
            aid, uid, orjson.loads(ranking), strength, all_bad, orjson.loads(ratings), rationale, spent, at,
            **feedback,
        )  # fmt: skip
    return AnnotationRecord(aid, uid, orjson.loads(ranking), strength, all_bad, **feedback)


def comparison_records(
    *,
    project: Project,
    filters: PreferenceFilters | None = None,
    full: bool = False,
    chunk_size: int = CHUNK_SIZE,
    keep_excluded: bool = False,
) -> Iterator[ComparisonRecord]:
    """Every comparison of the project with at least filters.min_annotations live annotations (within the
    date range), its prompt, responses in display order and annotations, in comparison-id order. `full` adds
    ratings, rationale, time spent and timestamps (the raw export). Annotations that review rejected, or of
    excluded annotators, are left out unless `keep_excluded` (then marked). Streams from server cursors."""
    filters = filters or PreferenceFilters()
    trust = label_trust(project=project)
    params = {
        "project": project.pk,
        "split": filters.split,
        "since": filters.since,
        "until": filters.until,
        "policy_version": filters.policy_version,
    }
    comparisons_sql, responses_sql, annotations_sql = _scans(filters, full)
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        with connection.cursor() as setup:
            if outermost:
                # The three cursors below are declared one after another; under READ COMMITTED each would
                # see its own snapshot, and an annotation committed in between would be in one scan but
                # not another. One REPEATABLE READ snapshot makes them agree. (Nested in a caller's
                # transaction, its isolation level applies: SET TRANSACTION must be its first statement.)
                setup.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            # Cost estimates of big scans make the planner JIT-compile, which took longer than the query.
            # The default cursor_tuple_fraction (plan for a fast start) is kept on purpose: it picks index
            # walks in comparison order whose cost follows the project, where whole-result plans sorted
            # seq scans of every project's rows (measured with a 100k project beside a 1M one).
            setup.execute("SET LOCAL jit = off")
            setup.execute("SET LOCAL work_mem = '32MB'")
        with (
            connection.chunked_cursor() as comparisons,
            connection.chunked_cursor() as responses,
            connection.chunked_cursor() as annotations,
        ):
            comparisons.execute(comparisons_sql, params)
            responses.execute(responses_sql, params)
            annotations.execute(annotations_sql, params)
            response_rows, annotation_rows = _Rows(responses, chunk_size), _Rows(annotations, chunk_size)
            while chunk := comparisons.fetchmany(chunk_size):
                for comparison_id, created_at, is_gold, external_id, split, messages in chunk:
                    items = response_rows.take(comparison_id)
                    votes = [_annotation(row, full) for row in annotation_rows.take(comparison_id)]
                    marked = trust.mark(comparison_id, votes, keep_excluded)
                    counted = len(marked) if keep_excluded else sum(not a.excluded for a in marked)
                    if counted < filters.min_annotations and comparison_id not in trust.overrides:
                        continue
                    yield ComparisonRecord(
                        id=comparison_id,
                        created_at=created_at,
                        is_gold=is_gold,
                        prompt_external_id=external_id,
                        split=split,
                        messages=[
                            {"role": m["role"], "content": m["content"]} for m in orjson.loads(messages)
                        ],
                        responses=[ResponseRecord(rid, text, source) for _, rid, text, source in items],
                        annotations=marked,
                        adjudicated=trust.overrides.get(comparison_id),
                    )
        # Nothing here writes, so ending in a rollback loses nothing; in a caller's transaction it rolls back
        # to this block's savepoint, which undoes the SET LOCALs above instead of leaking them to the caller.
        # (An exception or a stream closed early rolls back anyway.)
        transaction.set_rollback(True)


def project_consensus(
    *, project: Project, filters: PreferenceFilters | None = None, full: bool = False
) -> Iterator[tuple[ComparisonRecord, Consensus]]:
    """Each matching comparison with its consensus (see the module docstring for the rule)."""
    for record in comparison_records(project=project, filters=filters, full=full):
        yield record, consensus_of(record)
