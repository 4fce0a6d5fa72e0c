"""Benchmark: ``vcguard audit`` throughput on generated posts.

    python -m evaluation.bench_audit --posts 20000 [--repeats 3] [--ray]

Writes the posts to a JSONL file, audits it with the default loader (the shipped artifact, or
the rules when none ships) on 1 and 2 worker processes and with the fallback only (rules), and
prints posts/s as a Markdown table. Wall time counts everything a user waits for: loading the
classifier, starting workers, reading, classifying and writing results. The posts come from
small templates here: they measure speed, not accuracy.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from serving.audit.runner import AuditConfig, run_audit

PROMO_ZH = [
    "出U收U，{rate}秒到账，量大从优，TG @{handle}",
    "注册 {exchange} 领 {n}U 新人礼包，邀请码 {code}，链接 {domain}/register?ref={code}",
    "带单群每天三次喊单，上车翻{n}倍，扫码加微信 {handle}",
    "矿机托管，S19 现货，电费 0.{n} 元，回本快，联系 QQ {qq}",
    "RWA 代币认购火热进行中，年化 {n}%，名额有限速来",
]
PROMO_EN = [
    "Next {n}x gem presale LIVE, buy before launch: {domain}/presale — DM @{handle}",
    "Sign up on {exchange} with code {code} and get {n} USDT bonus!",
    "Free airdrop! Scan the QR and add wechat {handle} to claim your coins",
    "Selling USDT for cash, best rate {rate}, telegram t.me/{handle}",
]
NORMAL_ZH = [
    "今天下班早，去菜市场买了些{food}，晚上做饭。",
    "监管部门再次提示虚拟货币交易炒作风险，公众应提高警惕。",
    "周末带孩子去博物馆，看了{n}件青铜器，很有收获。",
    "这家店的{food}味道一般，但是价格便宜，排队的人很多。",
    "新闻：某地警方破获一起以“高收益”为诱饵的诈骗案。",
]
NORMAL_EN = [
    "Went hiking this weekend, {n} km in the rain, worth it.",
    "The central bank warned again about speculation in crypto assets.",
    "My {food} recipe finally worked after {n} tries.",
    "Reading a paper on consensus protocols for distributed databases.",
    "Traffic was terrible today, took {n} minutes to get home.",
]
EXCHANGES = ["binance.com", "okx.com", "bybit.com", "gate.io", "mexc.com"]
FOODS = ["番茄", "豆腐", "noodles", "dumplings", "芹菜", "pancakes"]


def make_posts(n: int, *, promo_share: float = 0.35, seed: int = 11) -> list[dict[str, Any]]:
    """``n`` posts (``{"id", "text"}``): a mix of zh/en promotion and ordinary posts, varied lengths."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not 0.0 <= promo_share <= 1.0:
        raise ValueError(f"promo_share must be in [0, 1], got {promo_share}")
    rng = random.Random(seed)
    posts = []
    for i in range(n):
        zh = rng.random() < 0.6
        if rng.random() < promo_share:
            template = rng.choice(PROMO_ZH if zh else PROMO_EN)
        else:
            template = rng.choice(NORMAL_ZH if zh else NORMAL_EN)
        exchange = rng.choice(EXCHANGES)
        fill = {
            "n": rng.randint(2, 500), "rate": f"7.{rng.randint(10, 40)}", "handle": f"user{rng.randint(1000, 99999)}",
            "exchange": exchange.split(".")[0].upper(), "domain": exchange, "code": f"R{rng.randint(10000, 99999)}",
            "qq": rng.randint(10**6, 10**9), "food": rng.choice(FOODS),
        }
        text = template.format(**fill)
        if rng.random() < 0.25:  # some long posts: a story with the template somewhere inside
            filler = rng.choice(NORMAL_ZH + NORMAL_EN).format(**fill)
            text = " ".join([filler] * rng.randint(2, 8) + [text] + [filler] * rng.randint(0, 4))
        posts.append({"id": f"b{i}", "text": text})
    return posts


def _run(src: Path, out: Path, repeats: int, **kwargs: Any) -> dict[str, Any]:
    walls, cpus, summary = [], [], {}
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        summary = run_audit(AuditConfig(input=src, out=out, overwrite=True, **kwargs))
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        if not summary["reconciled"]:
            raise RuntimeError(f"audit did not reconcile: {summary}")
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    # CPU time is this process's only: meaningful when it classifies itself (1 local worker).
    in_process = kwargs.get("workers", 1) == 1 and kwargs.get("engine", "local") == "local"
    return {"wall_s": wall, "rate": summary["input_rows"] / wall, "summary": summary,
            "cpu_rate": summary["input_rows"] / cpu if in_process and cpu > 0 else None}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--posts", type=int, default=20_000)
    ap.add_argument("--repeats", type=int, default=1, help="runs per configuration; the median is shown")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--artifact", help="model artifact (default: the shipped one)")
    ap.add_argument("--ray", action="store_true", help="also run --engine ray with 2 actors (local Ray)")
    ap.add_argument("--workdir", help="where to write posts and results (default: a temporary folder)")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        raise ValueError(f"--repeats must be >= 1, got {args.repeats}")
    logging.basicConfig(level=logging.ERROR)

    with tempfile.TemporaryDirectory(prefix="bench_audit_") as tmp:
        work = Path(args.workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        src = work / "posts.jsonl"
        with src.open("w", encoding="utf-8") as fh:
            for post in make_posts(args.posts):
                fh.write(json.dumps(post, ensure_ascii=False) + "\n")

        configs: list[tuple[str, dict[str, Any]]] = [
            ("default loader, 1 worker", {"artifact": args.artifact, "workers": 1}),
            ("default loader, 1 worker x 2 threads", {"artifact": args.artifact, "workers": 1, "threads": 2}),
            ("default loader, 2 workers", {"artifact": args.artifact, "workers": 2}),
            ("fallback only (rules), 1 worker", {"rules_only": True, "workers": 1}),
            ("fallback only (rules), 2 workers", {"rules_only": True, "workers": 2}),
        ]
        if args.ray:
            configs.append(("default loader, Ray Data, 2 actors", {"artifact": args.artifact, "workers": 2,
                                                                    "engine": "ray"}))
        rows = []
        for name, kwargs in configs:
            res = _run(src, work / "results.jsonl", args.repeats, batch_size=args.batch_size, **kwargs)
            s = res["summary"]
            engines = ", ".join(f"{k}" for k in s["result_engines"])
            cpu_rate = f"{res['cpu_rate']:,.0f}" if res["cpu_rate"] else "-"
            rows.append(f"| {name} | {engines} | {s['model_version']} | {s['input_rows']:,} | "
                        f"{res['wall_s']:.1f} | {res['rate']:,.0f} | {cpu_rate} |")

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{args.posts:,} generated posts, batch {args.batch_size}, {os.cpu_count()} CPU(s), "
          f"load average {load:.1f} at the end, median of {args.repeats} run(s); wall time includes startup.\n")
    print("| configuration | engine | model version | posts | wall s | posts/s | posts per CPU-s |")
    print("|---|---|---|---:|---:|---:|---:|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
