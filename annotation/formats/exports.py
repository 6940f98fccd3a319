"""The export formats of DESIGN section 7. Pure functions from a comparison (and its consensus) to rows:
no database, so each format is testable on hand-made records and shared by the API, the CLI and snapshots.

- `trl`: TRL's conversational preference format, one row per consensus pair:
  {prompt: [messages], chosen: [assistant msg], rejected: [assistant msg], margin, comparison_id,
   n_annotations, agreement}
- `trl-standard`: the same with prompt/chosen/rejected as text. The prompt is the HH-style transcript
  ("\\n\\nHuman: ...\\n\\nAssistant:") and a response is " " + its text, so prompt + chosen is exactly the
  `hh-rlhf` chosen transcript.
- `hh-rlhf`: {chosen, rejected} as full transcripts sharing the conversation as their prefix.
- `raw`: one row per live annotation, with the comparison, prompt, responses and their sources, and the
  annotator's pseudonym (never a user id or name); `excluded` says why an annotation is out of the
  consensus ("rejected" by review, "flagged" annotator), null when it counts; with its edits, harm flags
  and harmless ranking.
- pair rows carry `adjudicated` (true where a reviewer's override is the consensus) and `kind`: "ranking"
  (consensus), "edit" (edited over original) or "rating" (a scoring project's rating differences, added by
  the export stream); `sft`, `safe-rlhf` and `trl-harmless` (the "which is safer" consensus as trl rows) are
  built in annotation/feedback/rows.py.
"""

from collections.abc import Callable, Iterator
from typing import Any

import orjson

from annotation.data.consensus import ComparisonRecord, Consensus
from annotation.feedback.rows import TextPair, edit_pairs, harmless_consensus, safe_rlhf_rows, sft_rows
from annotation.formats.transcripts import TRANSCRIPT_ROLES, transcript

FORMATS = ("trl", "trl-standard", "hh-rlhf", "raw", "sft", "safe-rlhf", "trl-harmless")
PAIR_FORMATS = ("trl", "trl-standard", "hh-rlhf")
__all__ = ["FORMATS", "PAIR_FORMATS", "TRANSCRIPT_ROLES", "format_rows", "pair_row", "transcript"]


def ranking_pairs(
    record: ComparisonRecord, consensus: Consensus, min_agreement: float | None = None, kind: str = "ranking"
) -> Iterator[TextPair]:
    texts = {response.id: response.text for response in record.responses}
    for pair in consensus.pairs:
        if min_agreement is not None and pair.agreement < min_agreement:
            continue
        yield TextPair(
            texts[pair.chosen_id], texts[pair.rejected_id], pair.margin, kind, record.id,
            consensus.n_annotations, pair.agreement, consensus.adjudicated,
        )  # fmt: skip


def record_pairs(
    record: ComparisonRecord, consensus: Consensus, min_agreement: float | None = None
) -> Iterator[TextPair]:
    """The consensus pairs of a comparison's rankings, then its edited-over-original pairs."""
    yield from ranking_pairs(record, consensus, min_agreement)
    yield from edit_pairs(record)


def pair_row(fmt: str, messages: list[dict[str, str]], pair: TextPair) -> dict[str, Any]:
    """One preference pair as a row of a pair format (`trl`, `trl-standard` or `hh-rlhf`)."""
    if fmt == "trl":
        chosen: Any = [{"role": "assistant", "content": pair.chosen}]
        rejected: Any = [{"role": "assistant", "content": pair.rejected}]
        prompt: Any = messages
    else:
        prompt, chosen, rejected = transcript(messages), " " + pair.chosen, " " + pair.rejected
        if fmt == "hh-rlhf":
            return {"chosen": prompt + chosen, "rejected": prompt + rejected}
    return {
        "prompt": prompt,
        "chosen": chosen,
        "rejected": rejected,
        "margin": pair.margin,
        "comparison_id": pair.comparison_id,
        "n_annotations": pair.n_annotations,
        "agreement": pair.agreement,
        "adjudicated": pair.adjudicated,
        "kind": pair.kind,
    }


def trl_rows(
    record: ComparisonRecord, consensus: Consensus, min_agreement: float | None = None
) -> Iterator[dict]:
    for pair in record_pairs(record, consensus, min_agreement):
        yield pair_row("trl", record.messages, pair)


def trl_standard_rows(
    record: ComparisonRecord, consensus: Consensus, min_agreement: float | None = None
) -> Iterator[dict]:
    for pair in record_pairs(record, consensus, min_agreement):
        yield pair_row("trl-standard", record.messages, pair)


def hh_rlhf_rows(
    record: ComparisonRecord, consensus: Consensus, min_agreement: float | None = None
) -> Iterator[dict]:
    for pair in record_pairs(record, consensus, min_agreement):
        yield pair_row("hh-rlhf", record.messages, pair)


def trl_harmless_rows(record: ComparisonRecord, min_agreement: float | None = None) -> Iterator[dict]:
    """The "which is safer" consensus as `trl` rows (chosen = safer), what the cost model trains on."""
    for pair in ranking_pairs(record, harmless_consensus(record), min_agreement, kind="harmless"):
        yield pair_row("trl", record.messages, pair)


def raw_rows(record: ComparisonRecord, pseudonym: Callable[[int], str]) -> Iterator[dict]:
    prompt = {"external_id": record.prompt_external_id, "split": record.split, "messages": record.messages}
    responses = [{"id": r.id, "text": r.text, "source": r.source} for r in record.responses]
    for annotation in record.annotations:
        yield {
            "annotation_id": annotation.id,
            "comparison_id": record.id,
            "is_gold": record.is_gold,
            "prompt": prompt,
            "responses": responses,
            "ranking": annotation.ranking,
            "strength": annotation.strength,
            "all_bad": annotation.all_bad,
            "ratings": annotation.ratings,
            "edits": annotation.edits,
            "safety": annotation.safety,
            "harmless_ranking": annotation.harmless_ranking,
            "rationale": annotation.rationale,
            "time_spent_ms": annotation.time_spent_ms,
            "annotator": pseudonym(annotation.annotator_id),
            "created_at": annotation.created_at,
            "comparison_created_at": record.created_at,
            "excluded": annotation.excluded or None,
        }


def format_rows(
    fmt: str,
    record: ComparisonRecord,
    consensus: Consensus | None,
    *,
    min_agreement: float | None = None,
    pseudonym: Callable[[int], str] | None = None,
    categories: list[str] | None = None,
    include_chosen: bool = False,
) -> Iterator[dict]:
    """The rows of one comparison in format `fmt` (one of FORMATS); `categories` are the project's harm
    category slugs (the safe-rlhf columns); `include_chosen`: sft rows of the unanimous winner too."""
    if fmt == "raw":
        assert pseudonym is not None
        return raw_rows(record, pseudonym)
    if fmt == "sft":
        return sft_rows(record, consensus if include_chosen else None)
    if fmt == "safe-rlhf":
        return safe_rlhf_rows(record, categories or [])
    if fmt == "trl-harmless":
        return trl_harmless_rows(record, min_agreement)
    assert consensus is not None
    builder = {"trl": trl_rows, "trl-standard": trl_standard_rows, "hh-rlhf": hh_rlhf_rows}[fmt]
    return builder(record, consensus, min_agreement)


def _encode(obj: Any) -> str:
    # orjson: compact, UTF-8, key order as built; several times faster than json, which bounded exports.
    return orjson.dumps(obj).decode()


def ndjson_line(row: dict[str, Any]) -> bytes:
    """One row as a line of NDJSON: compact, UTF-8, key order as built (so equal data gives equal bytes)."""
    return orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE)


def raw_lines(record: ComparisonRecord, pseudonym: Callable[[int], str]) -> Iterator[bytes]:
    """Exactly ndjson_line(row) for each row of raw_rows(record, pseudonym) (a test holds them equal), but
    the prompt and responses every annotation of the comparison repeats are encoded once, not per row."""
    shared = _encode(
        {
            "comparison_id": record.id,
            "is_gold": record.is_gold,
            "prompt": {
                "external_id": record.prompt_external_id,
                "split": record.split,
                "messages": record.messages,
            },
            "responses": [{"id": r.id, "text": r.text, "source": r.source} for r in record.responses],
        }
    )[1:-1]
    for annotation in record.annotations:
        own = _encode(
            {
                "ranking": annotation.ranking,
                "strength": annotation.strength,
                "all_bad": annotation.all_bad,
                "ratings": annotation.ratings,
                "edits": annotation.edits,
                "safety": annotation.safety,
                "harmless_ranking": annotation.harmless_ranking,
                "rationale": annotation.rationale,
                "time_spent_ms": annotation.time_spent_ms,
                "annotator": pseudonym(annotation.annotator_id),
                "created_at": annotation.created_at,
                "comparison_created_at": record.created_at,
                "excluded": annotation.excluded or None,
            }
        )
        yield f'{{"annotation_id":{int(annotation.id)},{shared},{own[1:]}\n'.encode()


PARQUET_BATCH_ROWS = 10_000


def parquet_schema(fmt: str) -> Any:
    """The Arrow schema of a format's rows. Raw `ratings` (keyed by response id, so no fixed shape) is stored
    as a JSON string; timestamps stay ISO 8601 strings as in NDJSON."""
    import pyarrow as pa

    message = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
    pair = [
        ("margin", pa.float64()),
        ("comparison_id", pa.int64()),
        ("n_annotations", pa.int64()),
        ("agreement", pa.float64()),
        ("adjudicated", pa.bool_()),
        ("kind", pa.string()),
    ]
    if fmt in ("trl", "trl-harmless"):
        return pa.schema([("prompt", message), ("chosen", message), ("rejected", message), *pair])
    if fmt == "trl-standard":
        return pa.schema([("prompt", pa.string()), ("chosen", pa.string()), ("rejected", pa.string()), *pair])
    if fmt == "hh-rlhf":
        return pa.schema([("chosen", pa.string()), ("rejected", pa.string())])
    if fmt == "sft":
        return pa.schema(
            [("messages", message), ("source", pa.string()), ("comparison_id", pa.int64()),
             ("response_id", pa.int64())]
        )  # fmt: skip
    if fmt == "safe-rlhf":
        # The harm categories ({category: bool}, the project's own keys) are JSON strings here.
        return pa.schema(
            [("prompt", pa.string()), ("response_0", pa.string()), ("response_1", pa.string()),
             ("is_response_0_safe", pa.bool_()), ("is_response_1_safe", pa.bool_()),
             ("response_0_harm_category", pa.string()), ("response_1_harm_category", pa.string()),
             ("response_0_severity_level", pa.int64()), ("response_1_severity_level", pa.int64()),
             ("better_response_id", pa.int64()), ("safer_response_id", pa.int64()),
             ("comparison_id", pa.int64())]
        )  # fmt: skip
    prompt = pa.struct([("external_id", pa.string()), ("split", pa.string()), ("messages", message)])
    response = pa.struct([("id", pa.int64()), ("text", pa.string()), ("source", pa.string())])
    return pa.schema(
        [
            ("annotation_id", pa.int64()),
            ("comparison_id", pa.int64()),
            ("is_gold", pa.bool_()),
            ("prompt", prompt),
            ("responses", pa.list_(response)),
            ("ranking", pa.list_(pa.list_(pa.int64()))),
            ("strength", pa.string()),
            ("all_bad", pa.bool_()),
            ("ratings", pa.string()),
            (
                "edits",
                pa.list_(pa.struct([("response", pa.int64()), ("edit", pa.int64()), ("text", pa.string())])),
            ),
            ("safety", pa.string()),
            ("harmless_ranking", pa.list_(pa.list_(pa.int64()))),
            ("rationale", pa.string()),
            ("time_spent_ms", pa.int64()),
            ("annotator", pa.string()),
            ("created_at", pa.string()),
            ("comparison_created_at", pa.string()),
            ("excluded", pa.string()),
        ]
    )


def parquet_batches(
    fmt: str, rows: Iterator[dict], batch_rows: int = PARQUET_BATCH_ROWS, emit_empty: bool = False
) -> Iterator[Any]:
    """Rows as pyarrow Tables of at most batch_rows rows each, all with parquet_schema(fmt)."""
    import pyarrow as pa

    schema = parquet_schema(fmt)
    batch: list[dict] = []
    emitted = False
    for row in rows:
        if fmt == "raw":
            row = {**row, "ratings": _encode(row["ratings"]), "safety": _encode(row["safety"])}
        elif fmt == "safe-rlhf":
            row = {
                **row,
                "response_0_harm_category": _encode(row["response_0_harm_category"]),
                "response_1_harm_category": _encode(row["response_1_harm_category"]),
            }
        batch.append(row)
        if len(batch) >= batch_rows:
            yield pa.Table.from_pylist(batch, schema=schema)
            batch, emitted = [], True
    if batch or (emit_empty and not emitted):
        yield pa.Table.from_pylist(batch, schema=schema)
