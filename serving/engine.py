"""Running the classifier under a per-request model time budget, with micro-batching.

A request is first *prepared* on the event loop (normalization, rules, linear scorer): posts the
screen clears (no rule hit, linear scores near zero) are decided there and never wait for the
transformer. The other posts go into one queue that a few worker threads drain: a free worker
takes every request waiting (up to ``max_batch`` posts) and scores them in one transformer call,
so under concurrency the model threads never outnumber the cores and one thread hop serves many
requests. No request waits for a batch to fill: a lone request runs at once.

When a request misses its budget (or too many are already queued) its prepared posts are decided
without the transformer: keyword rules plus the linear scorer, ``engine="fallback"``. A request
that timed out before a worker took it is skipped; one already running finishes in the
background and its scores are dropped.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from starlette.concurrency import run_in_threadpool

from model.classifier import Classifier, Prepared, Result, Scorer
from model.labels import LABELS

logger = logging.getLogger(__name__)

# Below this many characters in a request, preparation runs on the event loop: a thread hop costs
# more than the work (~0.7 ms per short post); longer requests go to the thread pool.
INLINE_CHARS = 4000

REASON_DEGRADED = "degraded"
REASON_FORCED = "fallback_only"
REASON_TIMEOUT = "timeout"
REASON_BUSY = "busy"
REASON_MODEL_ERROR = "model_error"

_NOTES = {REASON_TIMEOUT: "model_time_budget_exceeded", REASON_BUSY: "model_busy",
          REASON_MODEL_ERROR: "model_error"}


@dataclass(slots=True)
class Outcome:
    results: list[Result]
    fallback_reason: str | None  # why the model did not answer, None when it did (or none exists)


@dataclass(slots=True)
class _Job:
    model: Scorer
    texts: list[str]
    future: Future[np.ndarray]


class MicroBatcher:
    """Worker threads that run queued transformer jobs together, up to ``max_batch`` posts a call."""

    def __init__(self, workers: int, max_batch: int) -> None:
        if workers < 1 or max_batch < 1:
            raise ValueError(f"workers and max_batch must be >= 1, got {workers!r} and {max_batch!r}")
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closed = False
        self._threads = [threading.Thread(target=self._run, name=f"vcguard-model-{i}", daemon=True)
                         for i in range(workers)]
        for thread in self._threads:
            thread.start()

    def submit(self, model: Scorer, texts: Sequence[str]) -> Future[np.ndarray]:
        """Queue ``texts`` for ``model``; the future resolves to their scores, one row per text."""
        if self._closed:
            raise RuntimeError("the batcher is closed")
        future: Future[np.ndarray] = Future()
        self._queue.put(_Job(model, list(texts), future))
        return future

    def _take(self) -> list[_Job] | None:
        first = self._queue.get()
        if first is None:
            return None
        jobs, size = [first], len(first.texts)
        while size < self.max_batch:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:  # keep the stop signal for this thread's next turn
                self._queue.put(None)
                break
            jobs.append(job)
            size += len(job.texts)
        # A job whose caller already gave up (time budget) is dropped here, before any work.
        return [job for job in jobs if job.future.set_running_or_notify_cancel()]

    def _run(self) -> None:
        while (jobs := self._take()) is not None:
            # A model swap between two requests puts their jobs in separate calls.
            by_model: dict[int, list[_Job]] = {}
            for job in jobs:
                by_model.setdefault(id(job.model), []).append(job)
            for group in by_model.values():
                self._score(group)

    @staticmethod
    def _score(jobs: list[_Job]) -> None:
        texts = [t for job in jobs for t in job.texts]
        try:
            probs = np.asarray(jobs[0].model.predict_proba(texts), dtype=float)
            if probs.shape != (len(texts), len(LABELS)):
                raise ValueError(f"the transformer returned shape {probs.shape}, expected {(len(texts), len(LABELS))}")
        except BaseException as exc:  # the callers fall back; this thread must live on
            for job in jobs:
                job.future.set_exception(exc)
            return
        start = 0
        for job in jobs:
            job.future.set_result(probs[start:start + len(job.texts)])
            start += len(job.texts)

    def close(self) -> None:
        self._closed = True
        for _ in self._threads:
            self._queue.put(None)


class Moderator:
    """Classifies with the model when it answers in time, with the fallback otherwise."""

    def __init__(self, *, budget_ms: float, budget_per_item_ms: float, workers: int, max_pending: int,
                 fallback_only: bool = False, max_batch: int = 16) -> None:
        if budget_ms <= 0:
            raise ValueError(f"budget_ms must be > 0, got {budget_ms!r}")
        if workers < 1 or max_pending < 1:
            raise ValueError(f"workers and max_pending must be >= 1, got {workers!r} and {max_pending!r}")
        self.budget_ms = budget_ms
        self.budget_per_item_ms = budget_per_item_ms
        self.fallback_only = fallback_only
        self._batcher = MicroBatcher(workers, max_batch)
        self._slots = threading.BoundedSemaphore(max_pending)

    def budget_s(self, n_items: int) -> float:
        return (self.budget_ms + self.budget_per_item_ms * max(n_items - 1, 0)) / 1000.0

    def uses_model(self, clf: Classifier) -> bool:
        return clf.model is not None and not self.fallback_only

    async def classify(self, clf: Classifier, texts: Sequence[str]) -> Outcome:
        """Classify ``texts`` with ``clf`` (a snapshot: lexicon swaps never split a request)."""
        prepared = await self._prepare(clf, texts)
        model = clf.model
        if model is None or self.fallback_only:
            reason = None
            if clf.degraded_reason is not None:
                reason = REASON_DEGRADED
            elif model is not None:
                reason = REASON_FORCED
            return Outcome(clf.finish(prepared, None, use_model=False), reason)
        if not prepared.needs_model:  # the screen cleared every post
            return Outcome(clf.finish(prepared, None), None)
        if not self._slots.acquire(blocking=False):
            return self._fallback(clf, prepared, REASON_BUSY)
        try:
            future = self._batcher.submit(model, prepared.model_views())
        except RuntimeError:  # the batcher is closed: the app is stopping
            self._slots.release()
            return self._fallback(clf, prepared, REASON_BUSY)
        future.add_done_callback(lambda _f: self._slots.release())
        n = len(prepared.needs_model)
        try:
            probs = await asyncio.wait_for(asyncio.wrap_future(future), self.budget_s(n))
        except TimeoutError:
            logger.warning("model missed its %.0f ms budget for %d post(s); answering from the fallback",
                           self.budget_s(n) * 1000, n)
            return self._fallback(clf, prepared, REASON_TIMEOUT)
        except Exception:
            logger.exception("the transformer failed on %d post(s); answering from the fallback", n)
            return self._fallback(clf, prepared, REASON_MODEL_ERROR)
        return Outcome(clf.finish(prepared, probs), None)

    @staticmethod
    async def _prepare(clf: Classifier, texts: Sequence[str]) -> Prepared:
        if sum(len(t) for t in texts) <= INLINE_CHARS:
            return clf.prepare(texts)
        return await run_in_threadpool(clf.prepare, texts)

    @classmethod
    def _fallback(cls, clf: Classifier, prepared: Prepared, reason: str) -> Outcome:
        return cls._noted(clf.finish(prepared, None, use_model=False), reason)

    @staticmethod
    def _noted(results: list[Result], reason: str) -> Outcome:
        for r in results:
            r.notes.append(_NOTES[reason])
        return Outcome(results, reason)

    def close(self) -> None:
        self._batcher.close()
