"""Batched, resumable, optionally parallel classification of a post file.

Results and errors are appended in input order to JSONL files; a small checkpoint file records,
after each commit, the last input line covered and the byte length of both files. A rerun with
the same output truncates anything written after the last commit and continues from the next
line, so every input row ends in exactly one result or one error record. Parquet results are
staged as JSONL and converted once the input is exhausted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing as mp
import os
import signal
import sys
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, Iterable, Iterator

from serving.audit.readers import BadRow, InputSpec, count_rows, iter_records, open_input
from serving.audit.records import BatchOutput, Item, classify_items, count_lines, jsonl_to_parquet

if TYPE_CHECKING:
    from model.classifier import Classifier

logger = logging.getLogger(__name__)

ENGINES: tuple[str, ...] = ("local", "ray")
OUT_FORMATS: tuple[str, ...] = ("jsonl", "parquet")
CHECKPOINT_VERSION = 1
_HEAD_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class AuditConfig:
    """One audit job. ``limit`` caps the input rows counted from the start of the input."""

    input: Path
    out: Path
    out_format: str | None = None
    input_format: str | None = None
    text_col: str = "text"
    id_col: str = "id"
    workers: int = 1
    threads: int = 1  # ONNX Runtime threads per classifier process
    batch_size: int = 64
    engine: str = "local"
    ray_address: str | None = None
    artifact: str | None = None
    rules_only: bool = False
    limit: int | None = None
    overwrite: bool = False
    commit_rows: int = 2000
    commit_seconds: float = 5.0

    def checked(self) -> "AuditConfig":
        """Return a copy with paths and the output format resolved; ValueError on a bad value."""
        for name in ("workers", "threads", "batch_size", "commit_rows"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if not isinstance(self.commit_seconds, (int, float)) or self.commit_seconds < 0:
            raise ValueError(f"commit_seconds must be a number >= 0, got {self.commit_seconds!r}")
        if self.limit is not None and (not isinstance(self.limit, int) or self.limit < 0):
            raise ValueError(f"limit must be an integer >= 0, got {self.limit!r}")
        if self.engine not in ENGINES:
            raise ValueError(f"unknown engine {self.engine!r}; expected one of {', '.join(ENGINES)}")
        if self.ray_address and self.engine != "ray":
            raise ValueError("--ray-address needs --engine ray")
        if self.rules_only and self.artifact:
            raise ValueError("--rules-only and --artifact exclude each other")
        out = Path(self.out)
        fmt = self.out_format or ("parquet" if out.suffix.lower() in (".parquet", ".pq") else "jsonl")
        if fmt not in OUT_FORMATS:
            raise ValueError(f"unknown results format {fmt!r}; expected one of {', '.join(OUT_FORMATS)}")
        return replace(self, input=Path(self.input), out=out, out_format=fmt)


@dataclass(frozen=True, slots=True)
class OutputPaths:
    """The files of one audit, all beside ``results``."""

    results: Path
    data: Path  # the JSONL file results are appended to (``results`` itself, or a staging file)
    errors: Path
    checkpoint: Path
    summary: Path

    @classmethod
    def for_out(cls, out: Path, fmt: str) -> "OutputPaths":
        stem = out.name
        for suffix in (".jsonl", ".parquet", ".pq"):
            if stem.lower().endswith(suffix) and len(stem) > len(suffix):
                stem = stem[: -len(suffix)]
                break
        side = out.parent
        data = out if fmt == "jsonl" else side / f"{stem}.staging.jsonl"
        return cls(out, data, side / f"{stem}.errors.jsonl", side / f"{stem}.checkpoint.json",
                   side / f"{stem}.summary.json")

    def all(self) -> tuple[Path, ...]:
        return (self.results, self.data, self.errors, self.checkpoint, self.summary)


@dataclass(slots=True)
class State:
    """What the checkpoint file holds: how far the committed output covers the input."""

    fingerprint: dict[str, Any]
    status: str = "running"  # running | partial (stopped by a limit) | complete
    last_line: int = 0
    rows: int = 0
    results: int = 0
    errors: int = 0
    results_bytes: int = 0
    errors_bytes: int = 0
    decisions: dict[str, int] = field(default_factory=dict)
    engines: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    sessions: int = 0
    started_at: str = ""
    updated_at: str = ""
    finished_at: str | None = None
    parquet_written: bool = False
    version: int = CHECKPOINT_VERSION

    def add(self, out: BatchOutput, results_bytes: int, errors_bytes: int) -> None:
        decisions, engines = out.counts()
        self.last_line = out.last_line
        self.rows += out.rows
        self.results += sum(decisions.values())
        self.errors += out.rows - sum(decisions.values())
        self.results_bytes, self.errors_bytes = results_bytes, errors_bytes
        for key, n in decisions.items():
            self.decisions[key] = self.decisions.get(key, 0) + n
        for key, n in engines.items():
            self.engines[key] = self.engines.get(key, 0) + n

    def save(self, path: Path) -> None:
        self.updated_at = _now()
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(asdict(self), fh, ensure_ascii=False, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> "State":
        try:
            data = json.loads(path.read_text("utf-8"))
            if data.get("version") != CHECKPOINT_VERSION:
                raise ValueError(f"checkpoint version {data.get('version')!r}, expected {CHECKPOINT_VERSION}")
            return cls(**data)
        except (OSError, TypeError, ValueError) as exc:
            raise ValueError(f"unreadable checkpoint {path}: {exc}; rerun with --overwrite to start over") from exc


class _Appender:
    """An append-only output file truncated to its committed length on open."""

    def __init__(self, path: Path, committed: int) -> None:
        size = path.stat().st_size if path.exists() else 0
        if size < committed:
            raise ValueError(f"{path} holds {size} bytes but its checkpoint committed {committed}: it was "
                             "changed outside the audit; rerun with --overwrite to start over")
        if size > committed:
            logger.info("%s: dropping %d bytes written after the last commit", path, size - committed)
            with path.open("r+b") as fh:
                fh.truncate(committed)
        self.path = path
        self.offset = committed
        self._fh: IO[bytes] = path.open("ab")

    def write(self, lines: list[bytes]) -> None:
        if lines:
            data = b"".join(lines)
            self._fh.write(data)
            self.offset += len(data)

    def sync(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()


OnBatch = Callable[[State], None]


def run_audit(config: AuditConfig, *, progress: bool = False, on_batch: OnBatch | None = None) -> dict[str, Any]:
    """Run (or resume, or just summarize a finished) audit; return its summary.

    ``on_batch`` is called after each batch is written (tests use it to interrupt a run).
    """
    cfg = config.checked()
    spec = open_input(cfg.input, fmt=cfg.input_format, text_col=cfg.text_col, id_col=cfg.id_col)
    paths = OutputPaths.for_out(cfg.out, cfg.out_format or "jsonl")
    if any(p.resolve() == spec.path.resolve() for p in paths.all()):
        raise ValueError(f"--out {cfg.out} would overwrite the input {spec.path}")
    # With worker processes (or Ray actors) this classifier only answers the model version.
    clf = make_classifier(cfg.artifact, cfg.rules_only, threads=cfg.threads)
    meta = {"model_version": clf.version, "lexicon_version": clf.rules.lexicon.version,
            "degraded_reason": clf.degraded_reason}
    state = _open_state(cfg, spec, paths, meta)
    if state.status != "complete":
        _process(cfg, spec, paths, state, clf, progress=progress, on_batch=on_batch)
    if state.status == "complete" and cfg.out_format == "parquet" and not state.parquet_written:
        _write_parquet(paths, state)
    summary = _summary(cfg, spec, paths, state, meta)
    tmp = paths.summary.with_name(paths.summary.name + ".tmp")
    tmp.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", "utf-8")
    os.replace(tmp, paths.summary)
    return summary


def make_classifier(artifact: str | None, rules_only: bool, *, threads: int = 1) -> "Classifier":
    """The classifier the API uses: ``load_classifier(artifact)`` (strict when named), or rules alone.

    One inference thread by default: parallelism comes from ``--workers``, and every worker count
    then computes the same floating-point sums, so results do not depend on it. ``--threads 2``
    lets a single worker use both cores of a small machine instead.
    """
    if rules_only:
        from model.classifier import Classifier

        return Classifier()
    from model.loading import load_classifier

    return load_classifier(artifact, strict=artifact is not None, threads=threads)


def _fingerprint(cfg: AuditConfig, spec: InputSpec, meta: dict[str, Any]) -> dict[str, Any]:
    with spec.path.open("rb") as fh:
        head = hashlib.sha256(fh.read(_HEAD_BYTES)).hexdigest()
    return {
        "input_size": spec.path.stat().st_size, "input_head_sha256": head, "input_format": spec.format,
        "text_col": spec.text_col, "id_col": spec.id_col, "out_format": cfg.out_format,
        "model_version": meta["model_version"], "lexicon_version": meta["lexicon_version"],
    }


def _open_state(cfg: AuditConfig, spec: InputSpec, paths: OutputPaths, meta: dict[str, Any]) -> State:
    fingerprint = _fingerprint(cfg, spec, meta)
    if cfg.overwrite:
        for p in paths.all():
            p.unlink(missing_ok=True)
    if paths.checkpoint.exists():
        state = State.load(paths.checkpoint)
        changed = sorted(k for k in fingerprint if state.fingerprint.get(k) != fingerprint[k])
        if changed:
            detail = ", ".join(f"{k}: {state.fingerprint.get(k)!r} -> {fingerprint[k]!r}" for k in changed)
            raise ValueError(f"{paths.results} belongs to another audit ({detail}); "
                             "use another --out, or --overwrite to start over")
        if state.status != "complete":
            logger.info("resuming %s after input line %d (%d rows done)", paths.results, state.last_line, state.rows)
        return state
    existing = [str(p) for p in (paths.data, paths.errors, paths.results) if p.exists()]
    if existing:
        raise ValueError(f"{', '.join(sorted(set(existing)))} exist(s) without a checkpoint; "
                         "use another --out, or --overwrite to replace")
    paths.results.parent.mkdir(parents=True, exist_ok=True)
    state = State(fingerprint=fingerprint, started_at=_now())
    state.save(paths.checkpoint)
    return state


def _process(cfg: AuditConfig, spec: InputSpec, paths: OutputPaths, state: State, clf: Any, *,
             progress: bool, on_batch: OnBatch | None) -> None:
    remaining = None if cfg.limit is None else max(cfg.limit - state.rows, 0)
    results = _Appender(paths.data, state.results_bytes)
    errors = _Appender(paths.errors, state.errors_bytes)
    state.sessions += 1
    state.status = "running"
    base_elapsed, t0 = state.elapsed_s, time.monotonic()
    last_commit_t, last_commit_rows = t0, state.rows
    bar = _progress_bar(spec, state, cfg.limit) if progress else None

    def commit() -> None:
        results.sync()
        errors.sync()
        state.elapsed_s = round(base_elapsed + time.monotonic() - t0, 3)
        state.save(paths.checkpoint)

    session_rows = 0
    outputs = _outputs(cfg, spec, state.last_line, remaining, clf) if remaining != 0 else iter(())
    try:
        if remaining != 0:
            for out in outputs:
                results.write(out.result_lines)
                errors.write(out.error_lines)
                state.add(out, results.offset, errors.offset)
                session_rows += out.rows
                if bar is not None:
                    bar.update(out.rows)
                if on_batch is not None:
                    on_batch(state)
                now = time.monotonic()
                if state.rows - last_commit_rows >= cfg.commit_rows or now - last_commit_t >= cfg.commit_seconds:
                    commit()
                    last_commit_t, last_commit_rows = now, state.rows
        exhausted = remaining is None or session_rows < remaining or _at_end(spec, state.last_line)
        state.status = "complete" if exhausted else "partial"
        if exhausted:
            state.finished_at = _now()
        commit()
    except BaseException:
        # The state only ever covers fully written batches, so committing it is safe; a torn
        # tail after it is truncated on resume.
        try:
            commit()
        except Exception:  # noqa: BLE001 - the original error matters more
            logger.exception("could not commit the checkpoint while stopping")
        raise
    finally:
        close = getattr(outputs, "close", None)
        if close is not None:
            close()  # stops worker processes or the Ray job now, not at garbage collection
        results.close()
        errors.close()
        if bar is not None:
            bar.close()


def _at_end(spec: InputSpec, last_line: int) -> bool:
    return next(iter(iter_records(spec, start_after=last_line)), None) is None


def _progress_bar(spec: InputSpec, state: State, limit: int | None) -> Any:
    from tqdm import tqdm

    total = count_rows(spec)
    if limit is not None:
        total = limit if total is None else min(total, limit)
    return tqdm(total=total, initial=state.rows, unit="post", desc="audit", file=sys.stderr,
                dynamic_ncols=True, mininterval=0.5, smoothing=0.1)


def _outputs(cfg: AuditConfig, spec: InputSpec, start_after: int, limit: int | None, clf: Any) -> Iterator[BatchOutput]:
    if cfg.engine == "ray":
        from serving.audit.ray_engine import ray_outputs

        return ray_outputs(cfg, spec, start_after, limit)
    batches = batched(iter_items(spec, start_after, limit), cfg.batch_size)
    if cfg.workers == 1:
        return (classify_items(clf, batch) for batch in batches)
    return _pool_outputs(cfg, batches)


def iter_items(spec: InputSpec, start_after: int, limit: int | None) -> Iterator[Item]:
    """Records after ``start_after`` as picklable items, at most ``limit`` of them."""
    for n, rec in enumerate(iter_records(spec, start_after=start_after)):
        if limit is not None and n >= limit:
            return
        if isinstance(rec, BadRow):
            yield (rec.line, rec.id, None, rec.reason)
        else:
            yield (rec.line, rec.id, rec.text, None)


def batched(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    """Consecutive lists of ``size`` items (the last may be shorter)."""
    batch: list[Item] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- local worker processes --------------------------------------------------------------------
_WORKER_CLF: Any = None


def _init_worker(artifact: str | None, rules_only: bool, threads: int) -> None:
    global _WORKER_CLF
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    _WORKER_CLF = make_classifier(artifact, rules_only, threads=threads)


def _work(batch: list[Item]) -> BatchOutput:
    return classify_items(_WORKER_CLF, batch)


def _pool_outputs(cfg: AuditConfig, batches: Iterator[list[Item]]) -> Iterator[BatchOutput]:
    """Classify batches in ``cfg.workers`` processes, yielding in input order with bounded lookahead.

    A worker that dies (out of memory, killed) fails the run with BrokenProcessPool instead of
    hanging it; the rerun resumes after the last commit.
    """
    # forkserver: workers fork from a clean single-threaded server that imported the model once.
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["serving.audit.runner", "model.classifier"]
                               + ([] if cfg.rules_only else ["model.loading"]))
    pool = ProcessPoolExecutor(cfg.workers, mp_context=ctx, initializer=_init_worker,
                               initargs=(cfg.artifact, cfg.rules_only, cfg.threads))
    pending: deque[Future[BatchOutput]] = deque()
    try:
        for batch in batches:
            pending.append(pool.submit(_work, batch))
            if len(pending) >= 4 * cfg.workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# --- finishing ---------------------------------------------------------------------------------
def _write_parquet(paths: OutputPaths, state: State) -> None:
    tmp = paths.results.with_name(paths.results.name + ".tmp")
    rows = jsonl_to_parquet(paths.data, tmp)
    if rows != state.results:
        tmp.unlink(missing_ok=True)
        raise ValueError(f"staged results hold {rows} rows, the checkpoint {state.results}")
    os.replace(tmp, paths.results)
    state.parquet_written = True
    state.save(paths.checkpoint)
    paths.data.unlink(missing_ok=True)


def _summary(cfg: AuditConfig, spec: InputSpec, paths: OutputPaths, state: State,
             meta: dict[str, Any]) -> dict[str, Any]:
    if cfg.out_format == "parquet" and state.parquet_written:
        import pyarrow.parquet as pq

        written = int(pq.ParquetFile(paths.results).metadata.num_rows)
    else:
        written = count_lines(paths.data)
    error_lines = count_lines(paths.errors)
    reconciled = state.rows == state.results + state.errors and written == state.results and error_lines == state.errors
    if not reconciled:
        logger.error("audit does not reconcile: rows=%d results=%d (in file %d) errors=%d (in file %d)",
                     state.rows, state.results, written, state.errors, error_lines)
    return {
        "status": state.status,
        "input": str(spec.path), "input_format": spec.format, "gzip": spec.gzipped,
        "text_col": spec.text_col, "id_col": spec.id_col,
        "results_path": str(paths.results), "errors_path": str(paths.errors), "format": cfg.out_format,
        # where the results are readable now: the staging JSONL until a Parquet run completes
        "data_path": str(paths.results if cfg.out_format == "jsonl" or state.parquet_written else paths.data),
        "engine": cfg.engine, "workers": cfg.workers, "batch_size": cfg.batch_size,
        **meta,
        "input_rows": state.rows, "results": state.results, "errors": state.errors,
        "results_in_file": written, "errors_in_file": error_lines, "reconciled": reconciled,
        "last_line": state.last_line,
        "decisions": dict(sorted(state.decisions.items())), "result_engines": dict(sorted(state.engines.items())),
        "started_at": state.started_at, "finished_at": state.finished_at, "sessions": state.sessions,
        "elapsed_s": state.elapsed_s,
        "rate_posts_per_s": round(state.rows / state.elapsed_s, 1) if state.elapsed_s > 0 else None,
    }


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
