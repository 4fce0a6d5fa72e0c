"""Benchmark: normalization + keyword rules on generated posts, one process (one core).

    python -m evaluation.bench_rules --posts 20000

Prints posts/s for normalization alone and for normalization + rules (the fallback path).
The posts are built from small templates here; they measure speed, not accuracy.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from model.normalize import normalize
from model.rules import RuleEngine

PROMO = [
    "高价收U，{a}收 {b}出，大额秒到，vx: {h}",
    "币 安注册 binance.com/join?ref={c} 邀请码 {c}，返佣30%",
    "扫码进群，每天带单喊单，百倍币上车 t.me/{h}",
    "Presale is live! Next 100x gem, DM me for the signals group @{h}",
    "蚂蚁矿机S21现货，托管电费0.{d}，回本周期{d}个月",
    "RWA认购开启，房产上链，年化收益{d}%，名额有限",
    "ＯＫＸ 下载注册，邀请码 {c}，新人送{d}U",
]
NORMAL = [
    "今天天气不错，和朋友去公园散步，拍了好多照片。",
    "央行等部门明确稳定币属于虚拟货币，相关业务活动属于非法金融活动。",
    "警方提醒：切勿相信高价收U，谨防诈骗。",
    "扫码点餐，餐后扫码开发票，很方便。",
    "U盘64G特价包邮，USB3.0高速传输。",
    "The API charges $2 per million input tokens; bit rate matters for video.",
    "Supply chain traceability on a consortium chain, no tokens involved.",
    "这只基金今年收益率{d}%，定投更稳健。",
    "周末去爬山吗？扫码加入徒步群，一起出发。",
    "I just finished reading a long article about how Bitcoin mining uses energy.",
]


def make_posts(n: int, seed: int = 7) -> list[str]:
    """Generate ``n`` posts, about a third promotional, with varied lengths."""
    rng = random.Random(seed)
    posts = []
    for _ in range(n):
        template = rng.choice(PROMO) if rng.random() < 0.33 else rng.choice(NORMAL)
        text = template.format(
            a=f"7.{rng.randint(10, 30)}", b=f"7.{rng.randint(31, 45)}", c=f"{rng.randint(10000, 99999)}AB",
            d=rng.randint(2, 40), h=f"user_{rng.randint(1000, 9999)}",
        )
        if rng.random() < 0.2:  # some longer posts
            text = " ".join([text, rng.choice(NORMAL).format(d=5)] * rng.randint(2, 6))
        posts.append(text)
    return posts


def _rate(fn, posts: list[str], repeats: int) -> float:
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for p in posts:
            fn(p)
        rates.append(len(posts) / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.posts < 1 or args.repeats < 1:
        parser.error("--posts and --repeats must be >= 1")
    posts = make_posts(args.posts)
    engine = RuleEngine()
    for p in posts[:200]:  # warm the per-character caches
        engine.analyze(p)
    chars = sum(map(len, posts)) / len(posts)
    norm_rate = _rate(normalize, posts, args.repeats)
    full_rate = _rate(engine.analyze, posts, args.repeats)
    print(f"| stage | posts/s ({args.posts} posts, mean {chars:.0f} chars, one process) |")
    print("|---|---|")
    print(f"| normalize | {norm_rate:,.0f} |")
    print(f"| normalize + rules | {full_rate:,.0f} |")


if __name__ == "__main__":
    main()
