"""Shared request dependencies: app state, database session, API-key checks.

The cheap ones are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in the
thread pool, and three thread hops per request cost more than classifying a short post."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Iterator

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session

from serving.settings import Settings
from serving.state import AppState

API_KEY_HEADER = "X-API-Key"

api_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False,
                              description="client key; required only when keys are configured")


async def get_state(request: Request) -> AppState:
    state = getattr(request.app.state, "vcguard", None)
    if state is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the service is still starting")
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_settings(state: StateDep) -> Settings:
    return state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_db(state: StateDep) -> Iterator[Session]:
    with state.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db)]


def _matches(key: str, candidates: list[str]) -> bool:
    given = key.encode("utf-8", "surrogatepass")
    found = False
    for candidate in candidates:  # compare against every key: timing does not reveal which matched
        found |= hmac.compare_digest(given, candidate.encode("utf-8"))
    return found


def key_fingerprint(key: str | None) -> str | None:
    """A stable, non-reversible name for a key, for audit columns and logs."""
    if not key:
        return None
    return "key:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": API_KEY_HEADER})


def _settings(request: Request) -> Settings:
    # Read straight from the app (set in create_app) rather than through the state dependency:
    # every dependency level costs FastAPI time on the hot path.
    settings: Settings = request.app.state.settings
    return settings


async def require_api_key(request: Request, key: Annotated[str | None, Security(api_key_header)]) -> str | None:
    """Client endpoints: any API key or admin key, when API keys are configured."""
    settings = _settings(request)
    if not settings.api_keys:
        return key if key and _matches(key, settings.admin_keys) else None
    if not key:
        raise _unauthorized(f"missing {API_KEY_HEADER} header")
    if not _matches(key, settings.api_keys + settings.admin_keys):
        raise _unauthorized("invalid API key")
    return key


async def require_admin(request: Request, key: Annotated[str | None, Security(api_key_header)]) -> str:
    """Lexicon endpoints: an admin key, always (disabled when none is configured)."""
    settings = _settings(request)
    if not settings.admin_keys:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "the lexicon API is disabled: no admin key is configured (VCGUARD_ADMIN_KEYS)")
    if not key:
        raise _unauthorized(f"missing {API_KEY_HEADER} header (admin key required)")
    if _matches(key, settings.admin_keys):
        return key
    if _matches(key, settings.api_keys):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this key may not edit the lexicon: admin key required")
    raise _unauthorized("invalid API key")


ClientKey = Annotated[str | None, Depends(require_api_key)]
AdminKey = Annotated[str, Depends(require_admin)]
