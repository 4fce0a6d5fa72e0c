"""``GET /v1/labels``, ``GET /v1/model``, ``GET /healthz``, ``GET /readyz``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status
from starlette.concurrency import run_in_threadpool

from model.decision import REASON_CODES
from model.labels import LABEL_DESCRIPTIONS, LABELS
from serving.deps import ClientKey, StateDep
from serving.routers.moderate import ERRORS
from serving.schemas import Health, LabelInfo, ModelInfo, Readiness

router = APIRouter(tags=["meta"])


@router.get("/v1/labels", response_model=list[LabelInfo], responses=ERRORS, summary="The label set")
def labels(state: StateDep, _key: ClientKey) -> list[dict[str, Any]]:
    """Every label with its description, reason code and the thresholds in force."""
    policy, fallback = state.classifier.policy, state.classifier.fallback_policy
    return [{"label": label, "description": LABEL_DESCRIPTIONS[label], "reason_code": REASON_CODES[label],
             "block": policy.for_label(label).block, "review": policy.for_label(label).review,
             "fallback_block": fallback.for_label(label).block, "fallback_review": fallback.for_label(label).review}
            for label in LABELS]


@router.get("/v1/model", response_model=ModelInfo, responses=ERRORS, summary="The loaded model")
def model_info(state: StateDep, _key: ClientKey) -> dict[str, Any]:
    """Model and lexicon versions, engine, degradation, thresholds and limits."""
    clf = state.classifier
    return {"model_version": clf.version, "engine": state.engine_name, "degraded": state.degraded,
            "degraded_reason": clf.degraded_reason, "lexicon_version": clf.rules.lexicon.version,
            "thresholds": clf.policy.to_mapping(), "fallback_thresholds": clf.fallback_policy.to_mapping(),
            "model_budget_ms": state.settings.model_budget_ms,
            "max_text_chars": state.settings.max_text_chars, "max_batch_items": state.settings.max_batch_items}


@router.get("/healthz", response_model=Health, summary="Liveness")
def healthz() -> dict[str, str]:
    """200 while the process serves HTTP."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, summary="Readiness",
            responses={503: {"model": Readiness, "description": "still starting"}})
async def readyz(request: Request, response: Response) -> dict[str, Any]:
    """200 once the classifier is loaded, also when degraded (it answers from the fallback then):
    ``status`` says ``degraded`` and ``degraded_reason`` why."""
    state = getattr(request.app.state, "vcguard", None)
    if state is None:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return {"ready": False, "status": "starting", "degraded": False, "database": "unknown"}
    database = await run_in_threadpool(state.check_database)
    clf = state.classifier
    degraded = state.degraded or database != "ok"
    return {"ready": True, "status": "degraded" if degraded else "ok", "degraded": state.degraded,
            "degraded_reason": clf.degraded_reason, "engine": state.engine_name, "model_version": clf.version,
            "lexicon_version": clf.rules.lexicon.version, "database": database}
