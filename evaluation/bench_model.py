"""Benchmark the shipped artifact: single-post latency and batch throughput, fp32 vs int8.

    python -m evaluation.bench_model [--artifact DIR] [--fp32 runs/release/onnx/model.onnx]

Measures, on posts of about ``--tokens`` tokens: the transformer scorer alone (ONNX Runtime, 1
and 2 threads) and the whole classifier (normalization + rules + linear + transformer +
decision). ``--fp32`` points at the fp32 ONNX export of the same model for comparison.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from evaluation.bench_rules import make_posts
from model.artifact import Manifest
from model.classifier import NOTE_SCREENED
from model.int8 import u8s8_is_exact
from model.loading import DEFAULT_ARTIFACT_DIR, load_classifier
from model.normalize import normalize
from model.transformer import TOKENIZER_FILE, TransformerScorer


def posts_of_tokens(scorer: TransformerScorer, tokens: int, n: int) -> list[str]:
    """Generated posts cut or padded to about ``tokens`` tokens each (special tokens included)."""
    out = []
    for text in make_posts(n * 3, seed=11):
        while len(scorer.tokenizer.encode(text).ids) < tokens - 2:
            text = text + " " + text
        ids = scorer.tokenizer.encode(text, add_special_tokens=False).ids[: tokens - 2 - 3]
        out.append(scorer.tokenizer.decode(ids))
        if len(out) == n:
            return out
    return out


def latency_ms(fn: Callable[[Sequence[str]], object], posts: list[str]) -> tuple[float, float]:
    for p in posts[:5]:
        fn([p])
    times = []
    for p in posts:
        start = time.perf_counter()
        fn([p])
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), float(np.percentile(times, 99))


def throughput(fn: Callable[[Sequence[str]], object], posts: list[str], batch: int) -> float:
    fn(posts[:batch])
    start = time.perf_counter()
    for i in range(0, len(posts), batch):
        fn(posts[i : i + batch])
    return len(posts) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifact", type=Path, default=DEFAULT_ARTIFACT_DIR)
    parser.add_argument("--fp32", type=Path, default=Path("runs/release/onnx/model.onnx"))
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--single", type=int, default=200, help="posts timed one at a time")
    parser.add_argument("--batch-posts", type=int, default=640, help="posts timed in batches")
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    manifest = Manifest.load(args.artifact)
    tokenizer = args.artifact / TOKENIZER_FILE
    int8 = args.artifact / manifest.files["onnx"]
    # (name, model file, windows per ONNX call): the shipped int8 model runs one window per call
    # (its activation scales are per call, so batching would make scores depend on batchmates);
    # the batched int8 row shows what that costs.
    # widen: None lets the loader decide from this CPU's int8 kernel (model/int8.py); True forces
    # the uint8 weights that CPUs without an exact int8 kernel run.
    exact = u8s8_is_exact()
    shipped = "int8 (shipped)" + ("" if exact else ", widened to uint8 on this CPU")
    variants = [(shipped, int8, 1, None), (f"int8, {args.batch} windows per call (not used)", int8, args.batch, None)]
    if exact:
        variants.append(("int8 widened to uint8 (what CPUs without VNNI run)", int8, 1, True))
    if args.fp32.is_file():
        variants.append(("fp32", args.fp32, args.batch, None))
    print(f"int8 kernel on this CPU: {'exact (VNNI)' if exact else 'saturating: int8 weights are widened'}")
    print(f"| scorer | threads | p50 ms ({args.tokens} tok) | p99 ms | posts/s (batch {args.batch}) |")
    print("|---|---|---|---|---|")
    for name, path, per_call, widen in variants:
        for threads in (1, 2):
            scorer = TransformerScorer(path, tokenizer, manifest.window_config(), threads=threads,
                                       batch_size=per_call, widen_int8=widen)
            posts = [normalize(p).text for p in posts_of_tokens(scorer, args.tokens, args.batch_posts)]
            p50, p99 = latency_ms(scorer.predict_proba, posts[: args.single])
            rate = throughput(scorer.predict_proba, posts, args.batch)
            print(f"| transformer {name} | {threads} | {p50:.1f} | {p99:.1f} | {rate:.0f} |")
    for threads in (1, 2):
        clf = load_classifier(args.artifact, strict=True, threads=threads)
        posts = posts_of_tokens(clf.model, args.tokens, args.batch_posts)  # type: ignore[arg-type]
        shipped = clf.blend
        # The generated posts are two-thirds ordinary; with the screen on, some skip the transformer.
        for blend in ([shipped, replace(shipped, screen_below=0.0, screen_blocks=False)] if shipped.screens else [shipped]):
            clf.blend = blend
            skipped = sum(NOTE_SCREENED in r.notes for r in clf.classify_batch(posts))
            p50, p99 = latency_ms(clf.classify_batch, posts[: args.single])
            rate = throughput(clf.classify_batch, posts, args.batch)
            screen = f"screen {blend.screen_below}{' + blocks' if blend.screen_blocks else ''}"
            label = f"{screen} ({skipped / len(posts):.0%} screened)" if blend.screens else "screen off"
            print(f"| whole classifier (rules + linear + int8), {label} | {threads} | {p50:.1f} | {p99:.1f} "
                  f"| {rate:.0f} |")


if __name__ == "__main__":
    main()
