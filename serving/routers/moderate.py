"""``POST /v1/moderate`` and ``POST /v1/moderate/batch``."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from fastapi import APIRouter, HTTPException

from model.classifier import Result
from serving.deps import ClientKey, StateDep
from serving.schemas import (BatchRequest, BatchResponse, ErrorResponse, ModerateRequest, ModerateResponse,
                             ValidationErrorResponse)
from serving.state import AppState

logger = logging.getLogger(__name__)

HTTP_413 = 413  # "Content Too Large" (RFC 9110); the constant's name differs across Starlette versions

router = APIRouter(prefix="/v1/moderate", tags=["moderate"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "missing or invalid API key"},
    413: {"model": ErrorResponse, "description": "text or batch over the configured limit"},
    422: {"model": ValidationErrorResponse, "description": "malformed JSON or fields"},
}


def check_text_size(text: str, limit: int, where: str = "text") -> None:
    """413 for a text over ``limit`` characters."""
    if len(text) > limit:
        raise HTTPException(HTTP_413,
                            f"{where} is {len(text)} characters; the limit is {limit} (max_text_chars)")


def to_response(result: Result, post_id: str | None, latency_ms: float, degraded: bool) -> dict[str, Any]:
    """The response body. Built field by field: ``Result.to_dict`` deep-copies through
    ``dataclasses.asdict``, which costs about half as much as classifying a short post."""
    entities = result.entities
    return {
        "id": post_id if post_id is not None else uuid.uuid4().hex,
        "decision": result.decision,
        "reasons": [item["reason_code"] for item in result.labels if item["action"] != "allow"],
        "labels": result.labels,
        "evidence": [{"label": e.label, "kind": e.kind, "rule_id": e.rule_id, "matched": e.matched, "start": e.start,
                      "end": e.end, "weight": e.weight} for e in result.evidence],
        "entities": {"urls": entities.urls, "domains": entities.domains, "handles": entities.handles,
                     "invite_codes": entities.invite_codes, "wallets": entities.wallets},
        "engine": result.engine,
        "model_version": result.model_version,
        "lexicon_version": result.lexicon_version,
        "latency_ms": latency_ms,
        "degraded": degraded,
        "notes": result.notes,
    }


async def _moderate(state: AppState, items: list[ModerateRequest]) -> tuple[list[dict[str, Any]], float]:
    started = time.perf_counter()
    clf = state.classifier  # one snapshot per request: a lexicon swap never splits a batch
    outcome = await state.moderator.classify(clf, [item.text for item in items])
    latency_ms = round((time.perf_counter() - started) * 1000, 3)
    state.metrics.observe_results(outcome.results, outcome.fallback_reason)
    degraded = clf.degraded_reason is not None
    bodies = [to_response(r, item.id, latency_ms, degraded) for item, r in zip(items, outcome.results)]
    if logger.isEnabledFor(logging.INFO):
        for item, body in zip(items, bodies):
            extra = f" text={item.text!r}" if state.settings.log_text else ""
            logger.info("moderated id=%s decision=%s reasons=%s engine=%s chars=%d ms=%.1f%s", body["id"],
                        body["decision"], ",".join(body["reasons"]) or "-", body["engine"], len(item.text),
                        latency_ms, extra)
    return bodies, latency_ms


@router.post("", response_model=ModerateResponse, responses=ERRORS, summary="Classify one post")
async def moderate(body: ModerateRequest, state: StateDep, _key: ClientKey) -> dict[str, Any]:
    """Decision (block / review / allow), per-label scores and reason codes, evidence with offsets
    into the text as sent, and extracted entities. Always 200 for a readable request, whatever
    the decision; answered from the keyword fallback when the model is unavailable or late."""
    check_text_size(body.text, state.settings.max_text_chars)
    bodies, _ = await _moderate(state, [body])
    return bodies[0]


@router.post("/batch", response_model=BatchResponse, responses=ERRORS, summary="Classify several posts")
async def moderate_batch(body: BatchRequest, state: StateDep, _key: ClientKey) -> dict[str, Any]:
    """Up to ``max_batch_items`` posts, answered in the order given."""
    limit = state.settings.max_batch_items
    if len(body.items) > limit:
        raise HTTPException(HTTP_413,
                            f"batch holds {len(body.items)} items; the limit is {limit} (max_batch_items)")
    for i, item in enumerate(body.items):
        check_text_size(item.text, state.settings.max_text_chars, f"items[{i}].text")
    bodies, latency_ms = await _moderate(state, body.items)
    return {"items": bodies, "count": len(bodies), "latency_ms": latency_ms,
            "degraded": state.classifier.degraded_reason is not None}
