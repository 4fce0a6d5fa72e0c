"""Evaluation: metrics on hand-made cases, and a whole evaluation run checked against hand computation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Sequence

import numpy as np
import pytest

from evaluation import metrics
from evaluation.evaluate import evaluate, read_split, resolve_split
from model.classifier import Classifier
from model.decision import Blend, Policy, Thresholds
from model.labels import LABELS

CM, SO, RW, MI, EX, QR = range(6)


# --- metrics --------------------------------------------------------------------------------------
Y = np.array([[1, 0, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]])
FLAGS = np.array([[1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]])
DECISIONS = ["review", "review", "block", "allow"]


def test_label_metrics_known_answer():
    per = metrics.label_metrics(Y, FLAGS)
    cm = per["crypto_marketing"]
    assert (cm.tp, cm.fp, cm.fn, cm.support) == (1, 1, 1, 2)
    assert cm.precision == pytest.approx(0.5) and cm.recall == pytest.approx(0.5) and cm.f1 == pytest.approx(0.5)
    assert per["stablecoin_otc"].f1 == pytest.approx(1.0)
    assert per["mining"].f1 is None  # neither gold nor flagged anywhere: not averaged
    assert metrics.macro_f1(per) == pytest.approx(0.75)
    assert metrics.micro_f1(per) == pytest.approx(4 / 6)


def test_missed_label_scores_zero_not_undefined():
    per = metrics.label_metrics(Y, np.zeros_like(Y))
    cm = per["crypto_marketing"]
    assert (cm.precision, cm.recall, cm.f1) == (0.0, 0.0, 0.0)
    assert metrics.macro_f1(per) == 0.0


def test_post_level_rates():
    assert metrics.flagged_promotional(Y, DECISIONS).to_dict() == {"hits": 2, "total": 2, "value": 1.0}
    assert metrics.hard_negative_fpr(Y, DECISIONS).to_dict() == {"hits": 1, "total": 2, "value": 0.5}
    assert metrics.hard_negative_blocked(Y, ["allow", "allow", "review", "allow"]).value == 0.0
    assert metrics.hard_negative_fpr(Y[:2], DECISIONS[:2]).value is None  # no negatives: undefined


def test_breakdown_per_language():
    out = metrics.breakdown(["zh", "zh", "en", "en"], Y, FLAGS, DECISIONS)
    assert list(out) == ["en", "zh"]
    assert out["zh"]["flagged_promotional"]["value"] == 1.0 and out["zh"]["hard_negative_fpr"]["value"] is None
    assert out["en"]["hard_negative_fpr"] == {"hits": 1, "total": 2, "value": 0.5}
    assert out["zh"]["per_label"]["crypto_marketing"]["recall"] == 0.5


def test_pr_curve_and_average_precision_by_hand():
    y, s = [1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]
    curve = metrics.pr_curve(y, s)
    assert curve.precision.tolist() == pytest.approx([1, 1, 0.5, 2 / 3, 0.5])
    assert curve.recall.tolist() == pytest.approx([0, 0.5, 0.5, 1, 1])
    assert curve.thresholds.tolist() == pytest.approx([0.9, 0.8, 0.7, 0.1])
    assert metrics.average_precision(y, s) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert metrics.average_precision([1, 0], [0.5, 0.5]) == pytest.approx(0.5)  # a tie is one threshold
    assert metrics.average_precision([0, 0], [0.1, 0.2]) is None
    thin = curve.thinned(3)
    assert thin["recall"] == [0.0, 0.5, 1.0] and thin["thresholds"][0] is None


def test_average_precision_matches_sklearn():
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(0)
    for _ in range(20):
        y = rng.integers(0, 2, 50)
        y[0] = 1
        s = rng.integers(0, 10, 50) / 10  # many ties
        assert metrics.average_precision(y, s) == pytest.approx(average_precision_score(y, s))


def test_metrics_reject_bad_input():
    with pytest.raises(ValueError, match="shape"):
        metrics.label_metrics(Y[:, :5], FLAGS[:, :5])
    with pytest.raises(ValueError, match="rows"):
        metrics.label_metrics(Y, FLAGS[:3])
    with pytest.raises(ValueError, match="unknown decision"):
        metrics.hard_negative_fpr(Y, ["allow", "allow", "flag", "allow"])
    with pytest.raises(ValueError, match="multi-hot"):
        metrics.label_metrics(Y * 2, FLAGS)


# --- a whole evaluation on a tiny split ---------------------------------------------------------------
def vec(**scores: float) -> list[float]:
    return [scores.get(label, 0.0) for label in ("CM", "SO", "RW", "MI", "EX", "QR")]


# tag, lang, gold labels, transformer scores, linear scores
ROWS = [
    ("alpha", "zh", ["crypto_marketing"], vec(CM=0.9), vec(CM=0.75)),
    ("bravo", "zh", ["stablecoin_otc"], vec(SO=0.7), vec(SO=0.5)),
    ("charlie", "en", ["rwa_token"], vec(RW=0.3), vec(RW=0.9)),
    ("delta", "en", ["mining"], vec(MI=0.95), vec(MI=0.95)),
    ("echo", "mixed", ["exchange_link"], vec(EX=0.6), vec(EX=0.2)),
    ("foxtrot", "mixed", ["qr_lure"], vec(QR=0.1), vec(QR=0.1)),
    ("golf", "zh", ["crypto_marketing", "exchange_link"], vec(CM=0.85, EX=0.4), vec(CM=0.8, EX=0.8)),
    ("hotel", "zh", [], vec(), vec(CM=0.65)),
    ("india", "en", [], vec(MI=0.55), vec()),
    ("juliet", "en", [], vec(), vec()),
    ("kilo", "mixed", [], vec(EX=0.2), vec(EX=0.7)),
    ("lima", "zh", [], vec(), vec()),
]
TAG = re.compile(r"\b(" + "|".join(tag for tag, *_ in ROWS) + r")\b")
TEXTS = {"zh": "帖子 {tag}：今天天气不错，我们去公园散步。", "en": "Post {tag}: the weather is nice today.",
         "mixed": "帖子 {tag} about lunch, 午饭吃面。"}


class FakeScorer:
    """Scores looked up by the row tag found in the (normalized) text; records batch sizes."""

    def __init__(self, column: int, fail: bool = False) -> None:
        self.table = {tag: np.array(row[column]) for tag, *row in ROWS}
        self.calls: list[int] = []
        self.fail = fail

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if self.fail:
            raise RuntimeError("boom")
        self.calls.append(len(texts))
        return np.stack([self.table[TAG.search(t).group()] for t in texts])


def fake_classifier(model: bool = True) -> Classifier:
    return Classifier(policy=Policy(default=Thresholds(block=0.8, review=0.5)),
                      fallback_policy=Policy(default=Thresholds(block=0.9, review=0.6)),
                      model=FakeScorer(2) if model else None, linear=FakeScorer(3),
                      blend=Blend(model_weight=0.5, rule_override=0.95), version="fake-1")


@pytest.fixture
def split_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.jsonl"
    lines = [json.dumps({"id": f"{tag}-row", "text": TEXTS[lang].format(tag=tag), "labels": gold, "lang": lang,
                         "group": tag, "source": "handwritten"}, ensure_ascii=False)
             for tag, lang, gold, _, _ in ROWS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_evaluate_matches_hand_computation(split_file: Path, tmp_path: Path):
    clf = fake_classifier()
    # Premise: the keyword rules see nothing in these texts, so every score is the fakes'.
    assert all(v == 0 for tag, lang, *_ in ROWS for v in clf.rules.analyze(TEXTS[lang].format(tag=tag)).scores.values())
    out = tmp_path / "out"
    result = evaluate(clf, split_file, out, batch_size=5)
    assert clf.model.calls == [5, 5, 2] and clf.linear.calls == [5, 5, 2]

    s = result["systems"]
    # transformer (review 0.5): flags alpha CM, bravo SO, delta MI, echo EX, golf CM, india MI (false alarm)
    assert s["transformer"]["macro_f1"] == pytest.approx((1 + 1 + 0 + 2 / 3 + 2 / 3 + 0) / 6)
    assert s["transformer"]["flagged_promotional"]["value"] == pytest.approx(5 / 7)
    assert s["transformer"]["hard_negative_fpr"] == {"hits": 1, "total": 5, "value": 0.2}
    # linear (fallback review 0.6): CM F1 0.8 (hotel false alarm), RW 1, MI 1, EX 0.5 (kilo), SO 0, QR 0
    assert s["linear"]["macro_f1"] == pytest.approx((0.8 + 0 + 1 + 1 + 0.5 + 0) / 6)
    assert s["linear"]["flagged_promotional"]["value"] == pytest.approx(4 / 7)
    assert s["linear"]["hard_negative_fpr"]["value"] == pytest.approx(0.4)
    # combined = mean of the two, review 0.5: only echo's EX (0.4) and foxtrot's QR (0.1) missed
    assert s["combined"]["macro_f1"] == pytest.approx((4 + 2 / 3) / 6)
    assert s["combined"]["flagged_promotional"] == {"hits": 5, "total": 7, "value": pytest.approx(5 / 7)}
    assert s["combined"]["hard_negative_fpr"]["value"] == 0.0
    assert s["combined"]["per_label"]["exchange_link"] == {
        "tp": 1, "fp": 0, "fn": 1, "support": 2, "precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3)}
    # rules flag nothing
    assert s["rules"]["macro_f1"] == 0.0 and s["rules"]["hard_negative_fpr"]["value"] == 0.0
    # per language
    assert s["combined"]["by_lang"]["mixed"]["flagged_promotional"]["value"] == 0.0
    assert s["combined"]["by_lang"]["zh"]["flagged_promotional"]["value"] == 1.0
    assert s["transformer"]["by_lang"]["en"]["hard_negative_fpr"]["value"] == 0.5
    # targets and worst errors
    met = [t["met"] for t in result["targets"]]
    assert met == [False, False, True, True]
    assert [e["id"] for e in result["worst_errors"]] == ["foxtrot-row", "echo-row"]
    assert result["worst_errors"][0]["severity"] == pytest.approx(0.9)
    assert result["label_counts"]["crypto_marketing"] == 2 and result["n_hard_negative"] == 5

    on_disk = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert on_disk["systems"]["combined"]["macro_f1"] == pytest.approx((4 + 2 / 3) / 6)
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "## Targets (issue 4)" in md and "foxtrot-row" in md and "71.4 % (5/7)" in md
    for png in ("pr_curves.png", "systems.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"


def test_evaluate_without_transformer_and_with_failing_scorer(split_file: Path, tmp_path: Path):
    result = evaluate(fake_classifier(model=False), split_file, tmp_path / "a", plots=False)
    assert result["systems_missing"] == ["transformer"]
    assert result["targets"][3]["met"] is None
    assert result["systems"]["combined"]["macro_f1"] == pytest.approx(result["systems"]["linear"]["macro_f1"])
    clf = fake_classifier()
    clf.model.fail = True
    with pytest.raises(ValueError, match="transformer scorer failed"):
        evaluate(clf, split_file, tmp_path / "b", plots=False)


def test_split_resolution_and_reading(tmp_path: Path):
    (tmp_path / "dev.jsonl").write_text(json.dumps({"id": "a", "text": "x", "labels": [0, 0, 0, 1, 0, 0]}) + "\n")
    name, path = resolve_split("dev", tmp_path)
    assert name == "dev" and read_split(path)[0].labels == ("mining",)
    with pytest.raises(FileNotFoundError, match="'test'"):
        resolve_split("test", tmp_path)
    with pytest.raises(ValueError, match="unknown split 'validation'"):
        resolve_split("validation", tmp_path)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(ValueError, match="no rows"):
        read_split(empty)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "x", "labels": ["spam"]}) + "\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:1: unknown label 'spam'"):
        read_split(bad)


def test_cli_writes_default_out_dir(split_file: Path, tmp_path: Path, monkeypatch, capsys):
    from vcguard.cli import main

    monkeypatch.setattr("evaluation.evaluate._load", lambda artifact: fake_classifier())
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", "some-artifact", "--split", str(split_file), "--no-plots"]) == 0
    assert "combined" in capsys.readouterr().out
    assert (tmp_path / "runs" / "eval-tiny" / "report.md").is_file()
    assert main(["evaluate", "some-artifact", "--split", "validation"]) == 2
    assert "unknown split" in capsys.readouterr().err
