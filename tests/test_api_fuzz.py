"""Property-based fuzzing of every request body: no input may produce a 5xx.

Bodies mix well-formed requests (with hostile texts: surrogates, control characters, astral
planes, crypto slang, huge and empty strings) with arbitrary JSON and raw bytes. Bounded: a few
hundred examples in all, well under 30 s.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from model.classifier import Classifier
from model.labels import LABELS
from serving.app import create_app
from serving.settings import Settings

ADMIN = "fuzz-admin-key"
MAX_TEXT = 300
FUZZ = settings(max_examples=100, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


class TinyScorer:
    """A fast model stand-in, so the model path is fuzzed too."""

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return np.array([[min(len(t) / 400, 1.0)] * len(LABELS) for t in texts])


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root: Path = tmp_path_factory.mktemp("fuzz")
    cfg = Settings(_env_file=None, database_url=f"sqlite:///{root / 'fuzz.db'}", artifact_path=root / "none",
                   api_keys=[], admin_keys=[ADMIN], max_text_chars=MAX_TEXT, max_batch_items=4,
                   max_body_bytes=32_768, lexicon_refresh_s=0)
    clf = Classifier(model=TinyScorer(), linear=TinyScorer(), version="fuzz")
    with TestClient(create_app(cfg, classifier=clf), raise_server_exceptions=False) as c:
        yield c


SLANG = ["收U", "出U", "binance.com/join?ref=AB12", "okx[.]com", "邀请码", "V❤", "➕V", "t.me/moon_88", "扫码进群",
         "ＯＫＸ", "幣安", "\u200b", "\u202e", "\x00", "\r\n", "😀", "🇨🇳", "𠀀", "\U000e0041", "̈", "a" * 50,
         "0x" + "ab" * 20, "TXyz1234567890abcdefghijkLMNOPQRS", "hxxps://", "@", ".", "/", " "]
hostile_chars = st.characters(exclude_categories=())  # surrogates included
texts = st.one_of(
    st.text(hostile_chars, max_size=80),
    st.lists(st.one_of(st.sampled_from(SLANG), st.text(hostile_chars, max_size=5)), max_size=30).map("".join),
    st.integers(MAX_TEXT - 2, MAX_TEXT + 2).map(lambda n: "收" * n),
)
ids = st.one_of(st.text(min_size=1, max_size=10), st.integers(-(2**70), 2**70), st.none(),
                st.one_of(st.text(hostile_chars, max_size=10), st.booleans(), st.floats()))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(hostile_chars, max_size=10))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=12)
items = st.fixed_dictionaries({"text": texts}, optional={"id": ids, "context": json_values})
labelish = st.sampled_from([*LABELS, "bogus", ""])
tierish = st.sampled_from(["strong", "medium", "weak", "ctx_strong", "ctx_medium", "ctx_weak", "huge"])
terms = st.lists(st.one_of(st.sampled_from(["紫薯", "pump", "u", " ", ""]), st.text(hostile_chars, max_size=8)),
                 max_size=3)


def send(client: TestClient, method: str, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    """Send ``body`` as JSON (surrogates escaped, as a hostile client may) or as raw bytes."""
    content = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=True).encode()
    return client.request(method, path, content=content,
                          headers={"content-type": "application/json", **(headers or {})})


def check(response: Any, sent: Any = None) -> None:
    event(f"status {response.status_code}")  # see the mix with --hypothesis-show-statistics
    assert response.status_code < 500, (response.status_code, response.text[:500])
    body = response.json()
    if response.status_code >= 400:
        assert isinstance(body["detail"], str) and body["detail"]
        return
    answered = body.get("items", [body]) if isinstance(body, dict) else []
    sent_items = sent.get("items", [sent]) if isinstance(sent, dict) else []
    for given_item, item in zip(sent_items, answered):
        if "decision" in item:
            assert item["decision"] in ("allow", "review", "block")
            text = given_item["text"]
            for ev in item["evidence"]:
                assert text[ev["start"]:ev["end"]] == ev["matched"]


@FUZZ
@given(body=st.one_of(items, json_values, st.binary(max_size=64)))
def test_fuzz_moderate(client: TestClient, body: Any) -> None:
    check(send(client, "POST", "/v1/moderate", body), body)


@FUZZ
@given(body=st.one_of(st.fixed_dictionaries({"items": st.lists(st.one_of(items, json_values), max_size=6)}),
                      json_values))
def test_fuzz_moderate_batch(client: TestClient, body: Any) -> None:
    check(send(client, "POST", "/v1/moderate/batch", body), body)


@FUZZ
@given(body=st.one_of(
    st.fixed_dictionaries({"labels": st.lists(st.sampled_from(LABELS), max_size=3, unique=True)
                                     | st.lists(labelish, max_size=4)},
                          optional={"text": texts, "id": ids,
                                    "decision": st.sampled_from(["allow", "review", "block", "x"]),
                                    "reviewer": st.text(max_size=5) | st.text(hostile_chars, max_size=5),
                                    "note": st.text(max_size=20) | json_values}),
    json_values))
def test_fuzz_feedback(client: TestClient, body: Any) -> None:
    check(send(client, "POST", "/v1/feedback", body))


@FUZZ
@given(body=st.one_of(
    st.fixed_dictionaries({}, optional={
        "add": st.dictionaries(labelish, st.dictionaries(tierish, terms, max_size=2), max_size=2),
        "remove": st.dictionaries(labelish, terms, max_size=2),
        "allow_add": terms, "allow_remove": terms, "note": st.text(hostile_chars, max_size=5)}),
    json_values))
def test_fuzz_lexicon_edit_then_moderate(client: TestClient, body: Any) -> None:
    check(send(client, "PUT", "/v1/lexicon", body, {"X-API-Key": ADMIN}))
    probe = {"text": "收U 出U binance.com 紫薯 pump"}
    check(send(client, "POST", "/v1/moderate", probe), probe)
