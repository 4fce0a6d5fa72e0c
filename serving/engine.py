"""Running the classifier under a per-request model time budget, with micro-batching.

Model requests go into one queue that a few worker threads drain: a free worker takes every
request waiting (up to ``max_batch`` posts) and classifies them in one ``classify_batch`` call, so
under concurrency the model threads never outnumber the cores and one thread hop serves many
requests. No request waits for a batch to fill: a lone request runs at once.

When a request misses its budget (or too many are already queued) it is answered by
``classify_batch(texts, use_model=False)``: keyword rules plus the linear scorer,
``engine="fallback"``. A request that timed out before a worker took it is skipped; one already
running finishes in the background and its answer is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Sequence

from starlette.concurrency import run_in_threadpool

from model.classifier import ENGINE_MODEL, Classifier, Result

logger = logging.getLogger(__name__)

# Below this many characters in a request, the rules run on the event loop: a thread hop costs
# more than the work (~0.3 ms per short post); longer requests go to the thread pool.
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
    clf: Classifier
    texts: list[str]
    future: Future[list[Result]]


class MicroBatcher:
    """Worker threads that run queued ``classify_batch`` jobs together, up to ``max_batch`` posts."""

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

    def submit(self, clf: Classifier, texts: Sequence[str]) -> Future[list[Result]]:
        """Queue ``texts``; the future resolves to their results, in order."""
        if self._closed:
            raise RuntimeError("the batcher is closed")
        future: Future[list[Result]] = Future()
        self._queue.put(_Job(clf, list(texts), future))
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
            # Jobs carry the classifier snapshot of their request; a lexicon swap between two
            # requests puts them in separate calls.
            by_clf: dict[int, list[_Job]] = {}
            for job in jobs:
                by_clf.setdefault(id(job.clf), []).append(job)
            for group in by_clf.values():
                self._classify(group)

    @staticmethod
    def _classify(jobs: list[_Job]) -> None:
        texts = [t for job in jobs for t in job.texts]
        try:
            results = jobs[0].clf.classify_batch(texts)
        except BaseException as exc:  # the callers fall back; this thread must live on
            for job in jobs:
                job.future.set_exception(exc)
            return
        start = 0
        for job in jobs:
            job.future.set_result(results[start:start + len(job.texts)])
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
        if not self.uses_model(clf):
            reason = None
            if clf.degraded_reason is not None:
                reason = REASON_DEGRADED
            elif self.fallback_only and clf.model is not None:
                reason = REASON_FORCED
            return Outcome(await self._fallback(clf, texts), reason)
        if not self._slots.acquire(blocking=False):
            return self._noted(await self._fallback(clf, texts), REASON_BUSY)
        try:
            future = self._batcher.submit(clf, texts)
        except RuntimeError:  # the batcher is closed: the app is stopping
            self._slots.release()
            return self._noted(await self._fallback(clf, texts), REASON_BUSY)
        future.add_done_callback(lambda _f: self._slots.release())
        try:
            results = await asyncio.wait_for(asyncio.wrap_future(future), self.budget_s(len(texts)))
        except TimeoutError:
            logger.warning("model missed its %.0f ms budget for %d post(s); answering from the fallback",
                           self.budget_s(len(texts)) * 1000, len(texts))
            return self._noted(await self._fallback(clf, texts), REASON_TIMEOUT)
        if any(r.engine != ENGINE_MODEL for r in results):  # the scorer raised inside classify_batch
            return self._noted(results, REASON_MODEL_ERROR)
        return Outcome(results, None)

    @staticmethod
    async def _fallback(clf: Classifier, texts: Sequence[str]) -> list[Result]:
        if sum(len(t) for t in texts) <= INLINE_CHARS:
            return clf.classify_batch(texts, use_model=False)
        return await run_in_threadpool(clf.classify_batch, texts, use_model=False)

    @staticmethod
    def _noted(results: list[Result], reason: str) -> Outcome:
        for r in results:
            r.notes.append(_NOTES[reason])
        return Outcome(results, reason)

    def close(self) -> None:
        self._batcher.close()
