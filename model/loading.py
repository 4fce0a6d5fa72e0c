"""Build a :class:`~model.classifier.Classifier` from a model artifact.

Contract used by the API and batch audits: ``load_classifier(path)`` never fails for a missing
or broken artifact unless ``strict=True``; it returns the best classifier it can build and sets
``classifier.degraded_reason`` to why it is degraded (``None`` when the model loaded).
"""

from __future__ import annotations

import logging
from pathlib import Path

from model.artifact import ArtifactError, Manifest
from model.classifier import Classifier
from model.linear import LinearScorer
from model.rules import RuleEngine
from model.transformer import TransformerScorer, windows_per_call

logger = logging.getLogger(__name__)

DEFAULT_ARTIFACT_DIR = Path(__file__).with_name("default_artifact")

__all__ = ["ArtifactError", "DEFAULT_ARTIFACT_DIR", "load_classifier"]


def load_classifier(artifact: str | Path | None = None, *, strict: bool = False, threads: int = 1,
                    rules: RuleEngine | None = None) -> Classifier:
    """Load the classifier for ``artifact`` (default: the shipped one), degrading if needed.

    A broken manifest leaves the keyword rules alone; a broken transformer leaves rules plus the
    linear scorer. With ``strict=True`` any failure raises :class:`ArtifactError`.
    """
    path = Path(artifact) if artifact is not None else DEFAULT_ARTIFACT_DIR
    rules = rules or RuleEngine()
    try:
        manifest = Manifest.load(path)
    except ArtifactError as exc:
        if strict:
            raise
        logger.warning("model unavailable, answering from keyword rules: %s", exc)
        clf = Classifier(rules)
        clf.degraded_reason = str(exc)
        return clf

    linear = None
    try:
        linear = LinearScorer.load(path / manifest.files.get("linear", "linear.joblib"))
    except Exception as exc:  # joblib raises many types for a corrupt file
        if strict:
            raise ArtifactError(f"linear model in {path} cannot be loaded: {exc}") from exc
        logger.warning("linear scorer unavailable: %s", exc)
    model = None
    reason = None
    try:
        batch_size = windows_per_call(bool(manifest.base_model.get("int8", True)))
        model = TransformerScorer(path / manifest.files["onnx"], path / manifest.files["tokenizer"],
                                  manifest.window_config(), threads=threads, batch_size=batch_size)
    except Exception as exc:  # onnxruntime raises its own exception types for corrupt models
        if strict:
            raise ArtifactError(f"transformer in {path} cannot be loaded: {exc}") from exc
        reason = f"transformer unavailable: {exc}"
        logger.warning("%s; answering from rules%s", reason, " and the linear scorer" if linear else "")
    clf = Classifier(rules, manifest.policy(), model=model, linear=linear, blend=manifest.blend_config(),
                     version=manifest.version, fallback_policy=manifest.fallback_policy())
    clf.degraded_reason = reason
    return clf
