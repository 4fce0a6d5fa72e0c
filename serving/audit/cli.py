"""``vcguard audit``: classify a post file offline; resumable, parallel, with an HTML report."""

from __future__ import annotations

import argparse
import json
import sys

from serving.audit.readers import FORMATS

_EPILOG = """\
Rerun the same command with the same --out to resume an interrupted audit: it continues after the
last committed row. Beside RESULTS it writes STEM.errors.jsonl (unreadable rows with line number
and reason), STEM.checkpoint.json and STEM.summary.json. Exit status 1 if the counts do not
reconcile (input rows = results + errors).
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="classify a JSONL / CSV / Parquet file of posts (resumable, parallel, report)",
                       description="Classify a file of posts offline: streaming, resumable, parallel, "
                                   "with an HTML report.", epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="posts: .jsonl / .csv / .tsv / .parquet, optionally .gz (not Parquet)")
    p.add_argument("--out", required=True, help="results file (.jsonl or .parquet)")
    p.add_argument("--format", choices=("jsonl", "parquet"), help="results format (default: from --out, else jsonl)")
    p.add_argument("--input-format", choices=FORMATS, help="input format (default: from the input's name)")
    p.add_argument("--text-col", default="text", help="field / column holding the text (default: text)")
    p.add_argument("--id-col", default="id", help="field / column holding the post id (default: id)")
    p.add_argument("--workers", type=int, default=1, help="classifier processes (Ray: actors); default 1")
    p.add_argument("--threads", type=int, default=1,
                   help="model threads per worker; default 1 (--workers 1 --threads 2 uses two cores in one process)")
    p.add_argument("--engine", choices=("local", "ray"), default="local", help="local processes or Ray Data")
    p.add_argument("--ray-address", help="Ray cluster address (default: start Ray locally)")
    p.add_argument("--batch-size", type=int, default=64, help="posts per classifier call (default 64)")
    p.add_argument("--report", metavar="PATH", help="also write a self-contained HTML report here")
    p.add_argument("--artifact", help="model artifact directory (default: the shipped one)")
    p.add_argument("--rules-only", action="store_true", help="use the keyword rules alone")
    p.add_argument("--limit", type=int, help="stop after this many input rows (counted from the start)")
    p.add_argument("--overwrite", action="store_true", help="discard an existing audit at --out and start over")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from concurrent.futures.process import BrokenProcessPool
    from pathlib import Path

    from serving.audit.report import write_report
    from serving.audit.runner import AuditConfig, run_audit

    cfg = AuditConfig(
        input=Path(args.input), out=Path(args.out), out_format=args.format, input_format=args.input_format,
        text_col=args.text_col, id_col=args.id_col, workers=args.workers, threads=args.threads, batch_size=args.batch_size,
        engine=args.engine, ray_address=args.ray_address, artifact=args.artifact, rules_only=args.rules_only,
        limit=args.limit, overwrite=args.overwrite,
    )
    try:
        summary = run_audit(cfg, progress=not args.no_progress)
    except KeyboardInterrupt:
        print("vcguard audit: stopped; rerun the same command to resume after the last commit", file=sys.stderr)
        raise
    except BrokenProcessPool as exc:
        print(f"vcguard audit: a worker process died ({exc}); rerun the same command to resume", file=sys.stderr)
        return 1
    if args.report:
        write_report(summary, args.report)
        summary["report"] = str(args.report)
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    if summary["status"] == "partial":
        print(f"vcguard audit: stopped at --limit after {summary['input_rows']} rows; rerun without it to continue",
              file=sys.stderr)
    return 0 if summary["reconciled"] else 1
