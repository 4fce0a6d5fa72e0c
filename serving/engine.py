"""Running the classifier under a per-request model time budget, with micro-batching.

A request is first *prepared* on the event loop (normalization, rules, linear scorer): posts the
screen clears (no rule hit, linear scores near zero) are decided there and never wait for the
transformer. The other posts are cut into windows, which join one queue in arrival order; a few
worker threads (never more than the cores) take windows from its head, as many as fit one model
call, so a long post's windows run on every free worker at once and a request is answered the
moment its own last window is scored, not when a whole batch is. No request waits for a batch to
fill: a lone request runs at once.

When a request misses its budget (or too many are already queued) its prepared posts are decided
without the transformer: keyword rules plus the linear scorer, ``engine="fallback"``. The windows
of a request that timed out are skipped; those already running finish and their scores are
dropped.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from starlette.concurrency import run_in_threadpool

from model.classifier import Classifier, Prepared, Result, Scorer
from model.labels import LABELS
from model.transformer import max_over_windows

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


def _split(model: Scorer, texts: Sequence[str]) -> tuple[list[Any], list[int], bool]:
    """The units of work a request gives ``model``: its windows when the model scores windows
    (:class:`~model.transformer.TransformerScorer`), else its posts. Returns units, each unit's post
    index, and whether the units are windows."""
    windows_of = getattr(model, "windows_of", None)
    if callable(windows_of) and callable(getattr(model, "score_windows", None)):
        rows, owner = windows_of(texts)
        return list(rows), list(owner), True
    return list(texts), list(range(len(texts))), False


class _Job:
    """One request's transformer work: its units, their scores as they arrive, and its future."""

    __slots__ = ("model", "units", "owner", "n_posts", "windowed", "scores", "remaining", "future",
                 "started", "dropped")

    def __init__(self, model: Scorer, texts: Sequence[str]) -> None:
        self.model = model
        self.units, self.owner, self.windowed = _split(model, texts)
        self.n_posts = len(texts)
        self.scores = np.zeros((len(self.units), len(LABELS)))
        self.remaining = len(self.units)
        self.future: Future[np.ndarray] = Future()
        self.started = False
        self.dropped = False  # the caller gave up or a call failed: skip the units left


class BatcherClosed(RuntimeError):
    """Raised by :meth:`MicroBatcher.submit` once the batcher is closed (the app is stopping)."""


class Ticket:
    """What :meth:`MicroBatcher.submit` returns: the future of the scores, and a way to give up."""

    def __init__(self, job: _Job) -> None:
        self._job = job
        self.future = job.future

    def abandon(self) -> None:
        """Skip this request's units not yet started (its caller answers without them)."""
        self._job.dropped = True


class MicroBatcher:
    """Worker threads that score queued requests unit by unit, in arrival order.

    A unit is one window of a post for the transformer (so a long post's windows run on every free
    worker at once and its future resolves as soon as its last window is scored), or one post for
    a scorer without windows. A worker takes as many waiting units of one model as fit one call:
    up to ``max_batch``, and no more windows than the model's ``batch_size`` (1 for int8).
    """

    def __init__(self, workers: int, max_batch: int) -> None:
        if workers < 1 or max_batch < 1:
            raise ValueError(f"workers and max_batch must be >= 1, got {workers!r} and {max_batch!r}")
        self.max_batch = max_batch
        self._pending: deque[tuple[_Job, int]] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._threads = [threading.Thread(target=self._run, name=f"vcguard-model-{i}", daemon=True)
                         for i in range(workers)]
        for thread in self._threads:
            thread.start()

    def submit(self, model: Scorer, texts: Sequence[str]) -> Ticket:
        """Queue ``texts`` for ``model``; the ticket's future resolves to their scores, one row per text."""
        job = _Job(model, texts)
        if job.remaining == 0:
            job.future.set_running_or_notify_cancel()
            job.future.set_result(np.zeros((job.n_posts, len(LABELS))))
            return Ticket(job)
        with self._cond:
            if self._closed:
                raise BatcherClosed("the batcher is closed")
            self._pending.extend((job, i) for i in range(len(job.units)))
            self._cond.notify(len(job.units))
        return Ticket(job)

    def _per_call(self, job: _Job) -> int:
        if job.windowed:
            return max(1, min(int(getattr(job.model, "batch_size", 1)), self.max_batch))
        return self.max_batch

    def _take(self) -> list[tuple[_Job, int]] | None:
        with self._cond:
            while not self._pending:
                if self._closed:
                    return None
                self._cond.wait()
            first = self._pending[0][0]
            limit = self._per_call(first)
            taken: list[tuple[_Job, int]] = []
            while self._pending and len(taken) < limit:
                job, unit = self._pending[0]
                if job.model is not first.model:  # a model swap puts the two models' units in separate calls
                    break
                self._pending.popleft()
                if not job.started:
                    job.started = True
                    # a job whose caller already gave up (time budget) is dropped before any work
                    if not job.future.set_running_or_notify_cancel():
                        job.dropped = True
                if job.dropped:
                    self._finish_unit(job)
                    continue
                taken.append((job, unit))
            return taken

    def _run(self) -> None:
        while (taken := self._take()) is not None:
            if taken:
                self._score(taken)

    def _score(self, taken: list[tuple[_Job, int]]) -> None:
        job0 = taken[0][0]
        units = [job.units[unit] for job, unit in taken]
        try:
            if job0.windowed:
                probs = np.asarray(job0.model.score_windows(units), dtype=float)  # type: ignore[attr-defined]
            else:
                probs = np.asarray(job0.model.predict_proba(units), dtype=float)
            if probs.shape != (len(units), len(LABELS)):
                raise ValueError(f"the transformer returned shape {probs.shape}, expected {(len(units), len(LABELS))}")
        except BaseException as exc:  # the callers fall back; this thread must live on
            with self._cond:
                for job, _ in taken:
                    job.dropped = True
                    if not job.future.done():
                        job.future.set_exception(exc)
                    self._finish_unit(job)
            return
        with self._cond:
            for (job, unit), row in zip(taken, probs):
                job.scores[unit] = row
                self._finish_unit(job)

    @staticmethod
    def _finish_unit(job: _Job) -> None:
        """Count one unit of ``job`` as done (scored or skipped); resolve its future after the last."""
        job.remaining -= 1
        if job.remaining or job.future.done():
            return
        if job.dropped:
            if job.future.running():  # abandoned after it started: resolve so waiters are released
                job.future.set_exception(TimeoutError("abandoned by its caller"))
            return
        job.future.set_result(max_over_windows(job.scores, job.owner, job.n_posts))

    def close(self) -> None:
        """Stop the workers once the units already queued are done."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()


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
            ticket = self._batcher.submit(model, prepared.model_views())
        except BatcherClosed:  # the app is stopping
            self._slots.release()
            return self._fallback(clf, prepared, REASON_BUSY)
        except Exception:  # cutting the posts into windows failed (the tokenizer)
            self._slots.release()
            logger.exception("the transformer could not take %d post(s); answering from the fallback",
                             len(prepared.needs_model))
            return self._fallback(clf, prepared, REASON_MODEL_ERROR)
        future = ticket.future
        future.add_done_callback(lambda _f: self._slots.release())
        n = len(prepared.needs_model)
        try:
            probs = await asyncio.wait_for(asyncio.wrap_future(future), self.budget_s(n))
        except TimeoutError:
            ticket.abandon()
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
