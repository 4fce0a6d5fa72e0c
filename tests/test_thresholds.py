"""Per-label threshold tuning on dev scores."""

from __future__ import annotations

import numpy as np
import pytest

from model.labels import LABELS
from training.thresholds import SHARED_REVIEW_GRID, macro_f1, tune_label, tune_thresholds


def test_tuned_thresholds_keep_the_cut_they_were_chosen_for() -> None:
    scores = np.array([0.912345, 0.81234, 0.61, 0.4, 0.3, 0.1])
    gold = np.array([1, 1, 1, 0, 1, 0])
    t = tune_label(scores, gold, target_precision=0.98)
    # block: the top three are all positive; the threshold lies between 0.61 and 0.4
    assert 0.4 < t["block"] <= 0.61
    # review: the F1-best cut keeps the positive at 0.3 too, and sits below it, above 0.1
    assert 0.1 < t["review"] <= 0.3
    flagged = scores >= t["review"]
    assert flagged.tolist() == [True, True, True, True, True, False]


def _two_label_case() -> tuple[np.ndarray, np.ndarray]:
    """Six labels; only the first two carry signal. Label 0 wants a low cut (its positives reach
    down to 0.26), label 1 a cut above 0.6 (a negative sits there)."""
    s0 = np.array([0.9, 0.8, 0.3, 0.26, 0.1, 0.05, 0.0, 0.0])
    g0 = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    s1 = np.array([0.0, 0.0, 0.0, 0.0, 0.9, 0.75, 0.6, 0.55])
    g1 = np.array([0, 0, 0, 0, 1, 1, 0, 0])
    scores = np.zeros((8, len(LABELS)))
    gold = np.zeros((8, len(LABELS)), dtype=int)
    scores[:, 0], gold[:, 0], scores[:, 1], gold[:, 1] = s0, g0, s1, g1
    return scores, gold


def test_per_label_review_fits_each_label_and_shared_review_uses_one_value() -> None:
    scores, gold = _two_label_case()
    per_label = tune_thresholds(scores, gold, review="per_label")
    # each label's own F1-best cut: label 0 keeps 0.26, label 1 stops above 0.6
    assert 0.1 < per_label[LABELS[0]]["review"] <= 0.26
    assert 0.6 < per_label[LABELS[1]]["review"] <= 0.75

    shared = tune_thresholds(scores, gold, review="shared")
    block = np.array([shared[label]["block"] for label in LABELS])
    reviews = np.array([shared[label]["review"] for label in LABELS])
    # one grid value v for every label, capped by the label's block threshold
    fits = [v for v in SHARED_REVIEW_GRID if np.allclose(reviews, np.minimum(v, block))]
    assert fits
    value = max(fits)
    # and v is the grid value with the best macro F1, checked by brute force
    best = max(macro_f1(scores >= np.minimum(v, block), gold) for v in SHARED_REVIEW_GRID)
    assert macro_f1(scores >= reviews, gold) == best
    # label 0's block threshold (every score above 0.1 is positive) caps its review anyway, so the
    # shared value is free to serve label 1, whose best cut lies above 0.6
    assert value > 0.6
    # block thresholds do not depend on the review strategy
    assert all(shared[label]["block"] == per_label[label]["block"] for label in LABELS)
    assert all(shared[label]["review"] <= shared[label]["block"] for label in LABELS)


def test_unknown_review_strategy_is_refused() -> None:
    scores, gold = _two_label_case()
    with pytest.raises(ValueError, match="review must be one of"):
        tune_thresholds(scores, gold, review="median")
