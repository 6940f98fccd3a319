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
  consensus ("rejected" by review, "flagged" annotator), null when it counts.
- pair rows carry `adjudicated`: true where a reviewer's override is the consensus.
"""

from collections.abc import Callable, Iterator
from typing import Any

import orjson

from annotation.data.consensus import ComparisonRecord, Consensus

FORMATS = ("trl", "trl-standard", "hh-rlhf", "raw")
PAIR_FORMATS = ("trl", "trl-standard", "hh-rlhf")
TRANSCRIPT_ROLES = {"system": "System", "user": "Human", "assistant": "Assistant"}


def transcript(messages: list[dict[str, str]]) -> str:
    """A conversation as an HH-RLHF transcript ending with the assistant's turn to speak."""
    turns = "".join(f"\n\n{TRANSCRIPT_ROLES[m['role']]}: {m['content']}" for m in messages)
    return turns + "\n\nAssistant:"


def trl_rows(
    record: ComparisonRecord, consensus: Consensus, min_agreement: float | None = None
) -> Iterator[dict]:
    texts = {response.id: response.text for response in record.responses}
    for pair in consensus.pairs:
        if min_agreement is not None and pair.agreement < min_agreement:
            continue
        yield {
            "prompt": record.messages,
            "chosen": [{"role": "assistant", "content": texts[pair.chosen_id]}],
            "rejected": [{"role": "assistant", "content": texts[pair.rejected_id]}],
            "margin": pair.margin,
            "comparison_id": record.id,
            "n_annotations": consensus.n_annotations,
            "agreement": pair.agreement,
            "adjudicated": consensus.adjudicated,
        }


def trl_standard_rows(
    record: ComparisonRecord, consensus: Consensus, min_agreement: float | None = None
) -> Iterator[dict]:
    prompt = transcript(record.messages)
    texts = {response.id: response.text for response in record.responses}
    for pair in consensus.pairs:
        if min_agreement is not None and pair.agreement < min_agreement:
            continue
        yield {
            "prompt": prompt,
            "chosen": " " + texts[pair.chosen_id],
            "rejected": " " + texts[pair.rejected_id],
            "margin": pair.margin,
            "comparison_id": record.id,
            "n_annotations": consensus.n_annotations,
            "agreement": pair.agreement,
            "adjudicated": consensus.adjudicated,
        }


def hh_rlhf_rows(
    record: ComparisonRecord, consensus: Consensus, min_agreement: float | None = None
) -> Iterator[dict]:
    for row in trl_standard_rows(record, consensus, min_agreement):
        yield {"chosen": row["prompt"] + row["chosen"], "rejected": row["prompt"] + row["rejected"]}


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
) -> Iterator[dict]:
    """The rows of one comparison in format `fmt` (one of FORMATS)."""
    if fmt == "raw":
        assert pseudonym is not None
        return raw_rows(record, pseudonym)
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
    ]
    if fmt == "trl":
        return pa.schema([("prompt", message), ("chosen", message), ("rejected", message), *pair])
    if fmt == "trl-standard":
        return pa.schema([("prompt", pa.string()), ("chosen", pa.string()), ("rejected", pa.string()), *pair])
    if fmt == "hh-rlhf":
        return pa.schema([("chosen", pa.string()), ("rejected", pa.string())])
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
            row = {**row, "ratings": _encode(row["ratings"])}
        batch.append(row)
        if len(batch) >= batch_rows:
            yield pa.Table.from_pylist(batch, schema=schema)
            batch, emitted = [], True
    if batch or (emit_empty and not emitted):
        yield pa.Table.from_pylist(batch, schema=schema)
