"""Evaluation metrics: pure functions over gold labels, flags, decisions and scores.

Conventions used throughout:

* ``y_true`` is an ``(n, len(LABELS))`` multi-hot array in :data:`model.labels.LABELS` order;
* ``flags`` is an array of the same shape, true where a system flagged the label (its action is
  ``review`` or ``block``, i.e. the score reached the policy's review threshold);
* ``decisions`` holds one post-level action per row (``allow`` / ``review`` / ``block``);
* a *promotional* row has at least one gold label; a *hard negative* has none.

A rate over an empty set (no promotional rows, say) is ``None``, never a made-up number.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

from model.decision import ACTIONS
from model.labels import LABELS


@dataclass(frozen=True, slots=True)
class LabelMetrics:
    """Counts and scores of one label at a system's flag threshold.

    Precision (recall) is 0.0 when the system flagged (the gold set holds) nothing; F1 is
    ``2tp / (2tp + fp + fn)`` and ``None`` only when the label is neither gold nor flagged anywhere.
    """

    tp: int
    fp: int
    fn: int
    support: int
    precision: float
    recall: float
    f1: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Rate:
    """``hits`` out of ``total`` rows; ``value`` is ``None`` when ``total`` is 0."""

    hits: int
    total: int

    @property
    def value(self) -> float | None:
        return self.hits / self.total if self.total else None

    def to_dict(self) -> dict[str, Any]:
        return {"hits": self.hits, "total": self.total, "value": self.value}


@dataclass(frozen=True, slots=True)
class PRCurve:
    """Precision-recall points at every distinct score, highest threshold first.

    The first point is ``(recall 0, precision 1)`` with no threshold (``thresholds`` is one shorter).
    """

    precision: np.ndarray
    recall: np.ndarray
    thresholds: np.ndarray

    def thinned(self, max_points: int = 200) -> dict[str, list[Any]]:
        """A JSON-friendly copy with at most ``max_points`` points, both ends kept.

        ``thresholds`` is aligned with the points: the first point's threshold is ``None``.
        """
        if max_points < 2:
            raise ValueError(f"max_points must be >= 2, got {max_points}")
        n = len(self.precision)
        keep = np.unique(np.linspace(0, n - 1, num=min(n, max_points)).round().astype(int))
        return {
            "precision": [round(float(v), 5) for v in self.precision[keep]],
            "recall": [round(float(v), 5) for v in self.recall[keep]],
            "thresholds": [None if k == 0 else round(float(self.thresholds[k - 1]), 5) for k in keep],
        }


# --- input checks --------------------------------------------------------------------------------
def as_matrix(values: Any, name: str, n: int | None = None) -> np.ndarray:
    """``values`` as an ``(n, len(LABELS))`` float array; ValueError naming ``name`` otherwise."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != len(LABELS):
        raise ValueError(f"{name} must have shape (n, {len(LABELS)}), got {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} rows, expected {n}")
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    return arr


def _gold(y_true: Any) -> np.ndarray:
    arr = as_matrix(y_true, "y_true")
    if not np.isin(arr, (0.0, 1.0)).all():
        raise ValueError("y_true must be multi-hot (only 0 and 1)")
    return arr.astype(bool)


def _flagged_rows(decisions: Sequence[str], n: int) -> np.ndarray:
    arr = np.asarray(decisions, dtype=object)
    if arr.shape != (n,):
        raise ValueError(f"decisions must hold one action per row ({n}), got shape {arr.shape}")
    bad = sorted({str(d) for d in arr if d not in ACTIONS})
    if bad:
        raise ValueError(f"unknown decision(s) {bad}; expected one of {', '.join(ACTIONS)}")
    return arr != "allow"


# --- label-level metrics ---------------------------------------------------------------------------
def label_metrics(y_true: Any, flags: Any) -> dict[str, LabelMetrics]:
    """Per-label precision, recall and F1 of ``flags`` against ``y_true``."""
    gold = _gold(y_true)
    pred = as_matrix(flags, "flags", gold.shape[0]).astype(bool)
    out = {}
    for j, label in enumerate(LABELS):
        g, p = gold[:, j], pred[:, j]
        tp = int((g & p).sum())
        fp = int((~g & p).sum())
        fn = int((g & ~p).sum())
        denom = 2 * tp + fp + fn
        out[label] = LabelMetrics(
            tp=tp, fp=fp, fn=fn, support=int(g.sum()),
            precision=tp / (tp + fp) if tp + fp else 0.0,
            recall=tp / (tp + fn) if tp + fn else 0.0,
            f1=2 * tp / denom if denom else None,
        )
    return out


def macro_f1(per_label: dict[str, LabelMetrics]) -> float | None:
    """Mean F1 over the labels where it is defined (gold or flagged somewhere)."""
    values = [m.f1 for m in per_label.values() if m.f1 is not None]
    return float(np.mean(values)) if values else None


def micro_f1(per_label: dict[str, LabelMetrics]) -> float | None:
    """F1 of the pooled label decisions."""
    tp = sum(m.tp for m in per_label.values())
    fp = sum(m.fp for m in per_label.values())
    fn = sum(m.fn for m in per_label.values())
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None


# --- post-level rates ------------------------------------------------------------------------------
def flagged_promotional(y_true: Any, decisions: Sequence[str]) -> Rate:
    """Promotional rows (>= 1 gold label) whose decision is not ``allow``."""
    gold = _gold(y_true)
    flagged = _flagged_rows(decisions, gold.shape[0])
    promo = gold.any(axis=1)
    return Rate(int((promo & flagged).sum()), int(promo.sum()))


def hard_negative_fpr(y_true: Any, decisions: Sequence[str]) -> Rate:
    """Hard negatives (no gold label) whose decision is not ``allow``: the false-positive rate."""
    gold = _gold(y_true)
    flagged = _flagged_rows(decisions, gold.shape[0])
    negative = ~gold.any(axis=1)
    return Rate(int((negative & flagged).sum()), int(negative.sum()))


def hard_negative_blocked(y_true: Any, decisions: Sequence[str]) -> Rate:
    """Hard negatives whose decision is ``block`` (the errors a person never gets to see)."""
    gold = _gold(y_true)
    _flagged_rows(decisions, gold.shape[0])
    negative = ~gold.any(axis=1)
    blocked = np.asarray(decisions, dtype=object) == "block"
    return Rate(int((negative & blocked).sum()), int(negative.sum()))


# --- ranking metrics -------------------------------------------------------------------------------
def _binary(y: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    y_arr = np.asarray(y, dtype=float)
    s_arr = np.asarray(scores, dtype=float)
    if y_arr.ndim != 1 or y_arr.shape != s_arr.shape:
        raise ValueError(f"y and scores must be 1-d of equal length, got {y_arr.shape} and {s_arr.shape}")
    if not np.isin(y_arr, (0.0, 1.0)).all():
        raise ValueError("y must hold only 0 and 1")
    if np.isnan(s_arr).any():
        raise ValueError("scores contain NaN")
    return y_arr.astype(bool), s_arr


def pr_curve(y: Any, scores: Any) -> PRCurve | None:
    """Precision-recall curve of one label; ``None`` when there is no positive row."""
    gold, s = _binary(y, scores)
    positives = int(gold.sum())
    if positives == 0:
        return None
    order = np.argsort(-s, kind="mergesort")
    s, gold = s[order], gold[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # last index of each distinct score
    tps = np.cumsum(gold)[last]
    precision = tps / (last + 1)
    recall = tps / positives
    return PRCurve(np.r_[1.0, precision], np.r_[0.0, recall], s[last])


def average_precision(y: Any, scores: Any) -> float | None:
    """Step-wise area under the PR curve, ``sum((R_k - R_{k-1}) * P_k)``; ``None`` without positives."""
    curve = pr_curve(y, scores)
    if curve is None:
        return None
    return float(np.sum(np.diff(curve.recall) * curve.precision[1:]))


# --- one system on one slice ------------------------------------------------------------------------
def summarize(y_true: Any, flags: Any, decisions: Sequence[str]) -> dict[str, Any]:
    """The headline numbers of one system on a set of rows, as plain JSON types."""
    gold = _gold(y_true)
    per_label = label_metrics(gold, flags)
    return {
        "n": int(gold.shape[0]),
        "macro_f1": macro_f1(per_label),
        "micro_f1": micro_f1(per_label),
        "flagged_promotional": flagged_promotional(gold, decisions).to_dict(),
        "hard_negative_fpr": hard_negative_fpr(gold, decisions).to_dict(),
        "hard_negative_blocked": hard_negative_blocked(gold, decisions).to_dict(),
        "per_label": {label: m.to_dict() for label, m in per_label.items()},
    }


def breakdown(keys: Sequence[str], y_true: Any, flags: Any, decisions: Sequence[str]) -> dict[str, dict[str, Any]]:
    """:func:`summarize` per distinct key (a language, a must-allow class), keys sorted."""
    gold = _gold(y_true)
    pred = as_matrix(flags, "flags", gold.shape[0])
    dec = np.asarray(decisions, dtype=object)
    key_arr = np.asarray(keys, dtype=object)
    if key_arr.shape != (gold.shape[0],):
        raise ValueError(f"keys must hold one value per row ({gold.shape[0]}), got shape {key_arr.shape}")
    return {str(k): summarize(gold[key_arr == k], pred[key_arr == k], dec[key_arr == k])
            for k in sorted(set(key_arr.tolist()), key=str)}


def ranking(y_true: Any, scores: Any, max_points: int = 200) -> dict[str, Any]:
    """Average precision and thinned PR curve per label (``None`` for a label with no positive)."""
    gold = _gold(y_true)
    s = as_matrix(scores, "scores", gold.shape[0])
    ap: dict[str, float | None] = {}
    curves: dict[str, dict[str, list[Any]] | None] = {}
    for j, label in enumerate(LABELS):
        curve = pr_curve(gold[:, j], s[:, j])
        curves[label] = curve.thinned(max_points) if curve is not None else None
        ap[label] = average_precision(gold[:, j], s[:, j])
    defined = [v for v in ap.values() if v is not None]
    return {"average_precision": ap, "mean_average_precision": float(np.mean(defined)) if defined else None,
            "pr_curves": curves}
