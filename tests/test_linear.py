"""The linear scorer: its fast scoring path agrees with scikit-learn's, weights and round trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from data.schema import label_matrix, validate_file
from model.labels import LABELS
from model.linear import LinearScorer
from model.normalize import normalize

CORPUS = Path(__file__).parent / "fixtures" / "corpus_small"


def _data(split: str) -> tuple[list[str], np.ndarray]:
    rows = validate_file(CORPUS / f"{split}.jsonl")
    return [normalize(r.text).text for r in rows], label_matrix(rows, float)


@pytest.fixture(scope="module")
def fitted() -> LinearScorer:
    texts, y = _data("train")
    return LinearScorer(min_df=1).fit(texts, y)


def _sklearn_proba(scorer: LinearScorer, texts: list[str]) -> np.ndarray:
    x = scorer.vectorizer_.transform(texts)
    return np.stack([m.predict_proba(x)[:, 1] for m in scorer.models_], axis=1)


def test_fast_path_matches_scikit_learn(fitted: LinearScorer) -> None:
    texts, _ = _data("dev")
    # unseen words only, empty, whitespace and emoji: no known n-gram falls back to the intercepts
    texts += ["", "   ", "😀😀", "zzqx vvkj", "收U 出U 收U 出U"]
    fast = fitted.predict_proba(texts)
    assert fast.shape == (len(texts), len(LABELS))
    np.testing.assert_allclose(fast, _sklearn_proba(fitted, texts), atol=1e-5)


def test_sample_weight_changes_the_fit_and_is_validated() -> None:
    texts, y = _data("train")
    weights = np.ones(len(texts))
    weights[: len(texts) // 2] = 5.0
    plain = LinearScorer(min_df=1).fit(texts, y).predict_proba(texts)
    weighted = LinearScorer(min_df=1).fit(texts, y, sample_weight=weights).predict_proba(texts)
    assert not np.allclose(plain, weighted)
    with pytest.raises(ValueError, match="sample_weight"):
        LinearScorer(min_df=1).fit(texts, y, sample_weight=np.zeros(len(texts)))
    with pytest.raises(ValueError, match="sample_weight"):
        LinearScorer(min_df=1).fit(texts, y, sample_weight=np.ones(3))


def test_save_load_round_trip_gives_identical_scores(fitted: LinearScorer, tmp_path: Path) -> None:
    texts, _ = _data("dev")
    before = fitted.predict_proba(texts)  # builds the cached fast parts, which must not be pickled
    loaded = LinearScorer.load(fitted.save(tmp_path / "linear.joblib"))
    np.testing.assert_array_equal(loaded.predict_proba(texts), before)
    assert loaded.classes_.tolist() == list(LABELS)


def test_unfitted_scorer_refuses_to_predict() -> None:
    with pytest.raises(ValueError, match="not fitted"):
        LinearScorer().predict_proba(["text"])

