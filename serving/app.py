"""The FastAPI application: ``create_app(settings)``; the classifier is loaded once, in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import asynccontextmanager
from typing import AsyncIterator

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from model.classifier import Classifier
from serving.errors import install_error_handlers
from serving.metrics import Metrics
from serving.middleware import ServiceMiddleware
from serving.routers import feedback, lexicon, meta, metrics, moderate
from serving.settings import Settings
from serving.state import AppState, build_state

logger = logging.getLogger(__name__)

API_VERSION = "1.0.0"
DESCRIPTION = """Flags virtual-currency promotion in posts (zh/en) and leaves discussion alone.

Every decision comes with per-label scores, stable reason codes and evidence whose offsets index
the text as sent. A policy decision is never an HTTP error: 4xx/5xx mean a bad request or a failure.
When the model is unavailable or misses its time budget, the keyword rules (plus the linear scorer)
answer: `engine` says which, and `degraded` is true while the model could not be loaded."""

TAGS = [
    {"name": "moderate", "description": "Classify posts."},
    {"name": "feedback", "description": "Reviewer corrections, stored for retraining."},
    {"name": "lexicon", "description": "Live block / allow term edits (admin key)."},
    {"name": "meta", "description": "Labels, model, health, readiness, metrics."},
]


def create_app(settings: Settings | None = None, *, classifier: Classifier | None = None) -> FastAPI:
    """Build the app. ``classifier`` replaces ``load_classifier(settings.artifact_path)`` (tests, tools)."""
    settings = settings if settings is not None else Settings()
    app_metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = await run_in_threadpool(build_state, settings, app_metrics, classifier)
        app.state.vcguard = state
        refresher = None
        if settings.lexicon_refresh_s > 0:
            refresher = asyncio.create_task(_refresh_lexicon(state, settings.lexicon_refresh_s))
        try:
            yield
        finally:
            if refresher is not None:
                refresher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await refresher
            app.state.vcguard = None
            state.close()

    app = FastAPI(title="vcguard", version=API_VERSION, description=DESCRIPTION, openapi_tags=TAGS,
                  lifespan=lifespan)
    app.state.settings = settings
    app.state.metrics = app_metrics
    app.state.vcguard = None
    app.add_middleware(ServiceMiddleware, metrics=app_metrics, max_body_bytes=settings.max_body_bytes)
    install_error_handlers(app)
    for module in (moderate, feedback, lexicon, meta, metrics):
        app.include_router(module.router)
    return app


async def _refresh_lexicon(state: AppState, every_s: float) -> None:
    """Pick up lexicon edits stored by other worker processes."""
    while True:
        await asyncio.sleep(every_s)
        try:
            if await run_in_threadpool(state.lexicon.refresh, state.sessions):
                state.metrics.lexicon_edits.set(state.lexicon.applied)
                logger.info("lexicon refreshed from the database: %s", state.lexicon.current.version)
        except Exception:  # a database hiccup must not stop the poller
            logger.exception("lexicon refresh failed; will retry")


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory serving.app:app_from_env`` (settings from the environment)."""
    return create_app(Settings())
