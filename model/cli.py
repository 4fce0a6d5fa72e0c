"""``vcguard classify``: classify a text, or every line of stdin."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Iterator


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("classify", help="classify a text, or JSONL / plain lines from stdin ('-')")
    p.add_argument("text", help="the post text, or '-' to read one post per line from stdin")
    p.add_argument("--artifact", help="model artifact directory (default: the shipped one)")
    p.add_argument("--rules-only", action="store_true", help="use the keyword rules alone")
    p.add_argument("--text-field", default="text", help="JSONL field holding the text (default: text)")
    p.add_argument("--id-field", default="id", help="JSONL field holding the id (default: id)")
    p.add_argument("--batch-size", type=int, default=32)
    p.set_defaults(handler=run)


def stdin_records(text_field: str, id_field: str) -> Iterator[dict]:
    """Yield ``{line, id, text}`` or ``{line, error}`` for every line of stdin, never dropping one."""
    for number, raw in enumerate(sys.stdin.buffer, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield {"line": number, "error": f"invalid UTF-8 at byte {exc.start}"}
            continue
        line = line.rstrip("\r\n")
        stripped = line.strip()
        if stripped.startswith("{"):
            try:
                obj = json.loads(stripped)
            except json.JSONDecodeError as exc:
                yield {"line": number, "error": f"invalid JSON: {exc.msg} at column {exc.colno}"}
                continue
            text = obj.get(text_field)
            if not isinstance(text, str):
                kind = "missing" if text is None else f"not a string ({type(text).__name__})"
                yield {"line": number, "id": obj.get(id_field), "error": f"field {text_field!r} is {kind}"}
                continue
            yield {"line": number, "id": obj.get(id_field, number), "text": text}
        else:
            yield {"line": number, "id": number, "text": line}


def run(args: argparse.Namespace) -> int:
    from model.classifier import Classifier
    from model.loading import load_classifier

    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {args.batch_size}")
    clf = Classifier() if args.rules_only else load_classifier(args.artifact, strict=args.artifact is not None)
    if args.text != "-":
        print(json.dumps(clf.classify(args.text).to_dict(), ensure_ascii=False))
        return 0
    errors = 0
    batch: list[dict] = []

    def flush() -> None:
        for record, result in zip(batch, clf.classify_batch([r["text"] for r in batch])):
            print(json.dumps({"id": record["id"], "line": record["line"], **result.to_dict()}, ensure_ascii=False))
        batch.clear()

    for record in stdin_records(args.text_field, args.id_field):
        if "error" in record:
            flush()
            errors += 1
            print(json.dumps(record, ensure_ascii=False))
            continue
        batch.append(record)
        if len(batch) >= args.batch_size:
            flush()
    flush()
    if errors:
        print(f"vcguard: {errors} input line(s) could not be read; see the 'error' records", file=sys.stderr)
    return 0
