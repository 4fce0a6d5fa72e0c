"""One pure-ASGI middleware: body-size limit (413), request metrics, the degraded header."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.metrics import Metrics

logger = logging.getLogger(__name__)

DEGRADED_HEADER = b"x-vcguard-degraded"


class BodyTooLarge(HTTPException):
    """The request body passed the byte limit while being read (an HTTPException, so the
    framework's body parsing re-raises it and the exception middleware answers 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large_message(limit))


class ServiceMiddleware:
    """Counts and times every HTTP request by route template, caps the body size, and marks
    every response with ``X-VCGuard-Degraded: true`` while the model is unavailable."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_code = 500
        response_started = False
        limit = self.max_body_bytes

        length = _content_length(scope)
        if length is not None and length > limit:
            await _too_large(send, limit)
            self._observe(scope, 413, started)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal status_code, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status_code = message["status"]
                if _degraded(scope):
                    message["headers"] = [*message.get("headers", []), (DEGRADED_HEADER, b"true")]
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if response_started:
                raise
            status_code = 413
            await _too_large(send, limit)
        finally:
            self._observe(scope, status_code, started)

    def _observe(self, scope: Scope, status_code: int, started: float) -> None:
        route = scope.get("route")
        path = getattr(route, "path", None) or "unmatched"
        elapsed = time.perf_counter() - started
        method = scope.get("method", "")
        self.metrics.requests.labels(method, path, str(status_code)).inc()
        self.metrics.latency.labels(method, path).observe(elapsed)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s -> %d in %.1f ms", method, path, status_code, elapsed * 1000)


def _too_large_message(limit: int) -> str:
    return f"request body is over the limit of {limit} bytes (max_body_bytes)"


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _degraded(scope: Scope) -> bool:
    app: Any = scope.get("app")
    state = getattr(getattr(app, "state", None), "vcguard", None)
    return state is not None and state.degraded


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({"detail": _too_large_message(limit)}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
