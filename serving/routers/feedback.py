"""``POST /v1/feedback``: a reviewer's labels for a post, stored for retraining."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, status

from serving.db import Feedback
from serving.deps import ClientKey, SessionDep, SettingsDep
from serving.routers.moderate import ERRORS, check_text_size
from serving.schemas import ErrorResponse, FeedbackRequest, FeedbackResponse

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/feedback", tags=["feedback"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=FeedbackResponse,
             responses={**ERRORS, 503: {"model": ErrorResponse, "description": "the database is unavailable"}},
             summary="Store a reviewer's labels")
def post_feedback(body: FeedbackRequest, session: SessionDep, settings: SettingsDep, _key: ClientKey) -> dict[str, Any]:
    """Stored durably; ``vcguard feedback export`` turns it into corpus rows (rows need the text)."""
    if body.text is not None:
        check_text_size(body.text, settings.max_text_chars)
    row = Feedback(post_id=body.id, text=body.text, labels=list(body.labels), decision=body.decision,
                   reviewer=body.reviewer, note=body.note)
    session.add(row)
    session.commit()
    extra = f" text={body.text!r}" if settings.log_text else ""
    logger.info("feedback %d stored: id=%s labels=%s%s", row.id, body.id, ",".join(body.labels) or "-", extra)
    return {"feedback_id": row.id, "created_at": row.created_at}
