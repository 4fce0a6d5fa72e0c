"""The model artifact: a directory with ``manifest.json``, tokenizer, ONNX weights and linear model.

The manifest carries everything needed to use the model (label order, thresholds, window
settings) and to trace it (base-model sha256, corpus hash, training config, git commit, metrics).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from model.decision import Blend, Policy
from model.labels import LABELS
from model.transformer import WindowConfig

SCHEMA_VERSION = 1
MANIFEST_FILE = "manifest.json"


class ArtifactError(ValueError):
    """The artifact is missing, corrupt, or of another schema or label set."""


@dataclass
class Manifest:
    version: str
    thresholds: dict[str, dict[str, float]]
    fallback_thresholds: dict[str, dict[str, float]]
    files: dict[str, str]
    window: dict[str, Any] = field(default_factory=lambda: asdict(WindowConfig()))
    blend: dict[str, float] = field(default_factory=lambda: asdict(Blend()))
    labels: list[str] = field(default_factory=lambda: list(LABELS))
    schema_version: int = SCHEMA_VERSION
    base_model: dict[str, Any] = field(default_factory=dict)
    corpus_hash: str = ""
    training_config: dict[str, Any] = field(default_factory=dict)
    git_commit: str = ""
    lexicon_version: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""

    def policy(self) -> Policy:
        return Policy.from_mapping(self.thresholds)

    def fallback_policy(self) -> Policy:
        return Policy.from_mapping(self.fallback_thresholds)

    def window_config(self) -> WindowConfig:
        return WindowConfig(**self.window)

    def blend_config(self) -> Blend:
        return Blend(**self.blend)

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / MANIFEST_FILE
        path.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, directory: str | Path) -> "Manifest":
        """Read and validate a manifest; raises :class:`ArtifactError` with the reason."""
        path = Path(directory) / MANIFEST_FILE
        if not path.is_file():
            raise ArtifactError(f"no model artifact at {directory} ({MANIFEST_FILE} missing)")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ArtifactError(f"{path} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ArtifactError(f"{path} must hold a JSON object")
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ArtifactError(
                f"{path} has schema_version {data.get('schema_version')!r}; this vcguard reads {SCHEMA_VERSION}")
        if data.get("labels") != list(LABELS):
            raise ArtifactError(f"{path} labels {data.get('labels')!r} differ from this vcguard's {list(LABELS)}")
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ArtifactError(f"{path} has unknown fields: {sorted(unknown)}")
        try:
            manifest = cls(**data)
            manifest.policy(), manifest.fallback_policy(), manifest.window_config(), manifest.blend_config()
        except (TypeError, ValueError) as exc:
            raise ArtifactError(f"{path} is invalid: {exc}") from exc
        return manifest
