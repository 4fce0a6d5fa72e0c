"""The screen: posts with no rule hit and near-zero linear scores skip the transformer, and so do
posts a rule matched that the fallback already blocks (``Blend.screen_blocks``)."""

from __future__ import annotations

import asyncio
from typing import Callable, Sequence

import numpy as np
import pytest
from fastapi.testclient import TestClient

from model.classifier import ENGINE_FALLBACK, ENGINE_MODEL, NOTE_SCREENED, Classifier
from model.decision import Blend, Policy, Thresholds, screened
from model.labels import LABEL_INDEX, LABELS
from serving.engine import Moderator
from training.train import tune_screen, tune_screen_blocks

SPAM = "币安注册 binance.com/join?ref=VC88A1 邀请码 VC88A1，返佣30%！"  # rules hit
PLAIN = "今天天气很好，我们去公园散步吧。"  # no rule hit
LINEAR_HINT = "moonish"  # the fake linear scorer scores texts with this word high, without any rule hit


class CountingScorer:
    """Fixed low scores, high crypto_marketing for texts containing ``hint``; records what it saw."""

    def __init__(self, low: float = 0.01, hint: str = LINEAR_HINT, fail: bool = False) -> None:
        self.low, self.hint, self.fail = low, hint, fail
        self.seen: list[str] = []

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.extend(texts)
        if self.fail:
            raise RuntimeError("scorer exploded")
        out = np.full((len(texts), len(LABELS)), self.low)
        for i, t in enumerate(texts):
            if self.hint in t:
                out[i, LABEL_INDEX["crypto_marketing"]] = 0.9
        return out


def classifier(gate: float, model: CountingScorer | None = None, screen_blocks: bool = False) -> Classifier:
    return Classifier(model=model or CountingScorer(low=0.5), linear=CountingScorer(),
                      blend=Blend(model_weight=0.7, rule_override=1.0, screen_below=gate, screen_blocks=screen_blocks),
                      version="screen-test")


def test_screened_needs_no_rule_hit_and_low_linear_scores() -> None:
    blend = Blend(screen_below=0.05)
    low = dict.fromkeys(LABELS, 0.01)
    assert screened(dict.fromkeys(LABELS, 0.0), low, blend)
    assert not screened({**dict.fromkeys(LABELS, 0.0), "mining": 0.3}, low, blend), "a rule hit goes to the model"
    assert not screened(dict.fromkeys(LABELS, 0.0), {**low, "mining": 0.05}, blend), "the gate is exclusive"
    assert not screened(dict.fromkeys(LABELS, 0.0), None, blend), "no linear scorer: no screening"
    assert not screened(dict.fromkeys(LABELS, 0.0), low, Blend()), "screen_below 0 turns it off"
    with pytest.raises(ValueError, match="screen_below"):
        Blend(screen_below=1.5)


def test_only_posts_the_screen_does_not_clear_reach_the_transformer() -> None:
    clf = classifier(0.05)
    texts = [PLAIN, SPAM, f"{LINEAR_HINT} to the moon"]
    results = clf.classify_batch(texts)
    assert len(clf.model.seen) == 2 and "公园" not in "".join(clf.model.seen)  # type: ignore[union-attr]
    assert [r.engine for r in results] == [ENGINE_MODEL] * 3
    assert NOTE_SCREENED in results[0].notes and "model_score" not in results[0].labels[0]
    assert results[0].decision == "allow"
    assert NOTE_SCREENED not in results[1].notes and results[1].labels[0]["model_score"] == 0.5
    assert NOTE_SCREENED not in results[2].notes


def test_without_a_gate_every_post_reaches_the_transformer() -> None:
    clf = classifier(0.0)
    results = clf.classify_batch([PLAIN, SPAM])
    assert len(clf.model.seen) == 2  # type: ignore[union-attr]
    assert all(NOTE_SCREENED not in r.notes for r in results)


def test_score_screened_scores_every_post_but_decides_as_the_service() -> None:
    served = classifier(0.05).classify_batch([PLAIN, SPAM])
    clf = classifier(0.05)
    evaluated = clf.classify_batch([PLAIN, SPAM], score_screened=True)
    assert len(clf.model.seen) == 2  # type: ignore[union-attr]
    assert [r.decision for r in evaluated] == [r.decision for r in served]
    assert NOTE_SCREENED in evaluated[0].notes and evaluated[0].labels[0]["model_score"] == 0.5


def test_a_failing_transformer_still_falls_back_and_an_all_screened_batch_never_calls_it() -> None:
    failing = classifier(0.05, CountingScorer(fail=True))
    assert [r.engine for r in failing.classify_batch([PLAIN, SPAM])] == [ENGINE_FALLBACK] * 2
    quiet = classifier(0.05, CountingScorer(fail=True))
    (result,) = quiet.classify_batch([PLAIN])
    assert result.engine == ENGINE_MODEL and NOTE_SCREENED in result.notes


def test_tune_screen_keeps_a_margin_below_the_quietest_unmatched_promotion() -> None:
    y = np.array([[1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0], [0] * 6, [0] * 6])
    rule = np.zeros((4, 6))
    rule[1, 1] = 0.8  # the second promotion is matched by a rule: it does not bound the gate
    linear = np.full((4, 6), 0.001)
    linear[0, 0] = 0.12  # the quietest unmatched promotion: gates up to 0.06 keep a 2x margin
    assert tune_screen(rule, linear, y) == 0.05
    linear[0, 0] = 0.015
    assert tune_screen(rule, linear, y) == 0.0  # no gate fits under 0.0075
    assert tune_screen(np.ones((4, 6)), linear, y) == 0.1  # every promotion has a rule hit


def test_the_moderator_answers_screened_requests_without_queueing() -> None:
    model = CountingScorer(low=0.5)
    clf = classifier(0.05, model)
    moderator = Moderator(budget_ms=2000, budget_per_item_ms=0, workers=1, max_pending=4)
    try:
        outcome = asyncio.run(moderator.classify(clf, [PLAIN]))
        assert outcome.fallback_reason is None and NOTE_SCREENED in outcome.results[0].notes
        assert model.seen == []
        mixed = asyncio.run(moderator.classify(clf, [PLAIN, SPAM]))
        assert len(model.seen) == 1 and [NOTE_SCREENED in r.notes for r in mixed.results] == [True, False]
    finally:
        moderator.close()


def test_api_counts_screened_posts(api_client: Callable[..., TestClient]) -> None:
    client = api_client(classifier=classifier(0.05))
    body = client.post("/v1/moderate", json={"text": PLAIN}).json()
    assert body["engine"] == "model" and NOTE_SCREENED in body["notes"] and body["decision"] == "allow"
    assert "vcguard_screened_posts_total 1.0" in client.get("/metrics").text


def test_evaluation_scores_the_transformer_on_every_post_and_counts_the_screened() -> None:
    from evaluation.evaluate import score_systems

    clf = classifier(0.05)
    runs = score_systems(clf, [PLAIN, SPAM, "另一条普通的帖子，说说周末去哪里玩。"], batch_size=2)
    assert runs["combined"].screened == 2
    assert runs["transformer"].scores.shape == (3, len(LABELS)) and np.allclose(runs["transformer"].scores, 0.5)
    assert runs["combined"].decisions[0] == "allow"


def test_screen_blocks_needs_a_rule_hit_and_a_fallback_block() -> None:
    blend = Blend(rule_override=0.9, screen_blocks=True)
    fallback = Policy(default=Thresholds(block=0.8, review=0.5))
    quiet = dict.fromkeys(LABELS, 0.01)
    matched = {**dict.fromkeys(LABELS, 0.0), "exchange_link": 0.95}  # over the override: the rule score stands
    assert screened(matched, quiet, blend, fallback)
    assert not screened({**matched, "exchange_link": 0.6}, quiet, blend, fallback), "the fallback only reviews it"
    assert not screened(dict.fromkeys(LABELS, 0.0), {**quiet, "mining": 0.99}, blend, fallback), \
        "no rule hit: a linear score alone never skips the transformer"
    assert not screened(matched, quiet, Blend(rule_override=0.9), fallback), "screen_blocks off"
    assert not screened(matched, quiet, blend), "no fallback policy given"
    assert not screened(matched, None, blend, fallback), "no linear scorer: no screening"
    with pytest.raises(TypeError, match="screen_blocks"):
        Blend(screen_blocks="yes")  # type: ignore[arg-type]
    assert blend.screens and Blend(screen_below=0.02).screens and not Blend().screens


def test_posts_the_fallback_blocks_skip_the_transformer_and_keep_its_decision() -> None:
    clf = classifier(0.0, screen_blocks=True)
    hinted = f"{LINEAR_HINT} weekend plans"  # the linear scorer flags it but no rule matches: the model decides
    results = clf.classify_batch([SPAM, hinted, PLAIN])
    assert clf.model.seen == [clf.prepare([hinted]).views[0], clf.prepare([PLAIN]).views[0]]  # type: ignore[union-attr]
    fallback = classifier(0.0).classify_batch([SPAM], use_model=False)[0]
    assert results[0].engine == ENGINE_MODEL and NOTE_SCREENED in results[0].notes
    assert results[0].decision == fallback.decision == "block"
    assert [item["score"] for item in results[0].labels] == [item["score"] for item in fallback.labels]
    assert NOTE_SCREENED not in results[1].notes and NOTE_SCREENED not in results[2].notes


def test_tune_screen_blocks_turns_it_on_only_when_dev_loses_nothing() -> None:
    thresholds = dict.fromkeys(LABELS, {"block": 0.8, "review": 0.5})
    y = np.zeros((4, 6), dtype=int)
    y[0, 0] = y[1, 1] = 1  # two promotions, two hard negatives
    rule = np.zeros((4, 6))
    rule[0, 0] = rule[2, 0] = 0.9
    fallback = np.zeros((4, 6))
    fallback[0, 0] = 0.95  # the fallback blocks the first promotion, which a rule matched
    full = y.astype(bool).copy()  # the full decision is perfect
    assert tune_screen_blocks(rule, y, full, fallback, thresholds)
    fallback[0, 1] = 0.9  # ... but also flags a label it does not have (the other promotion's): F1 drops
    assert not tune_screen_blocks(rule, y, full, fallback, thresholds)
    fallback[0, 1] = 0.0
    fallback[2, 0] = 0.85  # it would block a hard negative the full decision lets through
    assert not tune_screen_blocks(rule, y, full, fallback, thresholds)
    rule[2, 0] = 0.0  # without a rule hit that hard negative goes to the transformer after all
    assert tune_screen_blocks(rule, y, full, fallback, thresholds)


def test_tune_decision_leaves_the_block_screen_off_unless_asked() -> None:
    from pathlib import Path

    from data.schema import validate_file
    from training.train import label_matrix, tune_decision

    dev = validate_file(Path(__file__).parent / "fixtures" / "corpus_small" / "dev.jsonl")
    perfect = label_matrix(dev, float)  # both scorers right on every post: the block screen costs nothing
    assert perfect.sum() > 0
    assert not tune_decision(dev, perfect, perfect).blend.screen_blocks
    assert tune_decision(dev, perfect, perfect, block_screen=True).blend.screen_blocks
