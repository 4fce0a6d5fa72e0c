"""Load test of the HTTP API on this machine: requests/s and p50 / p99 latency per concurrency.

Starts ``uvicorn`` on 127.0.0.1 only (a free port), with the given artifact or ``--fallback-only``,
then sends at most ``--requests`` requests or ``--duration`` seconds per concurrency level (1, 8
and 32 by default) over keep-alive connections from a lean asyncio client, and prints a Markdown
table::

    python -m evaluation.loadtest --fallback-only
    python -m evaluation.loadtest --artifact model/default_artifact --requests 2000 --duration 20

The client runs on the same machine and takes CPU from the server (the table reports how much):
figures are a lower bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import httpx

from model.classifier import ENGINE_MODEL, NOTE_SCREENED

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"  # loopback only, by design: this script never targets another machine
MAX_REQUESTS = 200_000
MAX_DURATION_S = 600.0
ROOT = Path(__file__).resolve().parent.parent
SEED_DIR = ROOT / "data" / "seed"
# The default texts: posts no scorer was trained on. The learned scorers are surer of their own
# training rows, so the screen would skip the transformer for more of those than of new posts.
HELD_OUT = (ROOT / "data" / "build" / "dev.jsonl", ROOT / "data" / "build" / "test.jsonl")
BUILTIN_TEXTS = (
    "币安注册 binance.com/join?ref=VC88A1 邀请码 VC88A1，返佣30%！",
    "收U 出U 大量现金秒到，支付宝银行卡都可以",
    "扫码点餐，欢迎光临本店。今天的特价菜是红烧肉。",
    "央行等部门重申：虚拟货币相关业务活动属于非法金融活动，提醒公众不要点击境外交易平台链接。",
    "New 100x gem presale is live! Join our telegram t.me/moon_signals_88 for VIP signals",
    "The tokenizer splits this sentence into 12 tokens; the API bills per input token.",
    "现货S21 200T 矿机，托管包电费，回本周期8个月，私聊",
    "今天天气很好，我们去公园散步吧。",
)


@dataclass
class Level:
    concurrency: int
    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0
    engines: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0
    server_mean_ms: float | None = None  # from the server's own latency histogram (one worker)
    server_cpu_ms: float | None = None  # server CPU time per request: independent of other load
    client_cpu_ms: float | None = None  # this load generator's CPU time per request

    @property
    def done(self) -> int:
        return len(self.latencies_s) + self.errors

    def percentile_ms(self, q: float) -> float:
        if not self.latencies_s:
            return float("nan")
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def default_sources() -> list[Path]:
    """The held-out dev and test splits when they are built, else the seed corpus."""
    return list(HELD_OUT) if all(p.is_file() for p in HELD_OUT) else [SEED_DIR]


def load_texts(paths: Sequence[Path] | Path | None, limit: int = 5000) -> list[str]:
    """Post texts from JSONL files or directories of them (:func:`default_sources` by default)."""
    given = paths is not None
    sources = [paths] if isinstance(paths, Path) else list(paths) if paths is not None else default_sources()
    files = [f for source in sources for f in (sorted(source.glob("*.jsonl")) if source.is_dir() else [source])]
    source = ", ".join(str(p) for p in sources)
    texts: list[str] = []
    for file in files:
        if not file.is_file():
            raise FileNotFoundError(f"no texts at {file}")
        for line in file.read_text("utf-8").splitlines():
            if line.strip():
                text = json.loads(line).get("text")
                if isinstance(text, str):
                    texts.append(text)
    if not texts and given:
        raise ValueError(f"no 'text' fields found in {source}")
    texts = texts or list(BUILTIN_TEXTS)
    random.Random(0).shuffle(texts)
    return texts[:limit]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_server(port: int, workers: int, artifact: str | None, fallback_only: bool, work_dir: str,
                 settings: Sequence[str] = ()) -> subprocess.Popen:
    """uvicorn on 127.0.0.1:``port``; its stderr goes to ``work_dir/server.log`` (a pipe could fill up).

    ``settings`` are ``NAME=VALUE`` service settings (``model_workers=1``), passed as ``VCGUARD_NAME``.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("VCGUARD_")}
    for item in settings:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--set expects NAME=VALUE, got {item!r}")
        env[f"VCGUARD_{name.strip().upper()}"] = value
    env["VCGUARD_DATABASE_URL"] = f"sqlite:///{Path(work_dir) / 'loadtest.db'}"
    if artifact:
        env["VCGUARD_ARTIFACT_PATH"] = str(Path(artifact).resolve())
    if fallback_only:
        env["VCGUARD_FALLBACK_ONLY"] = "true"
    cmd = [sys.executable, "-m", "uvicorn", "serving.app:app_from_env", "--factory", "--host", HOST, "--port",
           str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    log = open(Path(work_dir) / "server.log", "w", encoding="utf-8")  # noqa: SIM115 (closed with the dir)
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log, text=True)


def server_log(work_dir: str, tail: int = 2000) -> str:
    path = Path(work_dir) / "server.log"
    return path.read_text("utf-8", errors="replace")[-tail:] if path.is_file() else ""


async def wait_ready(base: str, proc: subprocess.Popen, work_dir: str, timeout_s: float = 180.0) -> dict:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=base, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with {proc.returncode}:\n{server_log(work_dir)}")
            try:
                response = await client.get("/readyz")
                if response.status_code == 200:
                    return response.json()
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError(f"the server was not ready within {timeout_s:.0f} s")


_SERVER_SUM = 'vcguard_http_request_duration_seconds_sum{method="POST",route="/v1/moderate"}'
_SERVER_COUNT = 'vcguard_http_request_duration_seconds_count{method="POST",route="/v1/moderate"}'


async def server_time(client: httpx.AsyncClient) -> tuple[float, float]:
    """(total seconds, requests) the server spent on /v1/moderate so far, by its /metrics."""
    values = {}
    for line in (await client.get("/metrics")).text.splitlines():
        name, _, value = line.rpartition(" ")
        if name in (_SERVER_SUM, _SERVER_COUNT):
            values[name] = float(value)
    return values.get(_SERVER_SUM, 0.0), values.get(_SERVER_COUNT, 0.0)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process and its reaped children (Linux /proc), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


class RawClient:
    """A minimal HTTP/1.1 keep-alive client for one connection: the load generator shares the
    machine with the server, and httpx costs about 2.5 ms of CPU a request, this about a tenth."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, request: bytes) -> tuple[int, bytes]:
        """Send a pre-encoded request; returns (status, body). Reconnects after a closed connection."""
        if self._writer is None or self._reader is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        try:
            self._writer.write(request)
            head = await self._reader.readuntil(b"\r\n\r\n")
            status, headers = _parse_head(head)
            if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
                body = await _read_chunked(self._reader)
            else:
                body = await self._reader.readexactly(int(headers.get(b"content-length", b"0")))
            if headers.get(b"connection", b"").lower() == b"close":
                await self.close()
            return status, body
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            await self.close()
            raise

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass
        self._reader = self._writer = None


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return b"".join(parts)
        parts.append(chunk[:-2])


def _parse_head(head: bytes) -> tuple[int, dict[bytes, bytes]]:
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
        raise ValueError(f"not an HTTP response: {lines[0][:80]!r}")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


def encode_requests(texts: Sequence[str], port: int) -> list[bytes]:
    """``POST /v1/moderate`` requests for ``texts``, encoded once so the timed loop only sends bytes."""
    out = []
    for text in texts:
        body = json.dumps({"text": text}, ensure_ascii=False).encode("utf-8")
        head = (f"POST /v1/moderate HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode("ascii")
        out.append(head + body)
    return out


def engine_of(body: bytes) -> str:
    """The answering engine, with screened posts counted apart from those the transformer scored."""
    data = json.loads(body)
    engine = str(data.get("engine"))
    return "screened" if engine == ENGINE_MODEL and NOTE_SCREENED in data.get("notes", ()) else engine


async def run_level(base: str, requests: Sequence[bytes], concurrency: int, max_requests: int, duration_s: float,
                    server_pid: int | None = None) -> Level:
    """Send up to ``max_requests`` requests (or ``duration_s`` seconds) from ``concurrency`` connections."""
    level = Level(concurrency)
    issued = 0
    port = int(base.rsplit(":", 1)[1])
    async with httpx.AsyncClient(base_url=base, timeout=30.0) as meta:
        sum_before, count_before = await server_time(meta)
        cpu_before = cpu_seconds(server_pid) if server_pid else None
        client_cpu_before = time.process_time()
        started = time.perf_counter()
        stop_at = started + duration_s

        async def worker() -> None:
            nonlocal issued
            conn = RawClient(HOST, port)
            try:
                while issued < max_requests and time.perf_counter() < stop_at:
                    request = requests[issued % len(requests)]
                    issued += 1
                    t0 = time.perf_counter()
                    try:
                        status, body = await asyncio.wait_for(conn.post(request), 30.0)
                    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError,
                            TimeoutError):
                        level.errors += 1
                        continue
                    elapsed = time.perf_counter() - t0
                    if status == 200:
                        level.latencies_s.append(elapsed)
                        level.engines[engine_of(body)] += 1
                    else:
                        level.errors += 1
            finally:
                await conn.close()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        level.elapsed_s = time.perf_counter() - started
        if level.done:
            level.client_cpu_ms = (time.process_time() - client_cpu_before) / level.done * 1000
        cpu_after = cpu_seconds(server_pid) if server_pid else None
        sum_after, count_after = await server_time(meta)
        if count_after > count_before:
            level.server_mean_ms = (sum_after - sum_before) / (count_after - count_before) * 1000
        if cpu_before is not None and cpu_after is not None and level.done:
            level.server_cpu_ms = (cpu_after - cpu_before) / level.done * 1000
    return level


def markdown(levels: Sequence[Level], mode: str) -> str:
    rows = ["| mode | concurrency | requests | errors | req/s | p50 ms | p99 ms | server mean ms | server CPU ms/req "
            "| client CPU ms/req | engine |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for lv in levels:
        total = sum(lv.engines.values()) or 1
        engines = ", ".join(f"{name} {count / total:.0%}" for name, count in lv.engines.most_common())
        rate = lv.done / lv.elapsed_s if lv.elapsed_s else float("nan")
        server = f"{lv.server_mean_ms:.2f}" if lv.server_mean_ms is not None else "-"
        cpu = f"{lv.server_cpu_ms:.2f}" if lv.server_cpu_ms is not None else "-"
        client = f"{lv.client_cpu_ms:.2f}" if lv.client_cpu_ms is not None else "-"
        rows.append(f"| {mode} | {lv.concurrency} | {lv.done} | {lv.errors} | {rate:.0f} | "
                    f"{lv.percentile_ms(0.50):.1f} | {lv.percentile_ms(0.99):.1f} | {server} | {cpu} | {client} | "
                    f"{engines or '-'} |")
    return "\n".join(rows)


async def main_async(args: argparse.Namespace) -> int:
    texts = load_texts([Path(t) for t in args.texts] if args.texts else None)
    load_start = os.getloadavg()[0]
    port = free_port()
    base = f"http://{HOST}:{port}"
    with tempfile.TemporaryDirectory(prefix="vcguard-loadtest-") as work_dir:
        proc = start_server(port, args.workers, args.artifact, args.fallback_only, work_dir, args.set)
        try:
            ready = await wait_ready(base, proc, work_dir)
            mode = "fallback only" if args.fallback_only else f"engine {ready.get('engine')}"
            if ready.get("degraded"):
                mode += " (degraded)"
            requests = encode_requests(texts, port)
            await run_level(base, requests, max(args.concurrency), args.warmup, 30.0)
            pid = proc.pid if args.workers == 1 else None  # one worker: uvicorn serves in this process
            levels = [await run_level(base, requests, c, args.requests, args.duration, pid)
                      for c in args.concurrency]
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            warnings = server_log(work_dir)
    if warnings.strip():
        logger.warning("server log (tail):\n%s", warnings)
    load_end = os.getloadavg()[0]
    print(f"vcguard load test: {platform.machine()} with {os.cpu_count()} CPU(s) (1-min load average "
          f"{load_start:.1f} before, {load_end:.1f} after), uvicorn workers={args.workers}, "
          f"model {ready.get('model_version')}, lexicon {ready.get('lexicon_version')}; "
          f"{len(texts)} distinct texts; at most {args.requests} requests or {args.duration:.0f} s per level; "
          f"client and server share the machine")
    if ready.get("degraded_reason"):
        print(f"degraded: {ready['degraded_reason']}")
    print()
    print(markdown(levels, mode))
    return 0 if all(lv.errors == 0 for lv in levels) else 1


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m evaluation.loadtest", description=__doc__.split("\n\n")[0])
    src = p.add_mutually_exclusive_group()
    src.add_argument("--artifact", help="model artifact directory (default: the shipped one)")
    src.add_argument("--fallback-only", action="store_true", help="serve from rules + linear scorer only")
    p.add_argument("--requests", type=int, default=3000, help="at most this many requests per level (default 3000)")
    p.add_argument("--duration", type=float, default=20.0, help="at most this many seconds per level (default 20)")
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32], help="levels (default: 1 8 32)")
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="a service setting for the server, e.g. --set model_workers=1 --set model_threads=2")
    p.add_argument("--warmup", type=int, default=100, help="unmeasured requests first (default 100)")
    p.add_argument("--texts", nargs="+", metavar="PATH",
                   help="JSONL files or directories with 'text' fields (default: the dev and test splits in "
                        "data/build, which no scorer was trained on; data/seed when they are not built)")
    args = p.parse_args(argv)
    if not 1 <= args.requests <= MAX_REQUESTS:
        p.error(f"--requests must be in [1, {MAX_REQUESTS}], got {args.requests}")
    if not 0 < args.duration <= MAX_DURATION_S:
        p.error(f"--duration must be in (0, {MAX_DURATION_S:.0f}] seconds, got {args.duration}")
    if any(c < 1 or c > 256 for c in args.concurrency):
        p.error(f"--concurrency levels must be in [1, 256], got {args.concurrency}")
    if not 1 <= args.workers <= 16:
        p.error(f"--workers must be in [1, 16], got {args.workers}")
    if args.warmup < 0:
        p.error(f"--warmup must be >= 0, got {args.warmup}")
    bad = [item for item in args.set if "=" not in item or not item.partition("=")[0].strip()]
    if bad:
        p.error(f"--set expects NAME=VALUE, got {bad}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
