"""``GET /v1/lexicon`` and ``PUT /v1/lexicon`` (admin key): live block / allow term edits."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import select

from serving.db import LexiconEdit
from serving.deps import AdminKey, SessionDep, StateDep, key_fingerprint
from serving.routers.moderate import ERRORS
from serving.schemas import ErrorResponse, LexiconEditRequest, LexiconResponse
from serving.state import AppState

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/lexicon", tags=["lexicon"])

HISTORY = 20
ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS, 403: {"model": ErrorResponse, "description": "not an admin key, or no admin key configured"}}


def describe(state: AppState, session: Any) -> dict[str, Any]:
    live = state.lexicon
    lexicon = live.current
    rows = session.scalars(select(LexiconEdit).order_by(LexiconEdit.id.desc()).limit(HISTORY))
    return {
        "version": lexicon.version, "digest": lexicon.digest, "base_version": live.base_version,
        "edits_applied": live.applied, "edits_skipped": live.skipped,
        "labels": lexicon.document.get("labels", {}), "allow": list(lexicon.document.get("allow", [])),
        "history": [{"id": r.id, "created_at": r.created_at, "edits": r.edits, "actor": r.actor, "note": r.note}
                    for r in rows],
    }


@router.get("", response_model=LexiconResponse, responses=ADMIN_ERRORS, summary="The live lexicon")
def get_lexicon(state: StateDep, session: SessionDep, _admin: AdminKey) -> dict[str, Any]:
    """Block terms per label and tier, allow-contexts, version and recent edits."""
    state.lexicon.refresh(state.sessions)
    return describe(state, session)


@router.put("", response_model=LexiconResponse, responses=ADMIN_ERRORS, summary="Add or remove terms")
def put_lexicon(body: LexiconEditRequest, state: StateDep, session: SessionDep, admin: AdminKey) -> dict[str, Any]:
    """Applies the edit to the running service at once (the next request uses it) and stores it,
    so a restart replays it. Adding a present term or removing an absent one changes nothing."""
    try:
        state.lexicon.apply(session, body.to_edits(), actor=key_fingerprint(admin), note=body.note)
    except (ValueError, TypeError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"lexicon edit rejected: {exc}") from exc
    state.metrics.lexicon_edits.set(state.lexicon.applied)
    return describe(state, session)
