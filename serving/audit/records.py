"""Result and error records: the one serialization every engine writes, and the Parquet schema."""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from model.labels import LABELS
from model.rules import Entities, Evidence

if TYPE_CHECKING:
    import pyarrow as pa

    from model.classifier import Classifier, Result

logger = logging.getLogger(__name__)

# (line, id, text or None, reason or None): a readable post has text, a bad row has a reason.
Item = tuple[int, "str | None", "str | None", "str | None"]


# (line, is_error, encoded JSONL line, decision, engine); decision and engine are None for errors.
Entry = tuple[int, bool, bytes, "str | None", "str | None"]


@dataclass(slots=True)
class BatchOutput:
    """One classified batch: one encoded record per input item, in input order."""

    entries: list[Entry] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.entries)

    @property
    def last_line(self) -> int:
        return self.entries[-1][0]

    @property
    def result_lines(self) -> list[bytes]:
        return [e[2] for e in self.entries if not e[1]]

    @property
    def error_lines(self) -> list[bytes]:
        return [e[2] for e in self.entries if e[1]]

    def counts(self) -> tuple[Counter[str], Counter[str]]:
        """Results per decision and per engine."""
        decisions: Counter[str] = Counter()
        engines: Counter[str] = Counter()
        for _, is_error, _, decision, engine in self.entries:
            if not is_error:
                decisions[decision or "?"] += 1
                engines[engine or "?"] += 1
        return decisions, engines


def encode(record: dict[str, Any]) -> bytes:
    """One JSONL line, byte-identical for the same record whichever engine wrote it."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


_EVIDENCE_FIELDS = tuple(f.name for f in fields(Evidence))
_ENTITY_FIELDS = tuple(f.name for f in fields(Entities))


def result_record(line: int, ident: str | None, result: "Result") -> dict[str, Any]:
    """The audit record of one classified post: ``Result.to_dict()`` plus id, line and flat scores.

    Built field by field rather than through ``to_dict()`` (``dataclasses.asdict`` deep-copies,
    a third of the audit's time); a test keeps the two equal.
    """
    return {
        "id": ident,
        "line": line,
        "decision": result.decision,
        "scores": {item["label"]: item["score"] for item in result.labels},
        "labels": result.labels,
        "evidence": [{name: getattr(e, name) for name in _EVIDENCE_FIELDS} for e in result.evidence],
        "entities": {name: getattr(result.entities, name) for name in _ENTITY_FIELDS},
        "engine": result.engine,
        "model_version": result.model_version,
        "lexicon_version": result.lexicon_version,
        "notes": result.notes,
    }


def error_record(line: int, ident: str | None, reason: str) -> dict[str, Any]:
    """The audit record of a row that could not be classified."""
    return {"id": ident, "line": line, "reason": reason}


def classify_items(clf: "Classifier", items: Sequence[Item]) -> BatchOutput:
    """Classify the readable items of a batch in one call; every item yields exactly one line."""
    if not items:
        raise ValueError("classify_items() needs at least one item")
    posts = [(item[0], item[2]) for item in items if item[3] is None and item[2] is not None]
    outcome: dict[int, Result | str] = {}  # line -> result, or why the row has none
    try:
        batch = clf.classify_batch([text for _, text in posts])
        outcome.update((line, result) for (line, _), result in zip(posts, batch))
    except Exception:  # one bad post must not sink its batch: retry one by one
        logger.exception("batch ending at line %d failed; classifying its posts one at a time", items[-1][0])
        for line, text in posts:
            try:
                outcome[line] = clf.classify(text)
            except Exception as exc:  # noqa: BLE001 - recorded as this row's error
                outcome[line] = f"classifier error: {type(exc).__name__}: {exc}"
    out = BatchOutput()
    for line, ident, _, reason in items:
        got = outcome.get(line, reason or "missing text")
        if isinstance(got, str):
            out.entries.append((line, True, encode(error_record(line, ident, got)), None, None))
        else:
            out.entries.append((line, False, encode(result_record(line, ident, got)), got.decision, got.engine))
    return out


# --- Parquet -----------------------------------------------------------------------------------
def parquet_schema() -> "pa.Schema":
    """Columns of a Parquet results file (the JSONL record, typed)."""
    import pyarrow as pa

    label_item = pa.struct([
        ("label", pa.string()), ("score", pa.float64()), ("action", pa.string()),
        ("reason_code", pa.string()), ("rule_score", pa.float64()),
        ("model_score", pa.float64()), ("linear_score", pa.float64()),
    ])
    evidence_item = pa.struct([
        ("label", pa.string()), ("kind", pa.string()), ("rule_id", pa.string()), ("matched", pa.string()),
        ("start", pa.int64()), ("end", pa.int64()), ("weight", pa.float64()),
    ])
    entities = pa.struct([
        ("urls", pa.list_(pa.string())), ("domains", pa.list_(pa.string())),
        ("handles", pa.list_(pa.struct([("kind", pa.string()), ("value", pa.string())]))),
        ("invite_codes", pa.list_(pa.string())),
        ("wallets", pa.list_(pa.struct([("kind", pa.string()), ("address", pa.string())]))),
    ])
    return pa.schema([
        ("id", pa.string()), ("line", pa.int64()), ("decision", pa.string()),
        ("scores", pa.struct([(label, pa.float64()) for label in LABELS])),
        ("labels", pa.list_(label_item)), ("evidence", pa.list_(evidence_item)), ("entities", entities),
        ("engine", pa.string()), ("model_version", pa.string()), ("lexicon_version", pa.string()),
        ("notes", pa.list_(pa.string())),
    ])


def jsonl_to_parquet(src: Path, dest: Path, *, chunk_rows: int = 10_000) -> int:
    """Convert a JSONL results file to Parquet in bounded chunks; returns the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = parquet_schema()
    rows = 0
    with pq.ParquetWriter(dest, schema, compression="zstd") as writer, src.open("rb") as fh:
        chunk: list[dict[str, Any]] = []
        for raw in fh:
            chunk.append(json.loads(raw))
            if len(chunk) >= chunk_rows:
                writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
                rows += len(chunk)
                chunk.clear()
        if chunk or rows == 0:
            writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
            rows += len(chunk)
    return rows


def iter_results(path: Path, fmt: str | None = None) -> Iterator[dict[str, Any]]:
    """Stream the records of a results file, ``fmt`` "jsonl" or "parquet" (default: by suffix)."""
    if fmt is None:
        fmt = "parquet" if path.suffix.lower() in (".parquet", ".pq") else "jsonl"
    if fmt not in ("jsonl", "parquet"):
        raise ValueError(f"unknown results format {fmt!r}; expected jsonl or parquet")
    if fmt == "parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
            for row in batch.to_pylist():
                row["labels"] = [{k: v for k, v in item.items() if v is not None or k == "reason_code"}
                                 for item in row["labels"]]
                yield row
        return
    with path.open("rb") as fh:
        for raw in fh:
            yield json.loads(raw)


def count_lines(path: Path) -> int:
    """Newline count of a file (0 when it does not exist)."""
    if not path.exists():
        return 0
    n = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            n += chunk.count(b"\n")
    return n
