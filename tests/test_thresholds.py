"""Per-label threshold tuning on dev scores."""

from __future__ import annotations

import numpy as np

from training.thresholds import tune_label


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
