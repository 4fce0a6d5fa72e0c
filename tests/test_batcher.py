"""The model worker pool: requests are scored window by window, in arrival order."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import Future
from typing import Sequence

import numpy as np
import pytest

from model.classifier import ENGINE_FALLBACK, Classifier
from model.labels import LABEL_INDEX, LABELS
from serving.engine import MicroBatcher, Moderator

MINING = LABEL_INDEX["mining"]


class WindowedScorer:
    """A stand-in for the transformer: a post's windows are its '|'-separated parts, and a window
    scores 0.9 on mining when it holds the word 'miner'. Records who scored what, and when."""

    batch_size = 1

    def __init__(self, delay_s: float = 0.0, fail_on: str | None = None) -> None:
        self.delay_s, self.fail_on = delay_s, fail_on
        self.calls: list[tuple[str, list[str], float]] = []  # (thread name, windows, end time)
        self._lock = threading.Lock()

    def windows_of(self, texts: Sequence[str]) -> tuple[list[str], list[int]]:
        rows, owner = [], []
        for i, text in enumerate(texts):
            for part in text.split("|"):
                rows.append(part)
                owner.append(i)
        return rows, owner

    def score_windows(self, rows: Sequence[str]) -> np.ndarray:
        time.sleep(self.delay_s)
        with self._lock:
            self.calls.append((threading.current_thread().name, list(rows), time.monotonic()))
        if self.fail_on is not None and any(self.fail_on in r for r in rows):
            raise RuntimeError("window exploded")
        out = np.full((len(rows), len(LABELS)), 0.05)
        for j, row in enumerate(rows):
            if "miner" in row:
                out[j, MINING] = 0.9
        return out

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:  # what the batcher must agree with
        rows, owner = self.windows_of(texts)
        scores = self.score_windows(rows)
        out = np.zeros((len(texts), len(LABELS)))
        for r, i in enumerate(owner):
            out[i] = np.maximum(out[i], scores[r])
        return out


@pytest.fixture
def batcher() -> MicroBatcher:
    pool = MicroBatcher(workers=2, max_batch=16)
    yield pool
    pool.close()


def test_scores_are_the_max_over_each_posts_windows(batcher: MicroBatcher) -> None:
    model = WindowedScorer()
    texts = ["news intro|more news|buy our miner now", "plain", "miner|plain"]
    got = batcher.submit(model, texts).future.result(timeout=5)
    np.testing.assert_allclose(got, model.predict_proba(texts))
    assert got[0, MINING] == 0.9 and got[1, MINING] == 0.05, "a tail window's score is the post's score"


def test_a_long_posts_windows_run_on_every_free_worker(batcher: MicroBatcher) -> None:
    model = WindowedScorer(delay_s=0.1)
    batcher.submit(model, ["a|b|c|d"]).future.result(timeout=5)
    threads = {name for name, _, _ in model.calls}
    assert len(model.calls) == 4 and len(threads) == 2, f"windows ran on {threads}"


def test_a_request_is_answered_when_its_own_windows_are_done() -> None:
    pool = MicroBatcher(workers=1, max_batch=16)
    model = WindowedScorer(delay_s=0.05)
    try:
        busy = pool.submit(model, ["warm"])  # occupies the worker while the next two queue up
        short = pool.submit(model, ["miner ad"])
        long = pool.submit(model, ["w1|w2|w3|w4"])
        done_at: dict[str, float] = {}
        for name, ticket in (("short", short), ("long", long)):
            ticket.future.add_done_callback(lambda _f, n=name: done_at.setdefault(n, time.monotonic()))
        long.future.result(timeout=5)
        busy.future.result(timeout=5)
    finally:
        pool.close()
    assert short.future.result()[0, MINING] == 0.9
    # one window per call (batch_size 1): the short request does not wait for the long one's windows
    assert [len(rows) for _, rows, _ in model.calls] == [1] * 6
    assert done_at["short"] < done_at["long"]


def test_an_abandoned_request_skips_its_windows_not_yet_started() -> None:
    pool = MicroBatcher(workers=1, max_batch=16)
    model = WindowedScorer(delay_s=0.1)
    try:
        ticket = pool.submit(model, ["a|b|c|d|e"])
        time.sleep(0.05)  # the first window is running
        ticket.abandon()
        with pytest.raises(TimeoutError, match="abandoned"):  # not the 5 s wait running out
            ticket.future.result(timeout=5)
        pool.submit(model, ["after"]).future.result(timeout=5)  # the worker lives on
    finally:
        pool.close()
    scored = [row for _, rows, _ in model.calls for row in rows]
    assert scored == ["a", "after"]


def test_a_failing_window_fails_its_request_only(batcher: MicroBatcher) -> None:
    model = WindowedScorer(fail_on="boom")
    bad = batcher.submit(model, ["fine|boom|fine again"])
    with pytest.raises(RuntimeError, match="window exploded"):
        bad.future.result(timeout=5)
    good = batcher.submit(model, ["miner"]).future.result(timeout=5)
    assert good[0, MINING] == 0.9


def test_plain_scorers_are_batched_by_post_and_empty_requests_resolve_at_once(batcher: MicroBatcher) -> None:
    class Plain:
        def __init__(self) -> None:
            self.sizes: list[int] = []

        def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
            self.sizes.append(len(texts))
            return np.full((len(texts), len(LABELS)), 0.3)

    plain = Plain()
    assert batcher.submit(plain, ["one", "two", "three"]).future.result(timeout=5).shape == (3, len(LABELS))
    assert sum(plain.sizes) == 3 and max(plain.sizes) <= 16
    empty: Future[np.ndarray] = batcher.submit(plain, []).future
    assert empty.done() and empty.result().shape == (0, len(LABELS))


def test_a_closed_batcher_refuses_new_work() -> None:
    pool = MicroBatcher(workers=1, max_batch=4)
    pool.close()
    with pytest.raises(RuntimeError, match="closed"):
        pool.submit(WindowedScorer(), ["late"])
    with pytest.raises(ValueError, match="workers"):
        MicroBatcher(workers=0, max_batch=4)


def test_a_call_takes_no_more_windows_than_the_model_or_the_setting_allows() -> None:
    model = WindowedScorer(delay_s=0.02)
    model.batch_size = 4  # type: ignore[misc]  # an fp32 model batches windows
    for max_batch, most in ((16, 4), (2, 2)):
        pool = MicroBatcher(workers=1, max_batch=max_batch)
        model.calls.clear()
        try:
            pool.submit(model, ["warm"])
            pool.submit(model, ["|".join(f"w{i}" for i in range(9))]).future.result(timeout=5)
        finally:
            pool.close()
        sizes = [len(rows) for _, rows, _ in model.calls]
        assert sum(sizes) == 10 and max(sizes) == most, sizes


def test_a_tokenizer_failure_is_answered_by_the_fallback() -> None:
    class BadTokenizer(WindowedScorer):
        def windows_of(self, texts: Sequence[str]) -> tuple[list[str], list[int]]:
            raise ValueError("tokenizer exploded")

    class Linear:
        def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
            return np.full((len(texts), len(LABELS)), 0.5)

    clf = Classifier(model=BadTokenizer(), linear=Linear(), version="bad-tokenizer")
    moderator = Moderator(budget_ms=2000, budget_per_item_ms=0, workers=1, max_pending=1)  # a leaked slot would make the second "busy"
    try:
        outcome = asyncio.run(moderator.classify(clf, ["any post at all"]))
        again = asyncio.run(moderator.classify(clf, ["another"]))
    finally:
        moderator.close()
    assert outcome.fallback_reason == "model_error" and again.fallback_reason == "model_error"
    assert outcome.results[0].engine == ENGINE_FALLBACK and "model_error" in outcome.results[0].notes
