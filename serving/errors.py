"""Error bodies: ``{"detail": "..."}`` everywhere; 422 adds a per-field list. Never echoes input."""

from __future__ import annotations

import logging
from typing import Any, Sequence

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)

MAX_LISTED = 5
BODY_PARSE_ERROR = "There was an error parsing the body"  # FastAPI's detail for an undecodable body


def _loc(parts: Sequence[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(error: dict[str, Any]) -> str:
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "malformed JSON")
        where = error.get("loc", ("body", 0))[-1]
        return f"not valid JSON: {reason} (at character {where})"
    if tuple(error.get("loc", ())) == ("body",):
        if error.get("type") == "missing":
            return "a JSON body is required (Content-Type: application/json)"
        if error.get("type") in ("model_attributes_type", "dict_type", "model_type"):
            return "must be a JSON object, sent with Content-Type: application/json"
    msg = str(error.get("msg", "invalid value"))
    return msg.removeprefix("Value error, ")


def readable_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    out = []
    for error in exc.errors():
        loc = error.get("loc", ())
        out.append({"loc": "body" if error.get("type") == "json_invalid" else _loc(loc), "msg": _message(error),
                    "type": str(error.get("type", "value_error"))})
    return out


async def validation_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = readable_errors(exc)
    summary = "; ".join(f"{e['loc']}: {e['msg']}" for e in errors[:MAX_LISTED])
    if len(errors) > MAX_LISTED:
        summary += f"; and {len(errors) - MAX_LISTED} more"
    return JSONResponse({"detail": summary or "invalid request", "errors": errors},
                        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def http_handler(request: Request, exc: Exception) -> Response:
    """FastAPI's own handler, except that an undecodable body is malformed JSON: 422, not 400."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == BODY_PARSE_ERROR:
        message = "not valid JSON: the body could not be decoded (send UTF-8 JSON)"
        return JSONResponse({"detail": f"body: {message}", "errors": [{"loc": "body", "msg": message,
                                                                       "type": "json_invalid"}]},
                            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)
    return await http_exception_handler(request, exc)


async def database_handler(request: Request, exc: Exception) -> JSONResponse:
    logger.error("database error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return JSONResponse({"detail": "the database is unavailable; try again later"},
                        status_code=status.HTTP_503_SERVICE_UNAVAILABLE)


async def internal_handler(request: Request, exc: Exception) -> JSONResponse:
    logger.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path,
                 exc_info=(type(exc), exc, exc.__traceback__))
    return JSONResponse({"detail": "internal error"}, status_code=status.HTTP_500_INTERNAL_SERVER_ERROR)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_handler)
    app.add_exception_handler(StarletteHTTPException, http_handler)
    app.add_exception_handler(SQLAlchemyError, database_handler)
    app.add_exception_handler(Exception, internal_handler)
