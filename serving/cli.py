"""``vcguard serve`` and ``vcguard feedback export``."""

from __future__ import annotations

import argparse
import copy
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser("serve", help="run the HTTP API (uvicorn)")
    serve.add_argument("--host", help="bind address (default: VCGUARD_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: VCGUARD_PORT or 8000)")
    serve.add_argument("--workers", type=int, help="worker processes (default: VCGUARD_WORKERS or 1)")
    serve.add_argument("--settings", help="settings file (JSON / TOML / YAML); environment overrides it")
    serve.add_argument("--artifact", help="model artifact directory (default: the shipped one)")
    serve.add_argument("--fallback-only", action="store_true", help="never call the model: rules + linear scorer")
    serve.add_argument("--database-url", help="SQLAlchemy URL (default: sqlite:///var/vcguard.db in CWD)")
    serve.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    serve.set_defaults(handler=run_serve)

    feedback = sub.add_parser("feedback", help="reviewer feedback stored by the API")
    feedback_sub = feedback.add_subparsers(dest="feedback_command", required=True, metavar="ACTION")
    export = feedback_sub.add_parser("export", help="write feedback as corpus-schema JSONL ('-' = stdout)")
    export.add_argument("out", help="output .jsonl path, or '-'")
    export.add_argument("--database-url", help="SQLAlchemy URL (default: the API's setting)")
    export.add_argument("--settings", help="settings file to read the database URL from")
    export.add_argument("--since", type=date.fromisoformat, help="only feedback from this date (YYYY-MM-DD) on")
    export.set_defaults(handler=run_export)


def _cli_env(args: argparse.Namespace) -> dict[str, str]:
    """CLI overrides as VCGUARD_* variables, so every uvicorn worker process sees them."""
    env = {}
    if args.settings:
        env["VCGUARD_SETTINGS_FILE"] = str(Path(args.settings).resolve())
    if args.artifact:
        env["VCGUARD_ARTIFACT_PATH"] = str(Path(args.artifact).resolve())
    if args.fallback_only:
        env["VCGUARD_FALLBACK_ONLY"] = "true"
    if args.database_url:
        env["VCGUARD_DATABASE_URL"] = args.database_url
    return env


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging config plus the vcguard loggers (applied in every worker process)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["vcguard"] = {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    config["handlers"]["vcguard"] = {"class": "logging.StreamHandler", "formatter": "vcguard",
                                     "stream": "ext://sys.stderr"}
    for name in ("serving", "model"):
        config["loggers"][name] = {"handlers": ["vcguard"], "level": level.upper(), "propagate": False}
    return config


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from serving.settings import Settings

    os.environ.update(_cli_env(args))
    settings = Settings()  # fail here, with the setting named, rather than inside a worker
    workers = args.workers if args.workers is not None else settings.workers
    if workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    uvicorn.run("serving.app:app_from_env", factory=True, host=args.host or settings.host,
                port=args.port if args.port is not None else settings.port, workers=workers,
                log_level=args.log_level, log_config=log_config(args.log_level))
    return 0


def run_export(args: argparse.Namespace) -> int:
    from serving.db import init_db, make_engine
    from serving.export import export_feedback
    from serving.settings import Settings

    settings = Settings(settings_file=args.settings) if args.settings else Settings()
    url = args.database_url or settings.resolved_database_url
    engine = make_engine(url)
    try:
        with init_db(engine)() as session:
            if args.out == "-":
                stats = export_feedback(session, sys.stdout, args.since)
            else:
                out = Path(args.out)
                out.parent.mkdir(parents=True, exist_ok=True)
                with out.open("w", encoding="utf-8") as fh:
                    stats = export_feedback(session, fh, args.since)
    finally:
        engine.dispose()
    print(f"vcguard feedback export: {stats.written} row(s) written; {stats.without_text} without text skipped; "
          f"{stats.superseded} superseded by a later verdict on the same text", file=sys.stderr)
    return 0
