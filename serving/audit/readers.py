"""Streaming readers for post batches: JSONL, CSV/TSV and Parquet, gzip accepted.

Every reader yields, in input order, a :class:`Post` for a readable row or a :class:`BadRow`
naming why a row could not be read (blank, invalid JSON, missing text, wrong type,
undecodable). ``line`` is the 1-based physical line for JSONL, the line a record starts on for
CSV (the header is line 1) and the 1-based row index for Parquet. Memory stays bounded: rows
are read one at a time (Parquet: one record batch at a time).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import re
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Iterator

logger = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = ("jsonl", "csv", "tsv", "parquet")
_SUFFIXES: dict[str, str] = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".csv": "csv", ".tsv": "tsv",
    ".parquet": "parquet", ".pq": "parquet",
}
_GZIP_MAGIC = b"\x1f\x8b"
_SURROGATE = re.compile("[\ud800-\udfff]")
_PARQUET_BATCH_ROWS = 4096
_CSV_FIELD_LIMIT = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Post:
    """A readable row."""

    line: int
    id: str | None
    text: str


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row that could not be read, and why."""

    line: int
    id: str | None
    reason: str


Record = Post | BadRow


@dataclass(frozen=True, slots=True)
class InputSpec:
    """Where and how to read posts."""

    path: Path
    format: str
    gzipped: bool
    text_col: str = "text"
    id_col: str = "id"


def open_input(path: str | Path, *, fmt: str | None = None, text_col: str = "text",
               id_col: str = "id") -> InputSpec:
    """Check ``path`` and resolve its format (from ``fmt`` or the file name) and compression."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"input file not found: {p}")
    if not isinstance(text_col, str) or not text_col:
        raise ValueError(f"text column must be a non-empty string, got {text_col!r}")
    if not isinstance(id_col, str) or not id_col:
        raise ValueError(f"id column must be a non-empty string, got {id_col!r}")
    with p.open("rb") as fh:
        gzipped = fh.read(2) == _GZIP_MAGIC
    if fmt is None:
        name = p.name.lower()
        if name.endswith(".gz"):
            name = name[:-3]
        fmt = _SUFFIXES.get(Path(name).suffix)
        if fmt is None:
            raise ValueError(f"cannot tell the format of {p.name!r} from its name; "
                             f"pass an input format, one of {', '.join(FORMATS)}")
    elif fmt not in FORMATS:
        raise ValueError(f"unknown input format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "parquet" and gzipped:
        raise ValueError(f"{p}: gzip-compressed Parquet is not supported (Parquet compresses internally)")
    return InputSpec(p, fmt, gzipped, text_col, id_col)


def iter_records(spec: InputSpec, *, start_after: int = 0) -> Iterator[Record]:
    """Yield every record of ``spec`` whose line number is above ``start_after``, in order."""
    if start_after < 0:
        raise ValueError(f"start_after must be >= 0, got {start_after}")
    if spec.format == "jsonl":
        return _iter_jsonl(spec, start_after)
    if spec.format in ("csv", "tsv"):
        return _iter_csv(spec, start_after)
    return _iter_parquet(spec, start_after)


def count_rows(spec: InputSpec) -> int | None:
    """Number of records (Parquet: exact; plain JSONL: line count; plain CSV: estimate; gzip: None)."""
    if spec.format == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(spec.path).metadata.num_rows)
    if spec.gzipped:
        return None
    lines, last = 0, b"\n"
    with spec.path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1
    return lines if spec.format == "jsonl" else max(lines - 1, 0)


def format_id(value: Any) -> str | None:
    """Ids are written as strings (``None`` when absent) so every format and engine agrees."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, sort_keys=True)
        except (TypeError, ValueError):
            text = str(value)
    if _SURROGATE.search(text):
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


# --- JSONL -------------------------------------------------------------------------------------
def _open_binary(spec: InputSpec) -> IO[bytes]:
    if spec.gzipped:
        return gzip.open(spec.path, "rb")  # type: ignore[return-value]
    return spec.path.open("rb")


def _iter_jsonl(spec: InputSpec, start_after: int) -> Iterator[Record]:
    number = 0
    with _open_binary(spec) as fh:
        try:
            for number, raw in enumerate(fh, start=1):
                if number <= start_after:
                    continue
                yield _parse_json_line(number, raw, spec)
        except (EOFError, OSError, zlib.error) as exc:
            raise ValueError(f"{spec.path}: unreadable after line {number}: {exc}") from exc


def _parse_json_line(number: int, raw: bytes, spec: InputSpec) -> Record:
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return BadRow(number, _salvage_id(raw, spec.id_col), f"undecodable: invalid UTF-8 at byte {exc.start}")
    line = line.strip().lstrip("\ufeff") if number == 1 else line.strip()  # a byte-order mark
    if not line:
        return BadRow(number, None, "blank line")
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return BadRow(number, None, f"invalid JSON: {exc.msg} at column {exc.colno}")
    except RecursionError:
        return BadRow(number, None, "invalid JSON: nested too deeply")
    if not isinstance(obj, dict):
        return BadRow(number, None, f"not a JSON object ({type(obj).__name__})")
    ident = format_id(obj.get(spec.id_col))
    return _check_text(number, ident, obj.get(spec.text_col, _MISSING), spec.text_col)


_MISSING = object()


def _salvage_id(raw: bytes, id_col: str) -> str | None:
    """The id of an undecodable line, when the rest of the line still parses."""
    try:
        obj = json.loads(raw.decode("utf-8", "replace"))
    except (json.JSONDecodeError, RecursionError):
        return None
    return format_id(obj.get(id_col)) if isinstance(obj, dict) else None


def _check_text(number: int, ident: str | None, text: Any, col: str) -> Record:
    if text is _MISSING:
        return BadRow(number, ident, f"missing text: no {col!r} field")
    if text is None:
        return BadRow(number, ident, f"missing text: {col!r} is null")
    if not isinstance(text, str):
        return BadRow(number, ident, f"wrong type: {col!r} is {type(text).__name__}, expected string")
    if _SURROGATE.search(text):
        return BadRow(number, ident, f"undecodable: {col!r} holds invalid UTF-8 or an unpaired surrogate")
    return Post(number, ident, text)


# --- CSV / TSV ---------------------------------------------------------------------------------
def _iter_csv(spec: InputSpec, start_after: int) -> Iterator[Record]:
    csv.field_size_limit(min(sys.maxsize, _CSV_FIELD_LIMIT))  # process-wide; the default 128 KiB is too small
    delimiter = "\t" if spec.format == "tsv" else ","
    with _open_binary(spec) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")
        reader = csv.reader(text, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            return
        if spec.text_col not in header:
            raise ValueError(f"{spec.path}: text column {spec.text_col!r} not in the header {header}")
        text_idx = header.index(spec.text_col)
        id_idx = header.index(spec.id_col) if spec.id_col in header else None
        if id_idx is None:
            logger.info("%s: no id column %r; ids will be empty", spec.path, spec.id_col)
        while True:
            number = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if number > start_after:
                    yield BadRow(number, None, f"malformed CSV: {exc}")
                continue
            except (EOFError, OSError, zlib.error) as exc:
                raise ValueError(f"{spec.path}: unreadable after line {number - 1}: {exc}") from exc
            if number <= start_after:
                continue
            yield _csv_record(number, row, text_idx, id_idx, spec.text_col)


def _csv_record(number: int, row: list[str], text_idx: int, id_idx: int | None, col: str) -> Record:
    if not row:
        return BadRow(number, None, "blank line")
    ident = format_id(row[id_idx]) if id_idx is not None and id_idx < len(row) and row[id_idx] else None
    if text_idx >= len(row):
        return BadRow(number, ident, f"missing text: row has {len(row)} field(s), no {col!r}")
    if row[text_idx] == "":
        return BadRow(number, ident, f"missing text: {col!r} is empty")
    return _check_text(number, ident, row[text_idx], col)


# --- Parquet -----------------------------------------------------------------------------------
def _iter_parquet(spec: InputSpec, start_after: int) -> Iterator[Record]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(spec.path)
    names = pf.schema_arrow.names
    if spec.text_col not in names:
        raise ValueError(f"{spec.path}: text column {spec.text_col!r} not among the columns {names}")
    text_type = pf.schema_arrow.field(spec.text_col).type
    is_binary = pa.types.is_binary(text_type) or pa.types.is_large_binary(text_type)
    if not (is_binary or pa.types.is_string(text_type) or pa.types.is_large_string(text_type)
            or str(text_type) == "string_view"):
        raise ValueError(f"{spec.path}: text column {spec.text_col!r} has type {text_type}, expected string")
    columns = [spec.text_col] + ([spec.id_col] if spec.id_col in names and spec.id_col != spec.text_col else [])
    has_id = spec.id_col in names

    # Skip whole row groups before the resume point without reading them.
    groups, first_row = [], 0
    for g in range(pf.metadata.num_row_groups):
        n = pf.metadata.row_group(g).num_rows
        if first_row + n > start_after:
            groups.append(g)
        else:
            first_row += n
    if not groups:
        return
    number = first_row
    for batch in pf.iter_batches(batch_size=_PARQUET_BATCH_ROWS, row_groups=groups, columns=columns):
        texts = batch.column(spec.text_col).to_pylist()
        ids = batch.column(spec.id_col).to_pylist() if has_id else [None] * len(texts)
        for text, ident in zip(texts, ids):
            number += 1
            if number <= start_after:
                continue
            ident = format_id(ident)
            if is_binary and text is not None:
                try:
                    text = text.decode("utf-8")
                except UnicodeDecodeError as exc:
                    yield BadRow(number, ident, f"undecodable: invalid UTF-8 at byte {exc.start}")
                    continue
            yield (_check_text(number, ident, text, spec.text_col) if text is not None
                   else BadRow(number, ident, f"missing text: {spec.text_col!r} is null"))
