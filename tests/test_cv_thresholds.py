"""The dev cross-check of review-threshold strategies (evaluation/cv_thresholds.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from data.schema import Row
from evaluation.cv_thresholds import cross_check, group_folds, main, summary
from model.labels import LABELS


def _rows(n_groups: int = 12, per_group: int = 5) -> list[Row]:
    rows = []
    for g in range(n_groups):
        for k in range(per_group):
            labels = (LABELS[g % len(LABELS)],) if k % 2 == 0 else ()
            rows.append(Row(id=f"R-{g}-{k}", text=f"post {g} {k}", labels=labels, lang="en", group=f"g{g}",
                            source="handwritten"))
    return rows


def test_every_post_is_held_out_once_per_repeat_and_groups_stay_whole() -> None:
    rows = _rows()
    masks = group_folds(rows, folds=3, repeats=2, seed=1)
    assert len(masks) == 6
    groups = np.array([r.group for r in rows])
    for repeat in range(2):
        held = [~m for m in masks[3 * repeat: 3 * repeat + 3]]
        assert (np.sum(held, axis=0) == 1).all()  # each post held out exactly once
        for h in held:
            assert not set(groups[h]) & set(groups[~h])  # no group on both sides


def test_bad_fold_settings_are_refused() -> None:
    rows = _rows(n_groups=2)
    with pytest.raises(ValueError, match="folds must be >= 2"):
        group_folds(rows, folds=1, repeats=1, seed=0)
    with pytest.raises(ValueError, match="at least 3 groups"):
        group_folds(rows, folds=3, repeats=1, seed=0)
    with pytest.raises(ValueError, match="repeats"):
        group_folds(rows, folds=2, repeats=0, seed=0)
    with pytest.raises(ValueError, match="unknown review strategy"):
        cross_check(rows, None, np.zeros((len(rows), len(LABELS))), np.zeros((len(rows), len(LABELS))),
                    strategies=("median",))


def test_cross_check_scores_held_out_posts() -> None:
    rows = _rows()
    y = np.array([[label in r.labels for label in LABELS] for r in rows], dtype=float)
    rng = np.random.default_rng(0)
    rule = np.zeros_like(y)
    perfect = cross_check(rows, y, y, rule, folds=2, repeats=2, seed=0)
    for folds in perfect.values():
        assert all(f.heldout_f1 == pytest.approx(1.0) and f.negatives_flagged == 0.0 for f in folds)
    noisy_model = np.clip(0.55 * y + rng.uniform(0, 0.5, y.shape), 0, 1)
    noisy_linear = rng.uniform(0, 1, y.shape)  # no signal at all
    results = cross_check(rows, noisy_model, noisy_linear, rule, folds=2, repeats=3, seed=0)
    table = {r["strategy"]: r for r in summary(results)}
    assert set(table) == {"shared", "per_label"}
    assert table["per_label"]["diff_vs_per_label"] == 0.0
    for r in table.values():
        assert 0.0 <= float(r["heldout_f1"]) <= 1.0
        assert 0.0 <= float(r["negatives_flagged"]) <= 1.0


def test_missing_artifact_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--artifact", str(tmp_path / "none"), "--repeats", "1"]) == 2
    assert "error:" in capsys.readouterr().err
