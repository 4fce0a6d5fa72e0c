"""Load the splits as a ``datasets.DatasetDict`` with multi-hot label vectors in LABELS order."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Mapping, Sequence

from data import BUILD_DIR, DEFAULT_SEED
from data.schema import Row
from data.splits import SPLITS
from model.labels import LABELS

log = logging.getLogger(__name__)


def _features():  # noqa: ANN202 - datasets is imported lazily
    from datasets import Features, Sequence as Seq, Value

    return Features({
        "id": Value("string"),
        "text": Value("string"),
        "labels": Seq(Value("float32"), length=len(LABELS)),
        "lang": Value("string"),
        "group": Value("string"),
        "source": Value("string"),
        "neg_class": Value("string"),
    })


def to_dataset_dict(rows: Mapping[str, Sequence[Row]]):  # noqa: ANN201
    """Split rows -> ``DatasetDict``; ``labels`` is a multi-hot float vector in :data:`LABELS` order."""
    from datasets import Dataset, DatasetDict

    features = _features()
    out = {}
    for split in SPLITS:
        data = rows.get(split, [])
        out[split] = Dataset.from_dict({
            "id": [r.id for r in data],
            "text": [r.text for r in data],
            "labels": [r.label_vector() for r in data],
            "lang": [r.lang for r in data],
            "group": [r.group for r in data],
            "source": [r.source for r in data],
            "neg_class": [r.neg_class for r in data],
        }, features=features)
    return DatasetDict(out)


def load_splits(split_dir: str | Path | None = None):  # noqa: ANN201
    """The train / dev / test ``datasets.DatasetDict``.

    ``split_dir`` holds ``{train,dev,test}.jsonl`` (from ``vcguard data build``). Without it, the
    default build directory is used when it is current; when it is missing or was built from other
    seed files, the corpus is built in memory from the seeds (deterministic, default seed).
    Columns: ``id``, ``text``, ``labels`` (multi-hot, LABELS order), ``lang``, ``group``, ``source``
    and ``neg_class`` (must-allow class of a negative, '' for positives).
    """
    from data.build import build, is_stale
    from data.stats import load_split_rows

    if split_dir is not None:
        return to_dataset_dict(load_split_rows(split_dir))
    if not is_stale(BUILD_DIR):
        return to_dataset_dict(load_split_rows(BUILD_DIR))
    log.warning("%s is missing or stale; building the corpus in memory (seed %d)", BUILD_DIR, DEFAULT_SEED)
    return to_dataset_dict(build(seed=DEFAULT_SEED).splits)


__all__ = ["load_splits", "to_dataset_dict"]
