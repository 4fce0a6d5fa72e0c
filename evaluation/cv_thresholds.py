"""How much does tuning the decision on dev fit dev's noise? A cross-check of review strategies.

    python -m evaluation.cv_thresholds --artifact model/default_artifact [--repeats 25]

Dev is cut into ``--folds`` parts by ``group`` (so no template family sits on both sides); the
decision is tuned on all parts but one the way ``vcguard train`` / ``vcguard retune`` tune it
(blend, rule override, thresholds) and scored on the part held out, each part in turn;
``--repeats`` random cuts. For each review-threshold strategy
(:data:`training.thresholds.REVIEW_STRATEGIES`) it prints the macro F1 on the posts it was tuned
on, on the posts held out, the paired difference against ``per_label``, and the share of
promotional posts and hard negatives flagged among the held-out posts. The same for the fallback
(rules + linear). The screen is left out: it decides about 1 % of dev. With fewer posts to tune
on than dev has, the check overstates how much a strategy fits noise; more folds, less so.

The test split is never read.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from data.schema import Row, label_matrix, validate_file
from training.thresholds import REVIEW_STRATEGIES, macro_f1

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FoldResult:
    """One strategy tuned on part of dev and scored on the rest."""

    tuned_f1: float  # on the posts it was tuned on
    heldout_f1: float  # on the posts held out
    promo_flagged: float  # share of the held-out promotional posts flagged
    negatives_flagged: float  # share of the held-out hard negatives flagged


def group_folds(rows: Sequence[Row], folds: int, repeats: int, seed: int) -> list[np.ndarray]:
    """``folds * repeats`` boolean masks over ``rows``, each marking the posts to tune on: every
    repeat cuts the groups at random into ``folds`` parts and holds out each part once."""
    if folds < 2:
        raise ValueError(f"folds must be >= 2, got {folds}")
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    groups = np.array([r.group for r in rows])
    unique = np.unique(groups)
    if len(unique) < folds:
        raise ValueError(f"dev needs at least {folds} groups to cut in {folds} parts, got {len(unique)}")
    rng = np.random.default_rng(seed)
    masks = []
    for _ in range(repeats):
        part = dict(zip(rng.permutation(unique), np.arange(len(unique)) % folds))
        of_row = np.array([part[g] for g in groups])
        masks.extend(of_row != k for k in range(folds))
    return masks


def _score(flags: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Macro F1 over the labels present or flagged in these posts, and the shares flagged."""
    seen = (y.sum(axis=0) > 0) | (flags.sum(axis=0) > 0)
    f1 = macro_f1(flags[:, seen], y[:, seen]) if seen.any() else 1.0
    positive = y.sum(axis=1) > 0
    promo = float(flags[positive].any(axis=1).mean()) if positive.any() else 0.0
    negatives = float(flags[~positive].any(axis=1).mean()) if (~positive).any() else 0.0
    return f1, promo, negatives


def cross_check(rows: Sequence[Row], model: np.ndarray | None, linear: np.ndarray, rule: np.ndarray,
                strategies: Sequence[str] = REVIEW_STRATEGIES, folds: int = 2, repeats: int = 25, seed: int = 0,
                progress: bool = False) -> dict[str, list[FoldResult]]:
    """Tune on all parts of dev but one and score that one, for every strategy and every cut.

    With ``model=None`` this checks the fallback (rules + linear, no blend weight to choose)."""
    from tqdm import tqdm

    from training.train import _blend_matrix, _flags, best_blend

    for name in strategies:
        if name not in REVIEW_STRATEGIES:
            raise ValueError(f"unknown review strategy {name!r}; choose from {REVIEW_STRATEGIES}")
    y = label_matrix(rows, int)
    out: dict[str, list[FoldResult]] = {name: [] for name in strategies}
    masks = group_folds(rows, folds, repeats, seed)
    for tuned_on in tqdm(masks, desc="folds", unit="fold", disable=not progress):
        other = ~tuned_on
        for name in strategies:
            f1, w, override, thresholds, _ = best_blend(rule[tuned_on], y[tuned_on],
                                                        None if model is None else model[tuned_on],
                                                        linear[tuned_on], review=name)
            s = _blend_matrix(rule[other], None if model is None else model[other], linear[other], w, override)
            heldout, promo, negatives = _score(_flags(s, thresholds), y[other])
            out[name].append(FoldResult(f1, heldout, promo, negatives))
    return out


def summary(results: dict[str, list[FoldResult]], baseline: str = "per_label") -> list[dict[str, float | str]]:
    """Means over the folds, with the standard error of the held-out macro F1 and of its paired
    difference against ``baseline`` (the folds are not independent, so read them as a guide)."""
    rows = []
    base = np.array([r.heldout_f1 for r in results[baseline]]) if baseline in results else None
    for name, folds in results.items():
        held = np.array([r.heldout_f1 for r in folds])
        row: dict[str, float | str] = {
            "strategy": name,
            "tuned_f1": float(np.mean([r.tuned_f1 for r in folds])),
            "heldout_f1": float(held.mean()),
            "heldout_f1_se": float(held.std() / np.sqrt(len(held))),
            "promo_flagged": float(np.mean([r.promo_flagged for r in folds])),
            "negatives_flagged": float(np.mean([r.negatives_flagged for r in folds])),
        }
        if base is not None:
            diff = held - base
            row["diff_vs_" + baseline] = float(diff.mean())
            row["diff_se"] = float(diff.std() / np.sqrt(len(diff)))
        rows.append(row)
    return rows


def _table(title: str, rows: list[dict[str, float | str]]) -> str:
    lines = [f"{title}", "| review thresholds | macro F1, tuned on | macro F1, held out | vs per_label | "
             "promotional flagged | hard negatives flagged |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['strategy']} | {r['tuned_f1']:.4f} | {r['heldout_f1']:.4f} ± {r['heldout_f1_se']:.4f} | "
                     f"{r.get('diff_vs_per_label', 0.0):+.4f} ± {r.get('diff_se', 0.0):.4f} | "
                     f"{100 * float(r['promo_flagged']):.1f} % | {100 * float(r['negatives_flagged']):.1f} % |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifact", default="model/default_artifact", help="model artifact (default: %(default)s)")
    parser.add_argument("--dev", default="data/build/dev.jsonl", help="dev rows (default: %(default)s)")
    parser.add_argument("--folds", type=int, default=2, help="parts dev is cut into (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=25, help="random cuts of dev (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="also write the summaries here")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    if args.folds < 2:
        parser.error(f"--folds must be >= 2, got {args.folds}")

    from model.loading import load_classifier
    from model.normalize import normalize
    from training.train import rule_matrix

    try:
        clf = load_classifier(args.artifact, strict=True, threads=args.threads)
        rows = validate_file(args.dev)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if clf.model is None or clf.linear is None:
        print(f"error: {args.artifact} needs a transformer and a linear scorer", file=sys.stderr)
        return 2
    views = [normalize(r.text).text for r in rows]
    model, linear = clf.model.predict_proba(views), clf.linear.predict_proba(views)
    rule = rule_matrix(rows, clf.rules)
    combined = summary(cross_check(rows, model, linear, rule, folds=args.folds, repeats=args.repeats, seed=args.seed,
                                       progress=True))
    fallback = summary(cross_check(rows, None, linear, rule, folds=args.folds, repeats=args.repeats, seed=args.seed,
                                       progress=True))
    print(f"{args.artifact} on {args.dev} ({len(rows)} posts): {args.repeats} random cuts by group into "
          f"{args.folds} parts, each part held out once\n")
    print(_table("The service's decision (transformer + linear + rules):", combined))
    print()
    print(_table("The fallback (linear + rules):", fallback))
    if args.json is not None:
        args.json.write_text(json.dumps({"combined": combined, "fallback": fallback}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    raise SystemExit(main())
