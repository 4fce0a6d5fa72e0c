"""The ``vcguard`` command line. Each subcommand imports its implementation lazily."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Callable, Iterator, Sequence

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def _command(name: str) -> Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]:
    def register(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        COMMANDS[name] = fn
        return fn

    return register


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vcguard", description="Flag virtual-currency promotion in posts.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("classify", help="classify a text, or JSONL / plain lines from stdin ('-')")
    p.add_argument("text", help="the post text, or '-' to read one post per line from stdin")
    p.add_argument("--artifact", help="model artifact directory (default: the shipped one)")
    p.add_argument("--rules-only", action="store_true", help="use the keyword rules alone")
    p.add_argument("--text-field", default="text", help="JSONL field holding the text (default: text)")
    p.add_argument("--id-field", default="id", help="JSONL field holding the id (default: id)")
    p.add_argument("--batch-size", type=int, default=32)
    return parser


def _load_classifier(args: argparse.Namespace):
    from model.classifier import Classifier

    if args.rules_only:
        return Classifier()
    from model.loading import load_classifier

    return load_classifier(args.artifact)


def _stdin_records(text_field: str, id_field: str) -> Iterator[dict]:
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


@_command("classify")
def _classify(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        print(f"vcguard: --batch-size must be >= 1, got {args.batch_size}", file=sys.stderr)
        return 2
    clf = _load_classifier(args)
    if args.text != "-":
        print(json.dumps(clf.classify(args.text).to_dict(), ensure_ascii=False))
        return 0
    errors = 0
    batch: list[dict] = []

    def flush() -> None:
        results = clf.classify_batch([r["text"] for r in batch])
        for record, result in zip(batch, results):
            print(json.dumps({"id": record["id"], "line": record["line"], **result.to_dict()}, ensure_ascii=False))
        batch.clear()

    for record in _stdin_records(args.text_field, args.id_field):
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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[args.command](args)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"vcguard {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vcguard: interrupted", file=sys.stderr)
        return 130
