"""Group-level train / dev / test assignment, stratified, with near-duplicate removal.

* The unit of splitting is the **group** (authoring batch or template family). Groups that share
  content (the same normalized text, or long posts with the same opening or ending, like an article
  and its copy with a promotional tail) are merged into one unit, so near-copies never straddle.
* Units are ordered by a salted hash of their name (independent of the generator seed, so the test
  set does not move when the seed does). Test first takes, for each stratum that it still lacks
  (every label, every must-allow class, label x language, long posts), the first unit in hash order
  that has it, then fills up to 15% of the rows (and at least ``min_test`` rows), each time adding the
  unit that best fills the strata still short of 15% (ties in hash order); dev does the same to
  15%; the rest is train.
* ``pinned`` (the previous build's group -> split map) keeps every known group where it was, so
  adding seed rows never moves a row that a trained model has already seen into dev or test; only
  new groups are placed by the rules above.
* Test holds hand-written rows only. A row whose normalized text already appears in a split of
  higher precedence (test > dev > train) is dropped.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Sequence

from data.classes import is_long, neg_class_of
from data.schema import MUST_ALLOW, Row
from model.normalize import normalize

SPLITS: tuple[str, ...] = ("train", "dev", "test")
SPLIT_SALT = "vcguard-split-v1"
_WS = re.compile(r"\s+")
_FP_MIN = 160  # texts this long are fingerprinted by their first and last 80 characters
_FP_LEN = 80
_LINK_MIN = 12  # exact duplicates shorter than this are dropped, not used to merge groups


@lru_cache(maxsize=1 << 16)
def dedup_key(text: str) -> str:
    """The near-duplicate key: the normalized word view with all whitespace removed."""
    return _WS.sub("", normalize(text).text)


def _hash(name: str) -> int:
    return int(hashlib.sha256(f"{SPLIT_SALT}:{name}".encode()).hexdigest()[:16], 16)


def strata(row: Row) -> set[str]:
    """What a row contributes to stratification."""
    out = {f"lang:{row.lang}"}
    for label in row.labels:
        out.add(f"label:{label}")
        out.add(f"label:{label}:{row.lang}")
    cls = neg_class_of(row)
    if cls:
        out.add(f"neg:{cls}")
    if is_long(row):
        out.add("long:pos" if row.labels else "long:neg")
    return out


@dataclass
class Unit:
    """One or more groups that must land in the same split."""

    groups: tuple[str, ...]
    rows: list[Row] = field(default_factory=list)
    strata: set[str] = field(default_factory=set)

    @property
    def name(self) -> str:
        return "+".join(self.groups)


class _UnionFind:
    def __init__(self, items: Iterable[str]) -> None:
        self.parent = {i: i for i in items}

    def find(self, x: str) -> str:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def build_units(rows: Sequence[Row], keys: dict[str, str]) -> list[Unit]:
    """Group rows into units, merging groups that share a normalized text or a long-text fingerprint."""
    groups = sorted({r.group for r in rows})
    uf = _UnionFind(groups)
    owner: dict[str, str] = {}
    for row in rows:
        key = keys[row.id]
        prints = []
        if len(key) >= _LINK_MIN:
            prints.append("=" + key)
        if len(key) >= _FP_MIN:
            prints += ["^" + key[:_FP_LEN], "$" + key[-_FP_LEN:]]
        for fp in prints:
            if fp in owner:
                uf.union(owner[fp], row.group)
            else:
                owner[fp] = row.group
    members: dict[str, list[str]] = defaultdict(list)
    for g in groups:
        members[uf.find(g)].append(g)
    units = {root: Unit(tuple(sorted(gs))) for root, gs in members.items()}
    for row in rows:
        unit = units[uf.find(row.group)]
        unit.rows.append(row)
        unit.strata |= strata(row)
    return sorted(units.values(), key=lambda u: (_hash(u.name), u.name))


@dataclass
class SplitResult:
    """Rows per split, the unit each group went to, and what was dropped as a near-duplicate."""

    rows: dict[str, list[Row]]
    unit_split: dict[str, str]
    dropped: list[tuple[Row, str]]
    merged: list[tuple[str, ...]]


def assign_splits(
    rows: Sequence[Row],
    test_frac: float = 0.15,
    dev_frac: float = 0.15,
    min_test: int = 320,
    keys: dict[str, str] | None = None,
    pinned: dict[str, str] | None = None,
) -> SplitResult:
    """Assign every (non-generated) row to a split by its unit; see the module docstring."""
    keys = keys if keys is not None else {r.id: dedup_key(r.text) for r in rows}
    units = build_units(rows, keys)
    total = sum(len(u.rows) for u in units)
    # Units holding rows that are not hand-written can never go to test.
    test_ok = {u.name: all(r.source == "handwritten" for r in u.rows) for u in units}
    n_units = Counter(s for u in units for s in u.strata)
    chosen: dict[str, str] = {}
    for unit in units:
        pins = [pinned[g] for g in unit.groups if pinned and g in pinned]
        bad = [p for p in pins if p not in SPLITS]
        if bad:
            raise ValueError(f"pinned split {bad[0]!r} for a group of unit {unit.name!r} is not one of {SPLITS}")
        if pins:  # a unit merging groups from several splits goes to the most held-out one
            split = min(pins, key=("test", "dev", "train").index)
            chosen[unit.name] = "dev" if split == "test" and not test_ok[unit.name] else split

    def cover(split: str, required: Iterable[str], eligible: dict[str, bool] | None = None) -> None:
        for stratum in sorted(required, key=lambda s: (n_units[s], s)):
            have = any(stratum in u.strata for u in units if chosen.get(u.name) == split)
            if have:
                continue
            for unit in units:
                if unit.name not in chosen and stratum in unit.strata and (eligible is None or eligible[unit.name]):
                    chosen[unit.name] = split
                    break

    # Sorted strata: float sums below must not depend on set order (PYTHONHASHSEED).
    row_counts = Counter(st for u in units for r in u.rows for st in sorted(strata(r)))
    unit_counts = {u.name: Counter(st for r in u.rows for st in sorted(strata(r))) for u in units}

    def fill(split: str, frac: float, target: int, eligible: dict[str, bool] | None = None) -> None:
        """Add units until ``target`` rows, each time the one that best fills the strata still short."""
        have = Counter(st for u in units if chosen.get(u.name) == split for st in unit_counts[u.name].elements())
        size = sum(len(u.rows) for u in units if chosen.get(u.name) == split)
        want = {st: frac * n for st, n in row_counts.items()}
        while size < target:
            best, best_score = None, -math.inf
            for unit in units:  # hash order: ties go to the earlier unit
                if unit.name in chosen or (eligible is not None and not eligible[unit.name]):
                    continue
                score = 0.0
                for st, c in unit_counts[unit.name].items():
                    weight = 0.5 if st.count(":") == 2 else 1.0
                    short = max(0.0, want[st] - have[st])
                    score += weight * (min(c, short) - 0.5 * max(0.0, c - short)) / max(want[st], 1.0)
                score -= 0.02 * max(0, size + len(unit.rows) - target) / max(target, 1)
                if score > best_score:
                    best, best_score = unit, score
            if best is None:
                break
            chosen[best.name] = split
            have.update(unit_counts[best.name].elements())
            size += len(best.rows)

    labels_and_classes = {s for s in n_units if s.startswith(("label:", "neg:")) and s.count(":") == 1}
    must = labels_and_classes | {f"neg:{c}" for c in MUST_ALLOW if f"neg:{c}" in n_units}
    must |= {s for s in n_units if s.startswith("long:")}
    # label x language and the everyday class only where there is enough to leave some for train.
    must |= {s for s in n_units if s.startswith("label:") and s.count(":") == 2 and n_units[s] >= 3}
    cover("test", must, test_ok)
    fill("test", test_frac, max(min_test, math.ceil(test_frac * total)), test_ok)
    cover("dev", {s for s in labels_and_classes if n_units[s] >= 3})
    fill("dev", dev_frac, math.ceil(dev_frac * total))
    for unit in units:
        chosen.setdefault(unit.name, "train")

    out: dict[str, list[Row]] = {s: [] for s in SPLITS}
    seen: dict[str, str] = {}
    dropped: list[tuple[Row, str]] = []
    by_split = {s: [u for u in units if chosen[u.name] == s] for s in SPLITS}
    for split in ("test", "dev", "train"):
        for unit in by_split[split]:
            for row in unit.rows:
                key = keys[row.id]
                if key in seen and seen[key] != split:
                    dropped.append((row, f"same normalized text as a {seen[key]} row"))
                    continue
                seen.setdefault(key, split)
                out[split].append(row)
    unit_split = {g: chosen[u.name] for u in units for g in u.groups}
    merged = [u.groups for u in units if len(u.groups) > 1]
    return SplitResult(out, unit_split, dropped, merged)


__all__ = ["SPLITS", "SplitResult", "Unit", "assign_splits", "build_units", "dedup_key", "strata"]
