"""Build the corpus: validate the seeds, split them, generate training rows, write JSONL files.

``build()`` is a pure function of the seed files and the generator seed; ``write_build()`` writes
``train.jsonl``, ``dev.jsonl``, ``test.jsonl`` and a ``manifest.json`` recording the inputs' digest,
the counts and every row dropped as a near-duplicate. Generated rows only go to train, and they
are derived from train seeds only; any whose normalized text is already in dev or test is dropped.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from data import BUILD_DIR, DEFAULT_SEED, SEED_DIR
from data.augment import GENERATOR_VERSION, generate
from data.classes import neg_class_of
from data.schema import Row, expand_paths, validate_files, write_rows
from data.splits import SPLITS, assign_splits, dedup_key

log = logging.getLogger(__name__)
DEFAULT_TARGET_TRAIN = 32000
MANIFEST = "manifest.json"


@dataclass
class BuildResult:
    """The rows of each split and what the build recorded about itself."""

    splits: dict[str, list[Row]]
    manifest: dict[str, Any] = field(default_factory=dict)


def seed_files(seed_dir: str | Path = SEED_DIR) -> list[Path]:
    files = expand_paths([seed_dir])
    if not files:
        raise FileNotFoundError(f"no *.jsonl seed files in {seed_dir}")
    return files


def seed_digest(files: list[Path]) -> str:
    """One digest over the names and bytes of the seed files (what a build depends on)."""
    h = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.name):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def build(seed_dir: str | Path = SEED_DIR, seed: int = DEFAULT_SEED, target_train: int = DEFAULT_TARGET_TRAIN,
          pinned: dict[str, str] | None = None) -> BuildResult:
    """Validate, split and generate; see the module docstring.

    ``pinned`` maps groups to the split they must keep (the previous build's ``group_split``).
    """
    files = seed_files(seed_dir)
    seeds = validate_files(files)
    # Tag every negative with its must-allow class so the split files carry it.
    seeds = [replace(r, neg_class=neg_class_of(r)) if not r.labels else r for r in seeds]
    keys = {r.id: dedup_key(r.text) for r in seeds}
    split = assign_splits(seeds, keys=keys, pinned=pinned)
    rows = {name: list(split.rows[name]) for name in SPLITS}

    held_out = {keys[r.id] for name in ("dev", "test") for r in rows[name]}
    generated = generate(rows["train"], seed, target_train)
    kept: list[Row] = []
    dropped_generated = 0
    for row in generated:
        if dedup_key(row.text) in held_out:
            dropped_generated += 1
            continue
        kept.append(row)
    rows["train"].extend(kept)

    manifest = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "target_train": target_train,
        "seed_files": [p.name for p in files],
        "seed_digest": seed_digest(files),
        "counts": {name: len(rows[name]) for name in SPLITS},
        "handwritten": {name: sum(r.source == "handwritten" for r in rows[name]) for name in SPLITS},
        "merged_groups": [list(g) for g in split.merged],
        "dropped_seed_rows": [{"id": r.id, "reason": why} for r, why in split.dropped],
        "dropped_generated": dropped_generated,
        "group_split": dict(sorted(split.unit_split.items())),
    }
    log.info("built %s", manifest["counts"])
    return BuildResult(rows, manifest)


def write_build(result: BuildResult, out_dir: str | Path = BUILD_DIR) -> dict[str, Path]:
    """Write the split files and the manifest; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in SPLITS:
        paths[name] = out / f"{name}.jsonl"
        write_rows(paths[name], result.splits[name])
    paths["manifest"] = out / MANIFEST
    paths["manifest"].write_text(json.dumps(result.manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return paths


def read_manifest(split_dir: str | Path) -> dict[str, Any] | None:
    path = Path(split_dir) / MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def is_stale(split_dir: str | Path, seed_dir: str | Path = SEED_DIR) -> bool:
    """Whether a build directory was made from other seed files than the current ones."""
    manifest = read_manifest(split_dir)
    if manifest is None:
        return True
    try:
        return manifest.get("seed_digest") != seed_digest(seed_files(seed_dir))
    except FileNotFoundError:
        return False


__all__ = ["BuildResult", "DEFAULT_TARGET_TRAIN", "build", "is_stale", "read_manifest", "seed_digest", "write_build"]
