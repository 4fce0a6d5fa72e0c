"""Character n-gram TF-IDF + logistic regression: the fast scorer and the baseline.

Follows scikit-learn conventions: ``fit`` returns self, ``classes_`` holds the label order.
Texts are expected already normalized (``normalize(text).text``), as the classifier passes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import joblib
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from model.labels import LABELS

LINEAR_FILE = "linear.joblib"


class LinearScorer:
    """One logistic regression per label over shared character n-gram TF-IDF features."""

    def __init__(self, ngram_range: tuple[int, int] = (1, 4), min_df: int = 2, max_features: int = 300_000,
                 C: float = 8.0) -> None:
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.C = C
        self.classes_ = np.array(LABELS)

    def fit(self, texts: Sequence[str], y: np.ndarray) -> "LinearScorer":
        """Fit on texts and a multi-hot ``(n, len(LABELS))`` matrix."""
        y = np.asarray(y)
        if y.shape != (len(texts), len(LABELS)):
            raise ValueError(f"y must have shape ({len(texts)}, {len(LABELS)}), got {y.shape}")
        self.vectorizer_ = TfidfVectorizer(analyzer="char_wb", ngram_range=self.ngram_range, min_df=self.min_df,
                                           max_features=self.max_features, sublinear_tf=True, dtype=np.float32)
        x = self.vectorizer_.fit_transform(texts)
        self.models_ = []
        for j, label in enumerate(LABELS):
            target = y[:, j].astype(int)
            if target.min() == target.max():
                raise ValueError(f"label {label!r} has only one class in the training data")
            self.models_.append(LogisticRegression(C=self.C, max_iter=2000, class_weight="balanced").fit(x, target))
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities, shape ``(n, len(LABELS))``."""
        if not hasattr(self, "models_"):
            raise ValueError("LinearScorer is not fitted; call fit() first")
        if len(texts) == 0:
            return np.zeros((0, len(LABELS)))
        x = self.vectorizer_.transform(texts)
        return np.stack([m.predict_proba(x)[:, 1] for m in self.models_], axis=1)

    def predict(self, texts: Sequence[str], threshold: float = 0.5) -> np.ndarray:
        return (self.predict_proba(texts) >= threshold).astype(int)

    def save(self, path: str | Path) -> Path:
        """Write the fitted scorer to ``path`` (a file, e.g. ``artifact/linear.joblib``)."""
        path = Path(path)
        joblib.dump(self, path, compress=3)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "LinearScorer":
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"linear model not found: {path}")
        obj = joblib.load(path)
        if not isinstance(obj, cls):
            raise ValueError(f"{path} does not hold a LinearScorer (got {type(obj).__name__})")
        return obj
