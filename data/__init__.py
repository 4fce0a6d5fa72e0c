"""The labelled corpus: row schema, seed validation, augmentation, splits, loader and stats.

``data.load_splits()`` returns the train / dev / test ``datasets.DatasetDict`` (imported lazily,
so ``vcguard --help`` and the schema stay light).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent
SEED_DIR = DATA_DIR / "seed"
BUILD_DIR = DATA_DIR / "build"
CARD_PATH = DATA_DIR / "README.md"
DEFAULT_SEED = 13

__all__ = ["BUILD_DIR", "CARD_PATH", "DATA_DIR", "DEFAULT_SEED", "SEED_DIR", "load_splits"]


def __getattr__(name: str) -> Any:
    if name == "load_splits":
        from data.loader import load_splits

        return load_splits
    raise AttributeError(f"module 'data' has no attribute {name!r}")
