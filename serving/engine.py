"""Running the classifier under a per-request model time budget.

The model path runs in a small thread pool; when it misses its budget (or too many model calls
are already in flight) the request is answered by ``classify_batch(texts, use_model=False)``:
keyword rules plus the linear scorer, ``engine="fallback"``. A late model call finishes in the
background and its answer is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
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


class Moderator:
    """Classifies with the model when it answers in time, with the fallback otherwise."""

    def __init__(self, *, budget_ms: float, budget_per_item_ms: float, workers: int, max_pending: int,
                 fallback_only: bool = False) -> None:
        if budget_ms <= 0:
            raise ValueError(f"budget_ms must be > 0, got {budget_ms!r}")
        if workers < 1 or max_pending < 1:
            raise ValueError(f"workers and max_pending must be >= 1, got {workers!r} and {max_pending!r}")
        self.budget_ms = budget_ms
        self.budget_per_item_ms = budget_per_item_ms
        self.fallback_only = fallback_only
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vcguard-model")
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
            future: Future[list[Result]] = self._executor.submit(clf.classify_batch, list(texts))
        except RuntimeError:  # the pool is shut down: the app is stopping
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
        self._executor.shutdown(wait=False, cancel_futures=True)
