"""Per-label threshold tuning on dev scores (pure numpy)."""

from __future__ import annotations

import numpy as np

from model.labels import LABELS

MIN_REVIEW = 0.2
FALLBACK_BLOCK = 0.97
# Review strategies: one F1-best threshold per label, or one threshold shared by all labels. On
# dev, tuning six thresholds on part of the posts and scoring the rest lost 0.01-0.02 macro F1
# against one shared threshold (``python -m evaluation.cv_thresholds``): six cuts fit dev's noise.
REVIEW_STRATEGIES = ("shared", "per_label")
SHARED_REVIEW_GRID = tuple(round(0.2 + 0.05 * k, 2) for k in range(13))  # 0.20, 0.25, ..., 0.80


def _curve(scores: np.ndarray, gold: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate thresholds with precision and recall at each (flag when score >= t)."""
    order = np.argsort(-scores)
    s, g = scores[order], gold[order].astype(float)
    tp = np.cumsum(g)
    fp = np.cumsum(1 - g)
    # Only the last index of a run of tied scores is a valid cut.
    last = np.r_[s[1:] != s[:-1], True]
    s, tp, fp = s[last], tp[last], fp[last]
    precision = tp / np.maximum(tp + fp, 1)
    recall = tp / max(g.sum(), 1)
    return s, precision, recall


def _between(t: np.ndarray, k: int) -> float:
    """A threshold that keeps cut ``k`` (scores >= t[k]) but is not sitting on a dev score.

    Halfway down to the next lower candidate: a threshold equal to a dev score flips that post on
    the slightest numeric noise (int8 activations are quantized per batch), and rounding it up
    would drop the post outright.
    """
    lower = float(t[k + 1]) if k + 1 < len(t) else 0.0
    mid = (float(t[k]) + lower) / 2
    rounded = round(mid, 6)
    return rounded if lower < rounded <= float(t[k]) else mid


def tune_label(scores: np.ndarray, gold: np.ndarray, target_precision: float) -> dict[str, float]:
    """Review at the F1-best cut; block at the lowest cut whose precision (and every higher cut's)
    reaches ``target_precision``. Thresholds sit halfway to the next lower dev score."""
    if gold.sum() == 0:
        return {"block": FALLBACK_BLOCK, "review": 0.5}
    t, p, r = _curve(scores, gold)
    f1 = 2 * p * r / np.maximum(p + r, 1e-9)
    review = max(_between(t, int(np.argmax(f1))), MIN_REVIEW)
    ok = np.flatnonzero(p >= target_precision)
    block = FALLBACK_BLOCK
    if ok.size:
        bad = np.flatnonzero(p < target_precision)
        first_bad = bad[0] if bad.size else len(t)
        good_prefix = ok[ok < first_bad]
        if good_prefix.size:
            block = _between(t, int(good_prefix[-1]))
    block = min(max(block, review), 0.999)
    return {"block": block, "review": min(review, block)}


def tune_thresholds(scores: np.ndarray, gold: np.ndarray, target_precision: float = 0.98,
                    review: str = "per_label") -> dict[str, dict[str, float]]:
    """Tune block/review thresholds for every label from ``(n, 6)`` scores and multi-hot gold.

    ``review="per_label"`` puts each label's review threshold at its own F1-best cut;
    ``review="shared"`` gives every label the one value of :data:`SHARED_REVIEW_GRID` with the best
    macro F1 (a label's review never exceeds its block threshold). Block thresholds are per label
    either way.
    """
    if scores.shape != gold.shape or scores.shape[1] != len(LABELS):
        raise ValueError(f"scores {scores.shape} and gold {gold.shape} must both be (n, {len(LABELS)})")
    if review not in REVIEW_STRATEGIES:
        raise ValueError(f"review must be one of {REVIEW_STRATEGIES}, got {review!r}")
    tuned = {label: tune_label(scores[:, j], gold[:, j], target_precision) for j, label in enumerate(LABELS)}
    if review == "shared":
        tuned = with_shared_review(tuned, scores, gold)
    return tuned


def with_shared_review(thresholds: dict[str, dict[str, float]], scores: np.ndarray,
                       gold: np.ndarray) -> dict[str, dict[str, float]]:
    """``thresholds`` with every label's review threshold set to the grid value of best macro F1
    (ties go to the higher value, which flags fewer posts); block thresholds are kept."""
    block = np.array([thresholds[label]["block"] for label in LABELS])
    best_f1, best_value = -1.0, SHARED_REVIEW_GRID[0]
    for value in SHARED_REVIEW_GRID:
        f1 = macro_f1(scores >= np.minimum(value, block), gold)
        if f1 >= best_f1 - 1e-12:
            best_f1, best_value = f1, value
    return {label: {"block": thresholds[label]["block"], "review": min(best_value, thresholds[label]["block"])}
            for label in LABELS}


def macro_f1(flags: np.ndarray, gold: np.ndarray) -> float:
    """Macro F1 over labels of boolean flags against multi-hot gold."""
    f1s = []
    for j in range(gold.shape[1]):
        tp = float(np.sum(flags[:, j] & (gold[:, j] == 1)))
        fp = float(np.sum(flags[:, j] & (gold[:, j] == 0)))
        fn = float(np.sum(~flags[:, j] & (gold[:, j] == 1)))
        f1s.append(2 * tp / max(2 * tp + fp + fn, 1))
    return float(np.mean(f1s))
