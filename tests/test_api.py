"""The HTTP API: every endpoint, degraded and model paths, time budget, auth, limits, persistence."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from model.classifier import Classifier
from model.labels import LABEL_INDEX, LABELS
from serving.app import create_app
from serving.deps import get_db, require_api_key
from serving.engine import Moderator
from serving.routers.moderate import to_response
from serving.export import guess_lang
from serving.settings import Settings
from vcguard.cli import main as vcguard_main

SPAM = "币安注册 binance.com/join?ref=VC88A1 邀请码 VC88A1，返佣30%！加V❤ moon_trader88 拉你进群"
BENIGN = "扫码点餐，欢迎光临本店。今天的特价菜是红烧肉。"
ADMIN = "admin-key-0001"
CLIENT = "client-key-0001"
NEW_TERM = "紫薯暗号币"  # not in the shipped lexicon


class FakeScorer:
    """A stand-in model: fixed probabilities, raised for texts containing ``trigger`` (scorers
    read the normalized, lower-cased view)."""

    def __init__(self, trigger: str = "zztrigger", label: str = "crypto_marketing", delay_s: float = 0.0,
                 fail: bool = False) -> None:
        self.trigger, self.label, self.delay_s, self.fail = trigger, label, delay_s, fail
        self.calls = 0

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.fail:
            raise RuntimeError("scorer exploded")
        out = np.full((len(texts), len(LABELS)), 0.02)
        for i, text in enumerate(texts):
            if self.trigger in text:
                out[i, LABEL_INDEX[self.label]] = 0.97
        return out


def model_classifier(**scorer: Any) -> Classifier:
    return Classifier(model=FakeScorer(**scorer), linear=FakeScorer(), version="fake-1")


def check_evidence(text: str, body: dict[str, Any]) -> None:
    for ev in body["evidence"]:
        assert text[ev["start"]:ev["end"]] == ev["matched"], ev


# --- meta endpoints -----------------------------------------------------------------------------
def test_health_ready_labels_model_and_openapi(api_client: Callable[..., TestClient]) -> None:
    client = api_client()
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] and body["degraded"] and body["status"] == "degraded"
    assert "manifest.json missing" in body["degraded_reason"] and body["database"] == "ok"
    labels = client.get("/v1/labels").json()
    assert [item["label"] for item in labels] == list(LABELS)
    assert labels[0]["reason_code"] == "VC01_CRYPTO_MARKETING" and 0 < labels[0]["review"] <= labels[0]["block"]
    model = client.get("/v1/model").json()
    assert model["engine"] == "rules" and model["degraded"] and model["max_text_chars"] == 20000
    schema = client.get("/openapi.json").json()
    for path in ("/v1/moderate", "/v1/moderate/batch", "/v1/feedback", "/v1/lexicon", "/v1/labels",
                 "/v1/model", "/healthz", "/readyz", "/metrics"):
        assert path in schema["paths"], path
    assert schema["components"]["schemas"]["ModerateRequest"]["examples"]


def test_metrics_count_requests_decisions_and_fallbacks(api_client: Callable[..., TestClient]) -> None:
    client = api_client()
    client.post("/v1/moderate", json={"text": SPAM})
    client.post("/v1/moderate", json={"text": BENIGN})
    client.post("/v1/moderate", json={})
    text = client.get("/metrics").text
    assert 'vcguard_http_requests_total{method="POST",route="/v1/moderate",status="200"} 2.0' in text
    assert 'vcguard_http_requests_total{method="POST",route="/v1/moderate",status="422"} 1.0' in text
    assert 'vcguard_http_request_duration_seconds_bucket' in text
    assert 'vcguard_decisions_total{decision="block"} 1.0' in text
    assert 'vcguard_label_actions_total{action="block",label="exchange_link"} 1.0' in text
    assert 'vcguard_fallbacks_total{reason="degraded"} 2.0' in text
    assert "vcguard_degraded 1.0" in text


def test_each_app_has_its_own_metrics_registry(api_client: Callable[..., TestClient]) -> None:
    first = api_client()
    first.post("/v1/moderate", json={"text": SPAM})
    second = api_client()
    assert 'route="/v1/moderate"' not in second.get("/metrics").text


# --- moderation ---------------------------------------------------------------------------------
def test_moderate_spam_blocks_with_reasons_evidence_and_entities(api_client: Callable[..., TestClient]) -> None:
    client = api_client()
    response = client.post("/v1/moderate", json={"text": SPAM, "id": "p1", "context": {"platform": "tieba"}})
    assert response.status_code == 200
    assert response.headers["x-vcguard-degraded"] == "true"
    body = response.json()
    assert body["id"] == "p1" and body["decision"] == "block"
    assert "VC05_EXCHANGE_LINK" in body["reasons"]
    assert body["engine"] == "rules" and body["degraded"] is True
    assert {"kind": "wechat", "value": "moon_trader88"} in body["entities"]["handles"]
    assert "binance.com" in body["entities"]["domains"] and "VC88A1" in body["entities"]["invite_codes"]
    assert body["evidence"] and body["latency_ms"] >= 0 and body["lexicon_version"]
    check_evidence(SPAM, body)
    flagged = [item["reason_code"] for item in body["labels"] if item["action"] != "allow"]
    assert body["reasons"] == flagged


def test_moderate_benign_allows_and_ids_are_echoed_or_generated(api_client: Callable[..., TestClient]) -> None:
    client = api_client()
    body = client.post("/v1/moderate", json={"text": BENIGN, "id": 12345}).json()
    assert body["decision"] == "allow" and body["reasons"] == [] and body["id"] == "12345"
    generated = client.post("/v1/moderate", json={"text": BENIGN}).json()["id"]
    assert len(generated) == 32


@pytest.mark.parametrize("text", ["", "   \n\t ", "🚀🚀🔥💰", "\x00\x01\x07\x1b[31m\x7f", "\u200b\u200d\ufeff",
                                  "a" * 20000, "\U0001f600" * 5000 + " 收U出U"])
def test_odd_texts_are_answered(api_client: Callable[..., TestClient], text: str) -> None:
    response = api_client().post("/v1/moderate", json={"text": text})
    assert response.status_code == 200, response.text
    check_evidence(text, response.json())


def test_offsets_index_the_text_as_sent_with_astral_characters(api_client: Callable[..., TestClient]) -> None:
    text = "😀😀 ＯＫＸ 注册 okx[.]com 邀请码 ABC123 𠀀"
    body = api_client().post("/v1/moderate", json={"text": text}).json()
    assert body["evidence"]
    check_evidence(text, body)


def test_response_body_carries_everything_result_to_dict_does() -> None:
    result = Classifier().classify(SPAM)
    body = to_response(result, "x", 1.5, False)
    assert {k: body[k] for k in result.to_dict()} == result.to_dict()
    assert body["id"] == "x" and body["latency_ms"] == 1.5 and body["degraded"] is False


def test_batch_answers_in_order(api_client: Callable[..., TestClient]) -> None:
    client = api_client()
    items = [{"id": "a", "text": SPAM}, {"text": BENIGN}, {"id": 3, "text": "收U 出U 大量现金秒到"}, {"text": ""}]
    response = client.post("/v1/moderate/batch", json={"items": items})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4 and body["degraded"] is True
    assert [item["id"] for item in body["items"]][0::2] == ["a", "3"]
    assert [item["decision"] for item in body["items"]] == ["block", "allow", "block", "allow"]
    for sent, got in zip(items, body["items"]):
        check_evidence(sent["text"], got)


# --- limits and validation ----------------------------------------------------------------------
def test_size_limits_answer_413(api_client: Callable[..., TestClient]) -> None:
    client = api_client(max_text_chars=100, max_batch_items=3, max_body_bytes=4096)
    assert client.post("/v1/moderate", json={"text": "x" * 100}).status_code == 200
    too_long = client.post("/v1/moderate", json={"text": "x" * 101})
    assert too_long.status_code == 413 and "101 characters; the limit is 100" in too_long.json()["detail"]
    batch = client.post("/v1/moderate/batch", json={"items": [{"text": "a"}] * 4})
    assert batch.status_code == 413 and "4 items; the limit is 3" in batch.json()["detail"]
    item = client.post("/v1/moderate/batch", json={"items": [{"text": "a"}, {"text": "y" * 101}]})
    assert item.status_code == 413 and "items[1].text" in item.json()["detail"]
    body = client.post("/v1/moderate", content=b'{"text": "' + b"z" * 5000 + b'"}',
                       headers={"content-type": "application/json"})
    assert body.status_code == 413 and "max_body_bytes" in body.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is enforced while reading
        yield b'{"text": "'
        for _ in range(10):
            yield b"w" * 1000
        yield b'"}'

    streamed = client.post("/v1/moderate", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    assert client.post("/v1/feedback", json={"text": "x" * 101, "labels": []}).status_code == 413


@pytest.mark.parametrize("content, fragment", [
    (b'{"text": ', "not valid JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b'{"text": "\xff\xfe"}', "could not be decoded"),
    (b"", "a JSON body is required"),
    (b'{"text": 5}', "body.text: Input should be a valid string"),
    (b'{"id": "x"}', "body.text: Field required"),
    (b'{"text": "\\ud800abc"}', "unpaired surrogate"),
    (b'{"text": "ok", "id": ""}', "body.id"),
    (b'{"text": "ok", "id": true}', "body.id"),
])
def test_malformed_requests_get_readable_422(api_client: Callable[..., TestClient], content: bytes,
                                              fragment: str) -> None:
    response = api_client().post("/v1/moderate", content=content, headers={"content-type": "application/json"})
    assert response.status_code == 422
    body = response.json()
    assert fragment in body["detail"], body
    assert body["errors"] and all(set(e) == {"loc", "msg", "type"} for e in body["errors"])


def test_validation_errors_do_not_echo_the_text(api_client: Callable[..., TestClient]) -> None:
    response = api_client().post("/v1/moderate/batch", json={"items": [{"text": "SECRET-POST-TEXT", "id": ""}]})
    assert response.status_code == 422 and "SECRET-POST-TEXT" not in response.text
    assert api_client().post("/v1/moderate/batch", json={"items": []}).status_code == 422


# --- degraded and model paths -------------------------------------------------------------------
@pytest.mark.parametrize("manifest", [None, "{not json", '{"schema": "something-else"}'])
def test_missing_or_corrupt_artifact_degrades_but_answers(api_client: Callable[..., TestClient], tmp_path: Path,
                                                          manifest: str | None) -> None:
    artifact = tmp_path / "artifact"
    if manifest is not None:
        artifact.mkdir()
        (artifact / "manifest.json").write_text(manifest, encoding="utf-8")
    client = api_client(artifact_path=artifact)
    ready = client.get("/readyz").json()
    assert ready["ready"] and ready["degraded"] and ready["degraded_reason"]
    for path in ("/healthz", "/readyz", "/v1/labels"):
        assert client.get(path).headers["x-vcguard-degraded"] == "true"
    body = client.post("/v1/moderate", json={"text": SPAM}).json()
    assert body["degraded"] is True and body["engine"] in ("fallback", "rules") and body["decision"] == "block"


def test_model_path_answers_with_model_scores(api_client: Callable[..., TestClient]) -> None:
    client = api_client(classifier=model_classifier())
    assert client.get("/readyz").json()["status"] == "ok"
    response = client.post("/v1/moderate", json={"text": "今天ZZTRIGGER一下"})
    assert "x-vcguard-degraded" not in response.headers
    body = response.json()
    assert body["engine"] == "model" and body["degraded"] is False and body["model_version"] == "fake-1"
    assert body["decision"] == "block" and body["reasons"] == ["VC01_CRYPTO_MARKETING"]
    first = body["labels"][0]
    assert first["model_score"] == 0.97 and first["linear_score"] == 0.97
    assert client.post("/v1/moderate", json={"text": BENIGN}).json()["decision"] == "allow"
    assert client.get("/v1/model").json()["engine"] == "model"


@pytest.fixture(scope="module")
def tiny_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real artifact (2-layer random BERT, ONNX, linear scorer) from two training steps."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tiny_model import build_tiny_base
    from training.config import TrainConfig
    from data.schema import validate_file
    from training.train import train

    corpus = Path(__file__).parent / "fixtures" / "corpus_small"
    root = tmp_path_factory.mktemp("api-artifact")
    texts = [r.text for name in ("train", "dev") for r in validate_file(corpus / f"{name}.jsonl")]
    base = build_tiny_base(root / "base", texts + ["query: "])
    cfg = TrainConfig(split_dir=str(corpus), output_dir=str(root / "run"), base_model=str(base), max_length=32,
                      stride=16, batch_size=4, eval_steps=1, epochs=1, threads=1, quantize=False, max_train_rows=None)
    return train(cfg, max_steps=2)


def test_tiny_artifact_is_served_by_the_model(api_client: Callable[..., TestClient], tiny_artifact: Path) -> None:
    client = api_client(artifact_path=tiny_artifact)
    ready = client.get("/readyz").json()
    assert ready["status"] == "ok" and not ready["degraded"] and ready["engine"] == "model"
    version = json.loads((tiny_artifact / "manifest.json").read_text("utf-8"))["version"]
    body = client.post("/v1/moderate", json={"text": SPAM}).json()
    assert body["engine"] == "model" and body["model_version"] == version and body["degraded"] is False
    assert {"model_score", "linear_score"} <= set(body["labels"][0])
    check_evidence(SPAM, body)
    batch = client.post("/v1/moderate/batch", json={"items": [{"text": SPAM}, {"text": BENIGN}]}).json()
    assert [item["engine"] for item in batch["items"]] == ["model", "model"]


def test_corrupt_onnx_in_the_artifact_degrades_to_the_linear_fallback(
        api_client: Callable[..., TestClient], tiny_artifact: Path, tmp_path: Path) -> None:
    broken = tmp_path / "corrupt"
    shutil.copytree(tiny_artifact, broken)
    (broken / "model.onnx").write_bytes(b"not a model")
    client = api_client(artifact_path=broken)
    ready = client.get("/readyz").json()
    assert ready["degraded"] and "transformer unavailable" in ready["degraded_reason"]
    response = client.post("/v1/moderate", json={"text": SPAM})
    body = response.json()
    assert response.headers["x-vcguard-degraded"] == "true"
    assert body["engine"] == "fallback" and body["degraded"] is True and body["decision"] == "block"
    assert body["labels"][0]["linear_score"] is not None and body["labels"][0]["model_score"] is None


def test_slow_model_misses_its_budget_and_the_fallback_answers(api_client: Callable[..., TestClient]) -> None:
    clf = model_classifier(delay_s=0.6)
    client = api_client(classifier=clf, model_budget_ms=50)
    started = time.perf_counter()
    body = client.post("/v1/moderate", json={"text": SPAM}).json()
    assert time.perf_counter() - started < 0.5
    assert body["engine"] == "fallback" and "model_time_budget_exceeded" in body["notes"]
    assert body["degraded"] is False and body["decision"] == "block"
    assert 'vcguard_fallbacks_total{reason="timeout"} 1.0' in client.get("/metrics").text


def test_failing_model_falls_back_per_request(api_client: Callable[..., TestClient]) -> None:
    body = api_client(classifier=model_classifier(fail=True)).post("/v1/moderate", json={"text": SPAM}).json()
    assert body["engine"] == "fallback" and "model_error" in body["notes"] and body["decision"] == "block"


def test_fallback_only_setting_never_calls_the_model(api_client: Callable[..., TestClient]) -> None:
    clf = model_classifier()
    client = api_client(classifier=clf, fallback_only=True)
    body = client.post("/v1/moderate", json={"text": "ZZTRIGGER"}).json()
    assert body["engine"] == "fallback" and clf.model.calls == 0  # type: ignore[union-attr]
    assert client.get("/v1/model").json()["engine"] == "fallback"


def test_busy_model_pool_sends_extra_requests_to_the_fallback() -> None:
    clf = model_classifier(delay_s=0.3)
    moderator = Moderator(budget_ms=2000, budget_per_item_ms=0, workers=1, max_pending=1)

    async def two_at_once() -> list[str | None]:
        outcomes = await asyncio.gather(moderator.classify(clf, ["a"]), moderator.classify(clf, ["b"]))
        return [o.fallback_reason for o in outcomes]

    try:
        assert sorted(asyncio.run(two_at_once()), key=lambda r: r or "") == [None, "busy"]
    finally:
        moderator.close()
    with pytest.raises(ValueError, match="budget_ms"):
        Moderator(budget_ms=0, budget_per_item_ms=0, workers=1, max_pending=1)


def test_concurrent_requests_share_one_model_call_and_get_their_own_answers() -> None:
    clf = model_classifier(delay_s=0.3)
    moderator = Moderator(budget_ms=5000, budget_per_item_ms=0, workers=1, max_pending=16, max_batch=16)
    texts = [["first"], ["zztrigger one"], ["plain"], ["zztrigger two", "plain two"]]

    async def all_at_once() -> list[list[str]]:
        first = asyncio.ensure_future(moderator.classify(clf, texts[0]))
        await asyncio.sleep(0.1)  # the lone first request runs at once; the rest queue behind it
        outcomes = await asyncio.gather(first, *(moderator.classify(clf, t) for t in texts[1:]))
        return [[r.decision for r in o.results] for o in outcomes]

    try:
        decisions = asyncio.run(all_at_once())
    finally:
        moderator.close()
    # two model calls: the first request alone, then the three that queued meanwhile, together
    assert clf.model.calls == 2  # type: ignore[union-attr]
    assert [len(d) for d in decisions] == [1, 1, 1, 2]
    assert decisions[1] == ["block"] and decisions[3][0] == "block"
    assert decisions[0] == ["allow"] and decisions[2] == ["allow"] and decisions[3][1] == "allow"


def test_a_request_that_timed_out_in_the_queue_is_never_classified() -> None:
    clf = model_classifier(delay_s=0.4)
    moderator = Moderator(budget_ms=100, budget_per_item_ms=0, workers=1, max_pending=16)

    async def two() -> list[str | None]:
        outcomes = await asyncio.gather(moderator.classify(clf, ["a"]), moderator.classify(clf, ["b"]))
        await asyncio.sleep(0.6)  # let the worker finish the first and look at the queue again
        return [o.fallback_reason for o in outcomes]

    try:
        assert asyncio.run(two()) == ["timeout", "timeout"]
    finally:
        moderator.close()
    assert clf.model.calls == 1  # type: ignore[union-attr]


def test_threshold_overrides_from_settings(api_client: Callable[..., TestClient]) -> None:
    client = api_client(thresholds={"exchange_link": {"block": 1.0, "review": 1.0}, "qr_lure": {"block": 1.0}})
    labels = {item["label"]: item for item in client.get("/v1/labels").json()}
    assert labels["exchange_link"]["block"] == 1.0 and labels["qr_lure"]["review"] < 1.0
    body = client.post("/v1/moderate", json={"text": "binance.com/join?ref=VC88A1"}).json()
    assert "VC05_EXCHANGE_LINK" not in body["reasons"]


# --- auth ---------------------------------------------------------------------------------------
def test_api_keys_and_admin_separation(api_client: Callable[..., TestClient]) -> None:
    client = api_client(api_keys=[CLIENT], admin_keys=[ADMIN])
    moderate = {"text": BENIGN}
    missing = client.post("/v1/moderate", json=moderate)
    assert missing.status_code == 401 and "missing X-API-Key" in missing.json()["detail"]
    assert client.post("/v1/moderate", json=moderate, headers={"X-API-Key": "wrong-key-123"}).status_code == 401
    assert client.post("/v1/moderate", json=moderate, headers={"X-API-Key": CLIENT}).status_code == 200
    assert client.post("/v1/moderate", json=moderate, headers={"X-API-Key": ADMIN}).status_code == 200
    assert client.get("/v1/labels").status_code == 401
    for open_path in ("/healthz", "/readyz", "/metrics"):
        assert client.get(open_path).status_code == 200
    edit = {"allow_add": ["某个允许词"]}
    assert client.put("/v1/lexicon", json=edit).status_code == 401
    forbidden = client.put("/v1/lexicon", json=edit, headers={"X-API-Key": CLIENT})
    assert forbidden.status_code == 403 and "admin key required" in forbidden.json()["detail"]
    assert client.get("/v1/lexicon", headers={"X-API-Key": CLIENT}).status_code == 403
    assert client.put("/v1/lexicon", json=edit, headers={"X-API-Key": ADMIN}).status_code == 200


def test_no_keys_configured_means_open_api_and_disabled_lexicon(api_client: Callable[..., TestClient]) -> None:
    client = api_client()
    assert client.post("/v1/moderate", json={"text": BENIGN}).status_code == 200
    response = client.get("/v1/lexicon", headers={"X-API-Key": ADMIN})
    assert response.status_code == 403 and "VCGUARD_ADMIN_KEYS" in response.json()["detail"]


def test_auth_dependency_can_be_overridden(api_client: Callable[..., TestClient]) -> None:
    client = api_client(api_keys=[CLIENT])
    client.app.dependency_overrides[require_api_key] = lambda: "test"  # type: ignore[attr-defined]
    assert client.post("/v1/moderate", json={"text": BENIGN}).status_code == 200


# --- feedback -----------------------------------------------------------------------------------
def test_feedback_survives_restart_and_is_exported(api_settings: Callable[..., Settings], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    settings = api_settings()
    with TestClient(create_app(settings)) as client:
        first = client.post("/v1/feedback", json={"id": "p1", "text": "大饼姨太梭哈，上车价速来",
                                                  "labels": ["crypto_marketing"], "decision": "allow",
                                                  "reviewer": "rv7", "note": "slang"})
        assert first.status_code == 201 and first.json()["feedback_id"] == 1
        assert client.post("/v1/feedback", json={"id": "only-an-id", "labels": []}).status_code == 201
    with TestClient(create_app(settings)) as client:  # a restart on the same database
        second = client.post("/v1/feedback", json={"text": "Buy USDT here, best rate, DM me on t.me/otcdesk88",
                                                   "labels": ["exchange_link", "stablecoin_otc"]})
        assert second.json()["feedback_id"] == 3
        client.post("/v1/feedback", json={"text": "大饼姨太梭哈，上车价速来", "labels": ["crypto_marketing", "qr_lure"]})
    out = tmp_path / "exported" / "feedback.jsonl"
    assert vcguard_main(["feedback", "export", str(out), "--database-url", settings.resolved_database_url]) == 0
    assert "2 row(s) written; 1 without text skipped; 1 superseded" in capsys.readouterr().err
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["FB-000003", "FB-000004"]
    assert rows[0]["labels"] == ["stablecoin_otc", "exchange_link"] and rows[0]["lang"] == "en"
    assert rows[1]["labels"] == ["crypto_marketing", "qr_lure"] and rows[1]["lang"] == "zh"
    for row in rows:
        assert set(row) == {"id", "text", "labels", "lang", "group", "source", "note"}
        assert row["source"] == "feedback" and row["group"].startswith("feedback-20")


@pytest.mark.parametrize("body, fragment", [
    ({"labels": ["mining"]}, "text, its id, or both"),
    ({"text": "x", "labels": ["nope"]}, "body.labels[0]"),
    ({"text": "x", "labels": ["mining", "mining"]}, "must not repeat"),
    ({"text": "x"}, "body.labels: Field required"),
])
def test_feedback_validation(api_client: Callable[..., TestClient], body: dict[str, Any], fragment: str) -> None:
    response = api_client().post("/v1/feedback", json=body)
    assert response.status_code == 422 and fragment in response.json()["detail"]


def test_database_failure_is_a_503_not_a_crash(api_client: Callable[..., TestClient], tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a directory should be")
    engine = create_engine(f"sqlite:///{blocked / 'x.db'}")

    def bad_db() -> Iterator[Session]:
        with Session(engine) as session:
            yield session

    client = api_client()
    client.app.dependency_overrides[get_db] = bad_db  # type: ignore[attr-defined]
    response = client.post("/v1/feedback", json={"text": "x", "labels": []})
    assert response.status_code == 503 and "database is unavailable" in response.json()["detail"]
    engine.dispose()


def test_unexpected_errors_are_a_plain_500(api_settings: Callable[..., Settings]) -> None:
    def broken_key_check() -> None:
        raise RuntimeError("boom SECRET-POST-TEXT")

    app = create_app(api_settings())
    app.dependency_overrides[require_api_key] = broken_key_check
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/v1/moderate", json={"text": "SECRET-POST-TEXT"})
        assert response.status_code == 500 and response.json() == {"detail": "internal error"}
        assert 'route="/v1/moderate",status="500"' in client.get("/metrics").text


# --- lexicon ------------------------------------------------------------------------------------
def test_lexicon_edit_applies_at_once_and_survives_restart(api_settings: Callable[..., Settings]) -> None:
    settings = api_settings(admin_keys=[ADMIN])
    admin = {"X-API-Key": ADMIN}
    text = f"快来买{NEW_TERM}，稳了"
    with TestClient(create_app(settings)) as client:
        before = client.post("/v1/moderate", json={"text": text}).json()
        assert "VC01_CRYPTO_MARKETING" not in before["reasons"]
        put = client.put("/v1/lexicon", headers=admin,
                         json={"add": {"crypto_marketing": {"strong": [NEW_TERM]}}, "note": "seen today"})
        assert put.status_code == 200, put.text
        state = put.json()
        assert state["version"].endswith("+e1") and state["edits_applied"] == 1
        assert NEW_TERM in state["labels"]["crypto_marketing"]["strong"]
        after = client.post("/v1/moderate", json={"text": text}).json()
        assert "VC01_CRYPTO_MARKETING" in after["reasons"] and after["lexicon_version"] == state["version"]
        assert any(e["rule_id"] == f"term:crypto_marketing:{NEW_TERM}" for e in after["evidence"])
    with TestClient(create_app(settings)) as client:
        again = client.post("/v1/moderate", json={"text": text}).json()
        assert "VC01_CRYPTO_MARKETING" in again["reasons"] and again["lexicon_version"].endswith("+e1")
        listing = client.get("/v1/lexicon", headers=admin).json()
        assert listing["history"][0]["note"] == "seen today" and listing["history"][0]["actor"].startswith("key:")
        removed = client.put("/v1/lexicon", headers=admin, json={"remove": {"crypto_marketing": [NEW_TERM]}})
        assert removed.json()["version"].endswith("+e2")
        assert "VC01_CRYPTO_MARKETING" not in client.post("/v1/moderate", json={"text": text}).json()["reasons"]


def test_allow_terms_suppress_hits(api_client: Callable[..., TestClient]) -> None:
    client = api_client(admin_keys=[ADMIN])
    text = "收U 出U 大量现金秒到"
    assert client.post("/v1/moderate", json={"text": text}).json()["decision"] != "allow"
    client.put("/v1/lexicon", headers={"X-API-Key": ADMIN}, json={"allow_add": [text]})
    assert client.post("/v1/moderate", json={"text": text}).json()["decision"] == "allow"


@pytest.mark.parametrize("body, fragment", [
    ({}, "changes nothing"),
    ({"add": {"crypto_marketing": {"strong": []}}}, "changes nothing"),
    ({"add": {"not_a_label": {"strong": ["x"]}}}, "body.add.not_a_label"),
    ({"add": {"mining": {"huge": ["x"]}}}, "body.add.mining.huge"),
    ({"add": {"mining": {"strong": ["  "]}}}, "body.add.mining.strong[0]"),
    ({"remove": {"mining": "矿机"}}, "body.remove.mining"),
    ({"allow_add": ["x"], "typo": 1}, "body.typo"),
])
def test_bad_lexicon_edits_are_422(api_client: Callable[..., TestClient], body: dict[str, Any], fragment: str) -> None:
    response = api_client(admin_keys=[ADMIN]).put("/v1/lexicon", json=body, headers={"X-API-Key": ADMIN})
    assert response.status_code == 422 and fragment in response.json()["detail"], response.text


def test_other_workers_pick_up_lexicon_edits(api_client: Callable[..., TestClient]) -> None:
    editor = api_client(admin_keys=[ADMIN])
    other = api_client(admin_keys=[ADMIN], lexicon_refresh_s=0.05)  # same database, like a second worker
    editor.put("/v1/lexicon", headers={"X-API-Key": ADMIN}, json={"add": {"mining": {"strong": ["紫色矿机租赁"]}}})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if "VC04_MINING" in other.post("/v1/moderate", json={"text": "紫色矿机租赁"}).json()["reasons"]:
            break
        time.sleep(0.05)
    else:
        pytest.fail("the second app never picked up the edit")


# --- logs, settings, export helpers -------------------------------------------------------------
@pytest.mark.parametrize("log_text", [False, True])
def test_logs_carry_text_only_when_enabled(api_client: Callable[..., TestClient], caplog: pytest.LogCaptureFixture,
                                           log_text: bool) -> None:
    client = api_client(log_text=log_text)
    marker = "MARKER-收U出U-7731"
    with caplog.at_level(logging.DEBUG):
        client.post("/v1/moderate", json={"text": marker, "id": "log-1"})
        client.post("/v1/feedback", json={"text": marker, "labels": ["stablecoin_otc"]})
        client.post("/v1/moderate", json={"text": marker, "id": ""})
    assert "id=log-1" in caplog.text
    assert (marker in caplog.text) is log_text


def test_settings_from_env_file_and_validation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               api_settings: Callable[..., Settings]) -> None:
    monkeypatch.setenv("VCGUARD_MAX_TEXT_CHARS", "1234")
    monkeypatch.setenv("VCGUARD_API_KEYS", "key-aaaaaaaa, key-bbbbbbbb")
    settings = Settings(_env_file=None)
    assert settings.max_text_chars == 1234 and settings.api_keys == ["key-aaaaaaaa", "key-bbbbbbbb"]
    assert settings.resolved_database_url.endswith("var/vcguard.db")
    for name, text in (("s.yaml", "max_batch_items: 7\nthresholds:\n  mining: {block: 0.9}\n"),
                       ("s.json", '{"max_batch_items": 7, "thresholds": {"mining": {"block": 0.9}}}'),
                       ("s.toml", "max_batch_items = 7\n[thresholds.mining]\nblock = 0.9\n")):
        (tmp_path / name).write_text(text)
        loaded = Settings(_env_file=None, settings_file=tmp_path / name)
        assert loaded.max_batch_items == 7 and loaded.thresholds == {"mining": {"block": 0.9}}
        assert loaded.max_text_chars == 1234  # the environment wins over the file
    (tmp_path / "bad.yaml").write_text("max_batch_itemz: 3\n")
    with pytest.raises(ValueError, match="max_batch_itemz"):
        Settings(_env_file=None, settings_file=tmp_path / "bad.yaml")
    with pytest.raises(ValueError, match="unknown label 'minin'"):
        Settings(_env_file=None, thresholds={"minin": {"block": 0.9}})
    with pytest.raises(ValueError, match="at least 8 characters"):
        Settings(_env_file=None, admin_keys=["short"])


@pytest.mark.parametrize("text, lang", [
    ("收U 出U 大量现金秒到", "zh"), ("Buy USDT here, best rate", "en"), ("Binance 注册送 USDT", "zh"),
    ("RWA 这个 narrative 在香港还挺火，但 HK sandbox 的 project 别当成 legal 产品", "mixed"), ("🚀🚀", "en"),
])
def test_guess_lang(text: str, lang: str) -> None:
    assert guess_lang(text) == lang


def test_requests_during_a_lexicon_swap_all_succeed(api_client: Callable[..., TestClient]) -> None:
    client = api_client(admin_keys=[ADMIN])
    errors: list[int] = []

    def hammer() -> None:
        for _ in range(30):
            status = client.post("/v1/moderate", json={"text": SPAM}).status_code
            if status != 200:
                errors.append(status)

    thread = threading.Thread(target=hammer)
    thread.start()
    for i in range(5):
        client.put("/v1/lexicon", headers={"X-API-Key": ADMIN}, json={"add": {"mining": {"weak": [f"词{i}号"]}}})
    thread.join()
    assert errors == []


# --- CLI and load-test helpers ------------------------------------------------------------------
def test_serve_cli_passes_settings_to_uvicorn_workers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                       api_settings: Callable[..., Settings]) -> None:
    import uvicorn

    for name in ("VCGUARD_ARTIFACT_PATH", "VCGUARD_FALLBACK_ONLY", "VCGUARD_DATABASE_URL", "VCGUARD_SETTINGS_FILE"):
        monkeypatch.setenv(name, "")  # recorded, so the values run_serve sets are undone afterwards
        monkeypatch.delenv(name)
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert vcguard_main(["serve", "--port", "9123", "--workers", "2", "--fallback-only", "--database-url", url]) == 0
    (call,) = calls
    assert call["app"] == "serving.app:app_from_env" and call["factory"] is True
    assert call["host"] == "127.0.0.1" and call["port"] == 9123 and call["workers"] == 2
    assert "serving" in call["log_config"]["loggers"]
    workers_see = Settings(_env_file=None)
    assert workers_see.fallback_only is True and workers_see.database_url == url
    assert vcguard_main(["serve", "--workers", "0"]) == 2


def test_loadtest_table_and_bounds() -> None:
    from evaluation.loadtest import HOST, Level, markdown, parse_args

    assert HOST == "127.0.0.1"
    level = Level(8, latencies_s=[0.001 * i for i in range(1, 101)], elapsed_s=2.0)
    level.engines["rules"] = 100
    table = markdown([level], "fallback only")
    assert "| fallback only | 8 | 100 | 0 | 50 | 51.0 | 100.0 | - | - | - | rules 100% |" in table
    assert parse_args([]).concurrency == [1, 8, 32]
    with pytest.raises(SystemExit):
        parse_args(["--requests", "0"])
    with pytest.raises(SystemExit):
        parse_args(["--artifact", "x", "--fallback-only"])
    assert parse_args(["--set", "model_workers=1"]).set == ["model_workers=1"]
    with pytest.raises(SystemExit):
        parse_args(["--set", "model_workers"])
