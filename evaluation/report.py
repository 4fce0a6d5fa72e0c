"""Render an evaluation result (the dict :func:`evaluation.evaluate.evaluate` returns) as Markdown and PNGs."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from model.labels import LABELS

SYSTEM_ORDER: tuple[str, ...] = ("rules", "linear", "transformer", "combined")
SYSTEM_NOTES: dict[str, str] = {
    "rules": "keyword rules, default policy",
    "linear": "linear + rules, fallback policy",
    "transformer": "transformer alone, model policy",
    "combined": "the service's decision",
}
COLORS: dict[str, str] = {"rules": "#8c8c8c", "linear": "#1f77b4", "transformer": "#ff7f0e", "combined": "#2ca02c"}
PR_PLOT = "pr_curves.png"
SYSTEMS_PLOT = "systems.png"


# --- formatting ------------------------------------------------------------------------------------
def num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def pct(rate: dict[str, Any] | None) -> str:
    """``"96.2 % (250/260)"`` for a :class:`~evaluation.metrics.Rate` dict; ``n/a`` when undefined."""
    if not rate or rate.get("value") is None:
        return "n/a"
    return f"{100 * rate['value']:.1f} % ({rate['hits']}/{rate['total']})"


def cell(text: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _met(flag: bool | None) -> str:
    return "n/a" if flag is None else ("yes" if flag else "**no**")


def _target_value(t: dict[str, Any]) -> str:
    value = t["value"]
    if isinstance(value, dict):
        return ", ".join(f"{k} {'n/a' if v is None else f'{100 * v:.2f} %'}" for k, v in value.items())
    if value is None:
        return "n/a"
    return f"{value:.4f}" if "F1" in t["name"] else f"{100 * value:.2f} %"


# --- Markdown ----------------------------------------------------------------------------------------
def render(result: dict[str, Any]) -> str:
    """The Markdown report."""
    systems: dict[str, Any] = result["systems"]
    names = [s for s in SYSTEM_ORDER if s in systems]
    parts = [
        f"# vcguard evaluation: `{result['split']}` split",
        "",
        f"Artifact `{result['artifact']}` (model version `{result['model_version']}`, engine `{result['engine']}`); "
        f"split `{result['split_path']}` (sha256 `{result['split_sha256'][:12]}`): {result['n_rows']} posts, "
        f"{result['n_promotional']} promotional, {result['n_hard_negative']} hard negatives. "
        f"Scored in {result['scoring_seconds']} s on {result['created_at']}.",
    ]
    screened = systems.get("combined", {}).get("screened_posts")
    if screened:
        parts.append(f"\nThe screen decided {screened} of {result['n_rows']} posts ({screened / result['n_rows']:.1%}) "
                     "without the transformer: posts with no rule hit and linear scores below the artifact's "
                     "`screen_below`, and, where its `screen_blocks` is on, posts a rule matched that the fallback "
                     "already blocks.")
    if result.get("systems_missing"):
        parts.append(f"\nNot evaluated (the artifact lacks the scorer): {', '.join(result['systems_missing'])}.")

    parts += ["", "## Targets (issue 4)", "",
              table(["target", "required", "measured", "met"],
                    [[t["name"], t["target"], _target_value(t), _met(t["met"])] for t in result["targets"]])]

    parts += ["", "## Systems side by side", "",
              "A label is flagged when its score reaches the policy's review threshold; a post is flagged "
              "when any label is (decision review or block).", "",
              table(["system", "what", "macro F1", "micro F1", "promotional flagged", "hard negatives flagged",
                     "hard negatives blocked", "mean AP"],
                    [[s, SYSTEM_NOTES[s], num(systems[s]["macro_f1"]), num(systems[s]["micro_f1"]),
                      pct(systems[s]["flagged_promotional"]), pct(systems[s]["hard_negative_fpr"]),
                      pct(systems[s]["hard_negative_blocked"]), num(systems[s]["mean_average_precision"])]
                     for s in names])]

    counts = result["label_counts"]
    parts += ["", "## Per label", "", "F1 at the flag threshold:", "",
              table(["label", "support", *names],
                    [[label, counts[label], *(num(systems[s]["per_label"][label]["f1"]) for s in names)]
                     for label in LABELS]),
              "", "Average precision (area under the PR curve):", "",
              table(["label", *names],
                    [[label, *(num(systems[s]["average_precision"][label]) for s in names)] for label in LABELS])]
    c = systems["combined"]
    parts += ["", "The combined decision in detail:", "",
              table(["label", "support", "TP", "FP", "FN", "precision", "recall", "F1", "review / block threshold"],
                    [[label, m["support"], m["tp"], m["fp"], m["fn"], num(m["precision"]), num(m["recall"]),
                      num(m["f1"]), f"{c['policy'][label]['review']:.3f} / {c['policy'][label]['block']:.3f}"]
                     for label, m in c["per_label"].items()])]

    lang_rows = []
    for lang, n in result["lang_counts"].items():
        for s in names:
            b = systems[s]["by_lang"][lang]
            lang_rows.append([lang, s, n, num(b["macro_f1"]), pct(b["flagged_promotional"]),
                              pct(b["hard_negative_fpr"])])
    parts += ["", "## Per language", "",
              table(["lang", "system", "posts", "macro F1", "promotional flagged", "hard negatives flagged"],
                    lang_rows)]

    if "hard_negative_by_class" in c:
        classes = list(c["hard_negative_by_class"])
        parts += ["", "## Hard negatives by must-allow class", "",
                  table(["class", "posts", *names],
                        [[cls, c["hard_negative_by_class"][cls]["total"],
                          *(pct(systems[s]["hard_negative_by_class"][cls]) for s in names)] for cls in classes])]

    errors = result["worst_errors"]
    parts += ["", f"## The {len(errors)} worst errors of the combined decision", ""]
    if errors:
        parts.append(table(["#", "id", "lang", "kind", "gold", "flagged", "decision", "scores", "excerpt"],
                           [[i, e["id"], e["lang"], e["kind"] + (f" ({e['neg_class']})" if e["neg_class"] else ""),
                             ", ".join(e["gold"]) or "-", ", ".join(e["predicted"]) or "-", e["decision"],
                             ", ".join(f"{k} {v:.2f}" for k, v in e["scores"].items()) or "-", e["excerpt"]]
                            for i, e in enumerate(errors, start=1)]))
    else:
        parts.append("None.")

    plots = [f for f in result.get("files", []) if f.endswith(".png")]
    if plots:
        parts += ["", "## Plots", ""] + [f"![{Path(f).stem}]({f})" for f in plots]
    parts += ["", "Definitions: *promotional flagged* is the share of posts with at least one gold label "
              "whose decision is not allow; *hard negatives flagged* (the false-positive rate) is the share "
              "of posts with no gold label whose decision is not allow. Macro F1 averages the six labels' F1 "
              "(in a per-language slice, over the labels present there or flagged there).", ""]
    return "\n".join(parts)


# --- plots -------------------------------------------------------------------------------------------
def write_plots(result: dict[str, Any], out_dir: str | Path) -> list[str]:
    """Write the PR-curve grid and the per-system bar chart; return their file names."""
    from matplotlib.figure import Figure  # no pyplot: no global backend state, no display needed

    out = Path(out_dir)
    systems: dict[str, Any] = result["systems"]
    names = [s for s in SYSTEM_ORDER if s in systems]

    fig = Figure(figsize=(13, 8))
    axes = fig.subplots(2, 3, sharex=True, sharey=True)
    for ax, label in zip(axes.flat, LABELS):
        for s in names:
            curve = systems[s]["pr_curves"][label]
            if curve is None:
                continue
            ap = systems[s]["average_precision"][label]
            # "pre": precision p_k holds on (r_{k-1}, r_k], the steps average precision sums
            ax.step(curve["recall"], curve["precision"], where="pre", color=COLORS[s], label=f"{s} (AP {num(ap, 2)})")
            m = systems[s]["per_label"][label]
            if m["tp"] + m["fp"] == 0:  # flagged nothing: no operating point to mark
                continue
            ax.plot([m["recall"]], [m["precision"]], "o", color=COLORS[s], markersize=5)
        ax.set_title(f"{label} (n={result['label_counts'][label]})")
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left", fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("recall")
    for ax in axes[:, 0]:
        ax.set_ylabel("precision")
    fig.suptitle(f"PR curves per label, {result['split']} split (dots: the policy's flag threshold)")
    fig.tight_layout()
    fig.savefig(out / PR_PLOT, dpi=100)

    fig = Figure(figsize=(10, 4))
    left, right = fig.subplots(1, 2)
    colors = [COLORS[s] for s in names]
    for ax, key, target, title in (
        (left, "flagged_promotional", 95.0, "promotional posts flagged (%)"),
        (right, "hard_negative_fpr", 1.0, "hard negatives flagged (%)"),
    ):
        values = [100 * (systems[s][key]["value"] or 0.0) for s in names]
        bars = ax.bar(names, values, color=colors)
        ax.bar_label(bars, fmt="%.1f", fontsize=8)
        ax.axhline(target, color="red", linestyle="--", linewidth=1, label=f"target {target:g} %")
        ax.set_title(title)
        ax.legend(fontsize=8)
    left.set_ylim(0, 105)
    fig.suptitle(f"{result['split']} split: {result['n_promotional']} promotional, "
                 f"{result['n_hard_negative']} hard negatives")
    fig.tight_layout()
    fig.savefig(out / SYSTEMS_PLOT, dpi=100)
    return [PR_PLOT, SYSTEMS_PLOT]
