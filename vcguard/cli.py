"""The ``vcguard`` command line.

Each layer registers its own subcommands: a module listed in ``SUBCOMMAND_MODULES`` exposes
``register(subparsers)``, adding parsers whose ``handler`` default takes the parsed args and
returns an exit code. Handlers import heavy dependencies lazily, so ``vcguard --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence

SUBCOMMAND_MODULES: tuple[str, ...] = (
    "model.cli",
    "data.cli",
    "training.cli",
    "evaluation.cli",
    "serving.cli",
    "serving.audit.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vcguard", description="Flag virtual-currency promotion in posts.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real import error inside the module, not a missing module
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.handler(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"vcguard {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vcguard: interrupted", file=sys.stderr)
        return 130
