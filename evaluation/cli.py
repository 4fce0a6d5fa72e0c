"""``vcguard evaluate``: score a split with rules, linear, transformer and combined; write a report."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="evaluate a model artifact on a corpus split (JSON, Markdown, PNG plots)")
    p.add_argument("artifact", help="model artifact directory")
    p.add_argument("--split", default="test",
                   help="test, dev, train (read from --split-dir) or a JSONL path (default: test)")
    p.add_argument("--out", help="output directory (default: runs/eval-<split>)")
    p.add_argument("--split-dir", help="directory holding <split>.jsonl (default: data/build of this checkout)")
    p.add_argument("--batch-size", type=int, default=64, help="posts per scoring call (default: 64)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from evaluation.evaluate import evaluate, resolve_split
    from evaluation.report import pct

    name, _ = resolve_split(args.split, args.split_dir)
    out = Path(args.out) if args.out else Path("runs") / f"eval-{name}"
    result = evaluate(args.artifact, args.split, out, batch_size=args.batch_size, progress=True,
                      split_dir=args.split_dir, plots=not args.no_plots)
    print(f"{result['split']}: {result['n_rows']} posts ({result['n_promotional']} promotional, "
          f"{result['n_hard_negative']} hard negatives)")
    for system, m in result["systems"].items():
        f1 = "n/a" if m["macro_f1"] is None else f"{m['macro_f1']:.4f}"
        print(f"  {system:<12} macro F1 {f1}  promotional flagged {pct(m['flagged_promotional'])}  "
              f"hard negatives flagged {pct(m['hard_negative_fpr'])}")
    for t in result["targets"]:
        met = {True: "met", False: "NOT met", None: "n/a"}[t["met"]]
        print(f"  target {t['name']} {t['target']}: {met}")
    print(f"wrote {', '.join(str(out / f) for f in result['files'])}")
    return 0
