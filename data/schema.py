"""The corpus row schema, a strict JSONL validator, and JSONL read/write helpers.

One row per line: ``id``, ``text``, ``labels`` (a list of labels from :data:`model.labels.LABELS`;
empty = allowed), ``lang`` (``zh`` / ``en`` / ``mixed``), ``group`` (template family or authoring
batch: the unit of splitting), ``source``, and the optional ``note``, ``neg_class`` (the must-allow
class of a negative) and ``parent`` (the seed id a generated row was derived from).
Every error names the file and line it comes from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from model.labels import LABEL_INDEX, LABELS

LANGS: tuple[str, ...] = ("zh", "en", "mixed")
SOURCES: tuple[str, ...] = ("handwritten", "generated", "feedback")
# The must-allow classes of the policy (hard negatives), in the order the policy lists them.
NEG_CLASSES: tuple[str, ...] = (
    "news_analysis",  # news, analysis, research, opinion about crypto and its regulation
    "fraud_warning",  # anti-fraud warnings, police / bank notices, court reports
    "ecny",  # e-CNY / digital RMB news and bank promotions
    "blockchain_tech",  # blockchain without tokens for sale, explanations of how Bitcoin works
    "legal_abs",  # CSRC-filed ABS tokens issued overseas to institutions
    "tradfi",  # stocks, funds, bonds, forex, gold, bank products and their ads
    "ordinary_qr",  # scan to order, pay, follow, invoice, health code, museum guide ...
    "word_collision",  # 游戏币, U盘, 煤矿, 合约机, 空投物资, Minecraft, AI tokens, bit, chain ...
    "everyday",  # ordinary posts with no crypto topic at all (the tail-free twins of promo tails)
)
# The classes POLICY.md lists as "must be allowed": every one of them must reach the test split.
MUST_ALLOW: tuple[str, ...] = NEG_CLASSES[:8]

REQUIRED_FIELDS: dict[str, type] = {
    "id": str,
    "text": str,
    "labels": list,
    "lang": str,
    "group": str,
    "source": str,
}
OPTIONAL_FIELDS: dict[str, type] = {"note": str, "neg_class": str, "parent": str}
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:~+-]*$")


@dataclass(frozen=True, slots=True)
class Row:
    """One validated corpus row."""

    id: str
    text: str
    labels: tuple[str, ...]
    lang: str
    group: str
    source: str
    note: str = ""
    neg_class: str = ""
    parent: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON object written for this row (optional fields only when set)."""
        out: dict[str, Any] = {
            "id": self.id,
            "text": self.text,
            "labels": list(self.labels),
            "lang": self.lang,
            "group": self.group,
            "source": self.source,
        }
        for key in ("note", "neg_class", "parent"):
            value = getattr(self, key)
            if value:
                out[key] = value
        return out

    def label_vector(self) -> list[float]:
        """Multi-hot vector in :data:`LABELS` order."""
        vec = [0.0] * len(LABELS)
        for name in self.labels:
            vec[LABEL_INDEX[name]] = 1.0
        return vec


def label_matrix(rows: Sequence[Row], dtype: Any = np.float32) -> np.ndarray:
    """Multi-hot ``(n, len(LABELS))`` matrix of the rows' labels, in :data:`LABELS` order."""
    return np.array([r.label_vector() for r in rows], dtype=dtype).reshape(-1, len(LABELS))


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def row_from_obj(obj: Any) -> Row:
    """Validate one decoded JSON value; raise ValueError (without location) on the first problem."""
    if not isinstance(obj, dict):
        raise ValueError(f"row must be a JSON object, got {_type_name(obj)}")
    for key, kind in REQUIRED_FIELDS.items():
        if key not in obj:
            raise ValueError(f"missing field {key!r}")
        if not isinstance(obj[key], kind):
            raise ValueError(f"field {key!r} must be {kind.__name__}, got {_type_name(obj[key])}")
    for key, value in obj.items():
        if key in REQUIRED_FIELDS:
            continue
        if key not in OPTIONAL_FIELDS:
            allowed = ", ".join([*REQUIRED_FIELDS, *OPTIONAL_FIELDS])
            raise ValueError(f"unknown field {key!r}; allowed fields: {allowed}")
        if value is not None and not isinstance(value, OPTIONAL_FIELDS[key]):
            raise ValueError(f"field {key!r} must be {OPTIONAL_FIELDS[key].__name__}, got {_type_name(value)}")
    row_id = obj["id"]
    if not _ID_RE.match(row_id):
        raise ValueError(f"id {row_id!r} must be non-empty and use only letters, digits and _ . : ~ + -")
    text = obj["text"]
    if not text.strip():
        raise ValueError(f"empty or whitespace-only text (id {row_id!r})")
    labels = obj["labels"]
    for name in labels:
        if not isinstance(name, str):
            raise ValueError(f"labels must be strings, got {_type_name(name)} (id {row_id!r})")
        if name not in LABEL_INDEX:
            raise ValueError(f"unknown label {name!r} (id {row_id!r}); expected one of {', '.join(LABELS)}")
    if len(set(labels)) != len(labels):
        raise ValueError(f"repeated label in {labels!r} (id {row_id!r})")
    if obj["lang"] not in LANGS:
        raise ValueError(f"bad lang {obj['lang']!r} (id {row_id!r}); expected one of {', '.join(LANGS)}")
    if obj["source"] not in SOURCES:
        raise ValueError(f"bad source {obj['source']!r} (id {row_id!r}); expected one of {', '.join(SOURCES)}")
    if not obj["group"].strip():
        raise ValueError(f"empty group (id {row_id!r})")
    neg_class = obj.get("neg_class") or ""
    if neg_class:
        if neg_class not in NEG_CLASSES:
            raise ValueError(f"bad neg_class {neg_class!r} (id {row_id!r}); expected one of {', '.join(NEG_CLASSES)}")
        if labels:
            raise ValueError(f"neg_class {neg_class!r} set on a row with labels {labels!r} (id {row_id!r})")
    return Row(
        id=row_id,
        text=text,
        labels=tuple(sorted(labels, key=LABEL_INDEX.__getitem__)),
        lang=obj["lang"],
        group=obj["group"],
        source=obj["source"],
        note=obj.get("note") or "",
        neg_class=neg_class,
        parent=obj.get("parent") or "",
    )


def check_file(path: str | Path, seen_ids: dict[str, str] | None = None) -> tuple[list[Row], list[str]]:
    """Validate a JSONL file; return its good rows and every error as ``"file:line: problem"``.

    ``seen_ids`` maps ids to ``"file:line"`` and is updated, so duplicates are caught across files.
    Blank lines are skipped.
    """
    path = Path(path)
    seen = {} if seen_ids is None else seen_ids
    rows: list[Row] = []
    errors: list[str] = []
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FileNotFoundError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    for number, line_bytes in enumerate(raw.split(b"\n"), start=1):
        where = f"{path}:{number}"
        try:
            line = line_bytes.decode("utf-8")
        except UnicodeDecodeError as exc:
            errors.append(f"{where}: invalid UTF-8 at byte {exc.start}")
            continue
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"{where}: malformed JSON: {exc.msg} at column {exc.colno}")
            continue
        try:
            row = row_from_obj(obj)
        except ValueError as exc:
            errors.append(f"{where}: {exc}")
            continue
        if row.id in seen:
            errors.append(f"{where}: duplicate id {row.id!r} (first at {seen[row.id]})")
            continue
        seen[row.id] = where
        rows.append(row)
    return rows, errors


def _raise(errors: list[str]) -> None:
    if errors:
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise ValueError(f"{errors[0]}{more}" + ("\n" + "\n".join(errors[1:20]) if len(errors) > 1 else ""))


def validate_file(path: str | Path, seen_ids: dict[str, str] | None = None) -> list[Row]:
    """Validate one JSONL file and return its rows; raise ValueError naming file and line."""
    rows, errors = check_file(path, seen_ids)
    _raise(errors)
    return rows


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, directories expanded to their ``*.jsonl`` files (sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(p.glob("*.jsonl")))
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"no such file or directory: {p}")
    return out


def validate_files(paths: Iterable[str | Path]) -> list[Row]:
    """Validate several files (directories expand to ``*.jsonl``); ids must be unique across all."""
    seen: dict[str, str] = {}
    rows: list[Row] = []
    errors: list[str] = []
    for path in expand_paths(paths):
        good, bad = check_file(path, seen)
        rows.extend(good)
        errors.extend(bad)
    _raise(errors)
    return rows


def read_rows(path: str | Path) -> Iterator[Row]:
    """Rows of a JSONL file written by this package (validated as they are read)."""
    yield from validate_file(path)


def write_rows(path: str | Path, rows: Iterable[Row]) -> int:
    """Write rows as UTF-8 JSONL (one object a line); return how many were written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for row in rows:
            fh.write(json.dumps(row.to_dict(), ensure_ascii=False) + "\n")
            n += 1
    return n


__all__ = [
    "LANGS",
    "MUST_ALLOW",
    "NEG_CLASSES",
    "SOURCES",
    "Row",
    "check_file",
    "expand_paths",
    "label_matrix",
    "read_rows",
    "row_from_obj",
    "validate_file",
    "validate_files",
    "write_rows",
]
