"""The public inference surface: text in, decision with scores, evidence and entities out."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence

import numpy as np

from model.decision import Blend, Decision, Policy, combine_scores, decide, screened
from model.labels import LABELS
from model.normalize import NormalizedText, normalize
from model.rules import Entities, Evidence, RuleEngine, RuleResult

logger = logging.getLogger(__name__)

ENGINE_RULES = "rules"
ENGINE_FALLBACK = "fallback"
ENGINE_MODEL = "model"
# The note on a post the screen decided without the transformer (engine stays "model").
NOTE_SCREENED = "screened_out"


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


@dataclass(slots=True)
class Prepared:
    """A batch after :meth:`Classifier.prepare`: what the transformer step and the decision need."""

    texts: list[str]
    norms: list[NormalizedText]
    rule_results: list[RuleResult]
    views: list[str]  # normalized text, what the learned scorers read
    linear_probs: np.ndarray | None
    needs_model: list[int]  # positions of the posts the screen did not clear

    def model_views(self) -> list[str]:
        return [self.views[i] for i in self.needs_model]


class Classifier:
    """Rules + optional linear and transformer scorers + the decision function.

    With no transformer (or when it fails) the classifier answers from rules and the linear scorer
    and reports ``engine="fallback"`` (``"rules"`` when it was built without any learned scorer).
    Posts the screen takes out of the transformer's path (:func:`~model.decision.screened`: nothing
    matched and the linear scores are near zero, or a rule matched and the fallback already blocks)
    are decided like the fallback, keeping ``engine="model"`` with the note ``screened_out``.
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

    def classify_batch(self, texts: Sequence[str], *, use_model: bool = True,
                       score_screened: bool = False) -> list[Result]:
        """Classify posts in one batch; ``use_model=False`` forces the fallback path.

        ``score_screened=True`` runs the transformer on screened posts too (their decision still
        ignores it), for evaluations that report the transformer alone on every post.
        """
        prepared = self.prepare(texts)
        rows = list(range(len(texts))) if score_screened else prepared.needs_model
        model_probs = None
        if use_model and self.model is not None and rows:
            model_probs = self._scores(self.model, [prepared.views[i] for i in rows])
        return self.finish(prepared, model_probs, rows, use_model=use_model)

    def prepare(self, texts: Sequence[str]) -> Prepared:
        """The cheap half of classification: normalization, rules, the linear scorer, screening."""
        if isinstance(texts, str):
            raise TypeError("classify_batch() expects a sequence of str, got a single str")
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"text at position {i} must be str, got {type(t).__name__}")
        norms = [normalize(t) for t in texts]
        rule_results = [self.rules.analyze(n) for n in norms]
        # Learned scorers read the normalized word view, as they were trained on it.
        views = [n.text for n in norms]
        linear_probs = self._scores(self.linear, views) if self.linear is not None else None
        needs_model = []
        if self.model is not None:
            for i, rr in enumerate(rule_results):
                if not screened(rr.scores, _row(linear_probs, i), self.blend, self.fallback_policy):
                    needs_model.append(i)
        return Prepared(list(texts), norms, rule_results, views, linear_probs, needs_model)

    def finish(self, prepared: Prepared, model_probs: np.ndarray | None, rows: Sequence[int] | None = None, *,
               use_model: bool = True) -> list[Result]:
        """Decide every prepared post. ``model_probs`` holds transformer scores for the posts at
        ``rows`` (default: ``prepared.needs_model``), or None when the transformer did not answer."""
        rows = prepared.needs_model if rows is None else rows
        if model_probs is not None and model_probs.shape != (len(rows), len(LABELS)):
            raise ValueError(f"model_probs has shape {model_probs.shape}, expected {(len(rows), len(LABELS))}")
        model_row = {i: k for k, i in enumerate(rows)} if model_probs is not None else {}
        missing_model = (self.model is not None and use_model and model_probs is None and bool(prepared.needs_model))
        if self.model is None and self.linear is None:
            engine = ENGINE_RULES
        elif self.model is None or not use_model or missing_model:
            engine = ENGINE_FALLBACK
        else:
            engine = ENGINE_MODEL
        needs = set(prepared.needs_model)
        results = []
        for i, (text, norm, rr) in enumerate(zip(prepared.texts, prepared.norms, prepared.rule_results)):
            notes = []
            if not norm.text.strip():
                notes.append("empty_text" if not text.strip() else "no_readable_text")
            lin = _row(prepared.linear_probs, i)
            m = None
            if engine == ENGINE_MODEL and i in needs:
                m = _row(model_probs, model_row[i])
            elif engine == ENGINE_MODEL:
                notes.append(NOTE_SCREENED)
            policy = self.policy if m is not None else self.fallback_policy
            scores = combine_scores(rr.scores, m, lin, self.blend)
            decision = decide(scores, policy)
            shown = _row(model_probs, model_row[i]) if i in model_row else None
            results.append(self._result(decision, rr.scores, shown, lin, rr.evidence, rr.entities, engine, notes))
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
