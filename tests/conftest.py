"""Shared fixtures for the API tests: settings on a SQLite file in tmp_path, started clients."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest


@pytest.fixture
def api_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """``api_settings(**overrides)``: Settings isolated from the caller's environment and .env."""
    from serving.settings import Settings

    for name in list(os.environ):
        if name.startswith("VCGUARD_"):
            monkeypatch.delenv(name)

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {"database_url": f"sqlite:///{tmp_path / 'vcguard.db'}",
                                  "artifact_path": tmp_path / "no-artifact", "lexicon_refresh_s": 0}
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture
def api_client(api_settings: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    """``api_client(classifier=None, **settings)``: a started TestClient, stopped at teardown."""
    from fastapi.testclient import TestClient

    from serving.app import create_app

    with contextlib.ExitStack() as stack:
        def make(classifier: Any = None, **overrides: Any) -> TestClient:
            app = create_app(api_settings(**overrides), classifier=classifier)
            return stack.enter_context(TestClient(app))

        yield make
