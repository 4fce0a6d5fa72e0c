"""The public inference surface: text in, decision with scores, evidence and entities out."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

import numpy as np

from model.decision import Blend, Decision, Policy, combine_scores, decide
from model.labels import LABELS
from model.normalize import normalize
from model.rules import Entities, Evidence, RuleEngine

logger = logging.getLogger(__name__)

ENGINE_RULES = "rules"
ENGINE_FALLBACK = "fallback"
ENGINE_MODEL = "model"


class Scorer(Protocol):
    """Anything that maps texts to an ``(n, len(LABELS))`` array of probabilities."""

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(slots=True)
class Result:
    """One post's outcome."""

    decision: str
    labels: list[dict[str, Any]]
    evidence: list[Evidence]
    entities: Entities
    engine: str
    model_version: str
    lexicon_version: str
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "labels": self.labels,
            "evidence": [e.to_dict() for e in self.evidence],
            "entities": self.entities.to_dict(),
            "engine": self.engine,
            "model_version": self.model_version,
            "lexicon_version": self.lexicon_version,
            "notes": self.notes,
        }


class Classifier:
    """Rules + optional linear and transformer scorers + the decision function.

    With no transformer (or when it fails) the classifier answers from rules and the linear scorer
    and reports ``engine="fallback"`` (``"rules"`` when it was built without any learned scorer).
    """

    def __init__(
        self,
        rules: RuleEngine | None = None,
        policy: Policy | None = None,
        *,
        model: Scorer | None = None,
        linear: Scorer | None = None,
        blend: Blend = Blend(),
        version: str = "rules-only",
        fallback_policy: Policy | None = None,
    ) -> None:
        self.rules = rules or RuleEngine()
        self.policy = policy or Policy()
        self.fallback_policy = fallback_policy or self.policy
        self.model = model
        self.linear = linear
        self.blend = blend
        self.version = version
        self.degraded_reason: str | None = None

    def classify(self, text: str) -> Result:
        """Classify one post."""
        return self.classify_batch([text])[0]

    def classify_batch(self, texts: Sequence[str], *, use_model: bool = True) -> list[Result]:
        """Classify posts in one batch; ``use_model=False`` forces the fallback path."""
        if isinstance(texts, str):
            raise TypeError("classify_batch() expects a sequence of str, got a single str")
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"text at position {i} must be str, got {type(t).__name__}")
        norms = [normalize(t) for t in texts]
        rule_results = [self.rules.analyze(n) for n in norms]
        # Learned scorers read the normalized word view, as they were trained on it.
        views = [n.text for n in norms]
        model_probs = self._scores(self.model, views) if use_model and self.model is not None else None
        linear_probs = self._scores(self.linear, views) if self.linear is not None else None
        if self.model is None and self.linear is None:
            engine = ENGINE_RULES
        else:
            engine = ENGINE_MODEL if model_probs is not None else ENGINE_FALLBACK
        policy = self.policy if engine == ENGINE_MODEL else self.fallback_policy

        results = []
        for i, (text, norm, rr) in enumerate(zip(texts, norms, rule_results)):
            notes = []
            if not norm.text.strip():
                notes.append("empty_text" if not text.strip() else "no_readable_text")
            m = _row(model_probs, i)
            lin = _row(linear_probs, i)
            scores = combine_scores(rr.scores, m, lin, self.blend)
            decision = decide(scores, policy)
            results.append(self._result(decision, rr.scores, m, lin, rr.evidence, rr.entities, engine, notes))
        return results

    def _scores(self, scorer: Scorer, texts: Sequence[str]) -> np.ndarray | None:
        try:
            probs = np.asarray(scorer.predict_proba(list(texts)), dtype=float)
        except Exception:  # a scorer failure must degrade to the fallback, never fail the request
            logger.exception("scorer %s failed; answering without it", type(scorer).__name__)
            return None
        if probs.shape != (len(texts), len(LABELS)):
            logger.error("scorer %s returned shape %s, expected %s", type(scorer).__name__, probs.shape,
                         (len(texts), len(LABELS)))
            return None
        return probs

    def _result(self, decision: Decision, rule: dict[str, float], model: dict[str, float] | None,
                linear: dict[str, float] | None, evidence: list[Evidence], entities: Entities, engine: str,
                notes: list[str]) -> Result:
        labels = []
        for v in decision.labels:
            item: dict[str, Any] = {"label": v.label, "score": v.score, "action": v.action,
                                    "reason_code": v.reason_code, "rule_score": rule[v.label]}
            if model is not None:
                item["model_score"] = round(model[v.label], 4)
            if linear is not None:
                item["linear_score"] = round(linear[v.label], 4)
            labels.append(item)
        flagged = {v.label for v in decision.flagged}
        # Evidence for flagged labels first, so a reader sees why before what else matched.
        evidence = sorted(evidence, key=lambda e: (e.label not in flagged, e.start))
        return Result(decision.decision, labels, evidence, entities, engine, self.version,
                      self.rules.lexicon.version, notes)


def _row(probs: np.ndarray | None, i: int) -> dict[str, float] | None:
    if probs is None:
        return None
    return {label: float(probs[i, j]) for j, label in enumerate(LABELS)}
