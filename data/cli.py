"""``vcguard data build | validate | stats``: build the corpus, check JSONL files, print counts."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    from data import BUILD_DIR, CARD_PATH, DEFAULT_SEED, SEED_DIR

    p = sub.add_parser("data", help="build, validate and describe the labelled corpus")
    dsub = p.add_subparsers(dest="data_command", required=True, metavar="ACTION")

    b = dsub.add_parser("build", help="split the seeds, generate training rows, write train/dev/test JSONL")
    b.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"generator seed (default {DEFAULT_SEED})")
    b.add_argument("--seed-dir", default=str(SEED_DIR), help="directory of hand-written *.jsonl files")
    b.add_argument("--out", default=str(BUILD_DIR), help="output directory (default: data/build)")
    b.add_argument("--target-train", type=int, default=None, help="train rows to reach (default 32000)")
    b.add_argument("--reshuffle", action="store_true",
                   help="place every group afresh; by default groups keep the split they have in --out's "
                        "manifest, so trained models never meet their training rows in dev or test")
    b.set_defaults(handler=run_build)

    v = dsub.add_parser("validate", help="validate JSONL files or directories (default: the seed set)")
    v.add_argument("paths", nargs="*", default=[str(SEED_DIR)], help="files or directories of *.jsonl")
    v.add_argument("--lint", action="store_true", help="also print soft warnings (lang fit, evasion notes, duplicates)")
    v.set_defaults(handler=run_validate)

    s = dsub.add_parser("stats", help="counts per label x language x split (the data card's tables)")
    s.add_argument("--split-dir", default=str(BUILD_DIR), help="directory with train/dev/test.jsonl")
    s.add_argument("--markdown", action="store_true", help="print Markdown tables (as in data/README.md)")
    s.add_argument("--update-card", nargs="?", const=str(CARD_PATH), default=None, metavar="CARD",
                   help="rewrite the stats section of the data card (default data/README.md)")
    s.add_argument("--check-card", nargs="?", const=str(CARD_PATH), default=None, metavar="CARD",
                   help="exit 1 if the data card's stats section differs from these counts")
    s.set_defaults(handler=run_stats)


def run_build(args: argparse.Namespace) -> int:
    from data.build import DEFAULT_TARGET_TRAIN, build, read_manifest, write_build

    target = args.target_train if args.target_train is not None else DEFAULT_TARGET_TRAIN
    if target < 0:
        raise ValueError(f"--target-train must be >= 0, got {target}")
    previous = None if args.reshuffle else read_manifest(args.out)
    pinned = (previous or {}).get("group_split") or None
    result = build(args.seed_dir, args.seed, target, pinned=pinned)
    paths = write_build(result, args.out)
    m = result.manifest
    counts = ", ".join(f"{k} {v} ({m['handwritten'][k]} hand-written)" for k, v in m["counts"].items())
    print(f"wrote {paths['train'].parent}: {counts}")
    if pinned:
        new = sorted(set(m["group_split"]) - set(pinned))
        print(f"{len(pinned)} known group(s) kept their split; {len(new)} new group(s) placed")
    if m["dropped_seed_rows"] or m["dropped_generated"]:
        print(f"dropped as near-duplicates across splits: {len(m['dropped_seed_rows'])} seed row(s), "
              f"{m['dropped_generated']} generated row(s); see {paths['manifest']}")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    from data.schema import check_file, expand_paths

    seen: dict[str, str] = {}
    errors: list[str] = []
    rows = []
    files = expand_paths(args.paths)
    for path in files:
        good, bad = check_file(path, seen)
        rows.extend(good)
        errors.extend(bad)
    total = len(rows)
    if args.lint:
        from data.lint import lint_rows

        warnings = lint_rows(rows)
        for line in warnings:
            print(f"warning: {line}")
        print(f"{len(warnings)} warning(s)")
    for line in errors:
        print(line, file=sys.stderr)
    if errors:
        print(f"{len(errors)} problem(s) in {len(files)} file(s)", file=sys.stderr)
        return 1
    print(f"ok: {total} rows in {len(files)} file(s)")
    return 0


def run_stats(args: argparse.Namespace) -> int:
    from pathlib import Path

    from data.stats import card_section, load_split_rows, render_markdown, render_plain, update_card

    rows = load_split_rows(args.split_dir)
    markdown = render_markdown(rows)
    if args.update_card:
        changed = update_card(args.update_card, markdown)
        print(f"{args.update_card}: {'updated' if changed else 'already up to date'}", file=sys.stderr)
    if args.check_card:
        if card_section(Path(args.check_card).read_text(encoding="utf-8")) != markdown:
            print(f"{args.check_card}: stats section is out of date; run `vcguard data stats --update-card`",
                  file=sys.stderr)
            return 1
        print(f"{args.check_card}: stats section matches", file=sys.stderr)
    print(markdown if args.markdown else render_plain(rows), end="")
    return 0
