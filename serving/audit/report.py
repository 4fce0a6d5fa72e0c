"""A self-contained HTML report of an audit: totals, charts (inline PNG), terms, entities, samples.

The report streams the results and errors files once with bounded memory (fixed histogram bins,
capped counters, a reservoir sample of flagged posts), then reads the input again only to fetch
the sampled posts' texts. The totals it shows are also embedded as JSON
(``<script type="application/json" id="audit-totals">``) for machines and tests.
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from model.labels import LABELS
from serving.audit.readers import Post, iter_records, open_input
from serving.audit.records import iter_results

logger = logging.getLogger(__name__)

DECISIONS: tuple[str, ...] = ("block", "review", "allow")
HIST_BINS = 20
TOP_N = 25
_COUNTER_CAP = 50_000
_COLORS = {"block": "#c0392b", "review": "#e67e22", "allow": "#27ae60", "errors": "#7f8c8d"}


class _TopCounter(Counter):
    """A Counter that keeps its most common half once it holds more than ``cap`` keys (approximate)."""

    def __init__(self, cap: int = _COUNTER_CAP) -> None:
        super().__init__()
        self.cap = cap

    def add(self, key: Any, n: int = 1) -> None:
        self[key] += n
        if len(self) > self.cap:
            kept = self.most_common(self.cap // 2)
            self.clear()
            self.update(dict(kept))


@dataclass(slots=True)
class ReportData:
    """Everything the report shows, computed from the results and errors files."""

    results: int = 0
    errors: int = 0
    decisions: Counter = field(default_factory=Counter)
    label_actions: dict[str, Counter] = field(default_factory=lambda: {label: Counter() for label in LABELS})
    histograms: dict[str, list[int]] = field(default_factory=lambda: {label: [0] * HIST_BINS for label in LABELS})
    zero_scores: Counter = field(default_factory=Counter)
    rules: _TopCounter = field(default_factory=_TopCounter)
    rule_examples: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    domains: _TopCounter = field(default_factory=_TopCounter)
    handles: _TopCounter = field(default_factory=_TopCounter)
    invite_codes: _TopCounter = field(default_factory=_TopCounter)
    error_reasons: Counter = field(default_factory=Counter)
    error_examples: list[dict[str, Any]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)
    flagged_seen: int = 0

    def totals(self) -> dict[str, Any]:
        """The headline numbers, as embedded in the report."""
        return {
            "input_rows": self.results + self.errors, "results": self.results, "errors": self.errors,
            "decisions": {d: self.decisions.get(d, 0) for d in DECISIONS},
            "labels": {label: {a: self.label_actions[label].get(a, 0) for a in ("block", "review")}
                       for label in LABELS},
        }


def collect(results_path: Path, errors_path: Path | None, *, results_format: str | None = None,
            sample_size: int = 30, seed: int = 0) -> ReportData:
    """Stream the audit's output files into :class:`ReportData`."""
    if sample_size < 0:
        raise ValueError(f"sample_size must be >= 0, got {sample_size}")
    data = ReportData()
    rng = random.Random(seed)
    for rec in iter_results(results_path, results_format):
        _add_result(data, rec, rng, sample_size)
    if errors_path is not None and errors_path.exists():
        with errors_path.open("rb") as fh:
            for raw in fh:
                err = json.loads(raw)
                data.errors += 1
                data.error_reasons[err["reason"].split(":", 1)[0]] += 1
                if len(data.error_examples) < 10:
                    data.error_examples.append(err)
    data.samples.sort(key=lambda s: s["line"])
    return data


def _add_result(data: ReportData, rec: dict[str, Any], rng: random.Random, sample_size: int) -> None:
    data.results += 1
    data.decisions[rec["decision"]] += 1
    for item in rec["labels"]:
        label, score = item["label"], float(item["score"])
        if item["action"] in ("block", "review"):
            data.label_actions[label][item["action"]] += 1
        if score <= 0:
            data.zero_scores[label] += 1
        else:
            data.histograms[label][min(int(score * HIST_BINS), HIST_BINS - 1)] += 1
    if rec["decision"] == "allow":
        return
    for ev in rec["evidence"]:
        data.rule_examples.setdefault(ev["rule_id"], (ev["kind"], ev["label"], ev["matched"]))
    for rule in {ev["rule_id"] for ev in rec["evidence"]}:
        data.rules.add(rule)
    entities = rec.get("entities") or {}
    for domain in entities.get("domains") or []:
        data.domains.add(domain)
    for handle in entities.get("handles") or []:
        data.handles.add(f"{handle['kind']}: {handle['value']}")
    for code in entities.get("invite_codes") or []:
        data.invite_codes.add(code)
    # Reservoir sample of flagged posts (Algorithm R), deterministic for a seed.
    data.flagged_seen += 1
    sample = {"line": rec["line"], "id": rec["id"], "decision": rec["decision"], "evidence": rec["evidence"],
              "flagged": [i["label"] for i in rec["labels"] if i["action"] != "allow"], "text": None}
    if len(data.samples) < sample_size:
        data.samples.append(sample)
    elif sample_size:
        j = rng.randrange(data.flagged_seen)
        if j < sample_size:
            data.samples[j] = sample


def attach_texts(data: ReportData, summary: dict[str, Any]) -> None:
    """Fill the sampled posts' texts by reading the audit's input again (once, stopping early)."""
    wanted = {s["line"]: s for s in data.samples}
    if not wanted:
        return
    try:
        spec = open_input(summary["input"], fmt=summary.get("input_format"), text_col=summary.get("text_col", "text"),
                          id_col=summary.get("id_col", "id"))
        last = max(wanted)
        for rec in iter_records(spec):
            if isinstance(rec, Post) and rec.line in wanted:
                wanted[rec.line]["text"] = rec.text
            if rec.line >= last:
                break
    except (OSError, ValueError, KeyError) as exc:
        logger.warning("sampled posts shown without their text: cannot read the input again: %s", exc)


def highlight(text: str, evidence: Iterable[dict[str, Any]], *, max_chars: int = 800, context: int = 120) -> str:
    """HTML of ``text`` with evidence spans in ``<mark>``; long texts shrink to windows around them."""
    spans = [(int(e["start"]), int(e["end"]), f"{e['label']}: {e['rule_id']}") for e in evidence
             if 0 <= int(e["start"]) < int(e["end"]) <= len(text)]
    if len(text) <= max_chars:
        windows = [(0, len(text))]
    else:
        windows = _merge([(max(0, s - context), min(len(text), e + context)) for s, e, _ in spans])[:8]
        windows = windows or [(0, max_chars)]
    parts: list[str] = []
    for ws, we in windows:
        if ws > 0:
            parts.append("… ")
        cuts = sorted({ws, we} | {p for s, e, _ in spans for p in (s, e) if ws < p < we})
        for a, b in zip(cuts, cuts[1:]):
            active = list(dict.fromkeys(t for s, e, t in spans if s <= a and b <= e))
            segment = html.escape(text[a:b])
            parts.append(f'<mark title="{html.escape("; ".join(active))}">{segment}</mark>' if active else segment)
        if we < len(text):
            parts.append(" …")
    return "".join(parts)


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted(ranges):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


# --- charts ------------------------------------------------------------------------------------
def _png(fig: Any, *, tight: bool = True) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight" if tight else None)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _decision_chart(data: ReportData) -> str:
    from matplotlib.figure import Figure

    names = list(DECISIONS) + ["errors"]
    values = [data.decisions.get(d, 0) for d in DECISIONS] + [data.errors]
    fig = Figure(figsize=(5, 2.8))
    ax = fig.subplots()
    bars = ax.bar(names, values, color=[_COLORS[n] for n in names])
    ax.bar_label(bars, labels=[f"{v:,}" for v in values], fontsize=8)
    ax.set_ylabel("posts")
    ax.set_title("Decisions")
    ax.margins(y=0.15)
    return _png(fig)


def _label_chart(data: ReportData) -> str:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3))
    ax = fig.subplots()
    block = [data.label_actions[label].get("block", 0) for label in LABELS]
    review = [data.label_actions[label].get("review", 0) for label in LABELS]
    ax.barh(LABELS, block, color=_COLORS["block"], label="block")
    ax.barh(LABELS, review, left=block, color=_COLORS["review"], label="review")
    ax.invert_yaxis()
    ax.set_xlabel("posts")
    ax.set_title("Posts flagged per label")
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def _histogram_chart(data: ReportData) -> str:
    from matplotlib.figure import Figure
    from matplotlib.ticker import LogLocator, NullLocator

    fig = Figure(figsize=(10, 5.5))
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.06, top=0.86, hspace=0.55, wspace=0.25)
    axes = fig.subplots(2, 3).ravel()
    width = 1.0 / HIST_BINS
    for ax, label in zip(axes, LABELS):
        counts = data.histograms[label]
        ax.bar([i * width for i in range(HIST_BINS)], counts, width=width, align="edge", color="#34495e")
        if any(counts):
            ax.set_yscale("log")
            ax.set_ylim(bottom=0.7, top=max(counts) * 1.5)
            ax.yaxis.set_major_locator(LogLocator(numticks=5))
            ax.yaxis.set_minor_locator(NullLocator())
        else:
            ax.set_yticks([])
            ax.text(0.5, 0.5, "no scores above 0", ha="center", va="center", fontsize=8, color="#888",
                    transform=ax.transAxes)
        ax.set_xlim(0, 1)
        ax.set_title(f"{label}\n(score 0: {data.zero_scores.get(label, 0):,} posts)", fontsize=9)
        ax.tick_params(labelsize=7)
    fig.suptitle("Score histograms (scores above 0, log scale)", fontsize=10)
    return _png(fig, tight=False)


# --- HTML --------------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","PingFang SC",sans-serif;margin:2em;
color:#222;max-width:1100px}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;
font-size:.9em;vertical-align:top}th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
mark{background:#ffe08a;border-bottom:2px solid #c0392b}.post{white-space:pre-wrap;word-break:break-word;
border-left:3px solid #c0392b;padding:.4em .8em;margin:.3em 0 1.2em;background:#fafafa}
.meta{color:#666;font-size:.85em}.grid{display:flex;flex-wrap:wrap;gap:1.5em}
.block{color:#c0392b;font-weight:600}.review{color:#e67e22;font-weight:600}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _table(headers: list[str], rows: Iterable[list[Any]], numeric: frozenset[int] | set[int] = frozenset()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f'<td class="n">{v:,}</td>' if i in numeric and isinstance(v, int)
                                    else f"<td>{_e(v)}</td>" for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _json_script(element_id: str, value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def render(data: ReportData, summary: dict[str, Any]) -> str:
    """The report as one HTML document."""
    totals = data.totals()
    elapsed = summary.get("elapsed_s")
    meta_rows: list[list[Any]] = [
        ["input", summary.get("input")], ["input format", summary.get("input_format")],
        ["results", summary.get("results_path")], ["errors file", summary.get("errors_path")],
        ["status", summary.get("status")], ["engine", f"{summary.get('engine')} x {summary.get('workers')} worker(s)"],
        ["model version", summary.get("model_version")], ["lexicon version", summary.get("lexicon_version")],
        ["degraded", summary.get("degraded_reason") or "no"],
        ["classified by", ", ".join(f"{k}: {v:,}" for k, v in (summary.get("result_engines") or {}).items())],
        ["started / finished", f"{summary.get('started_at')} / {summary.get('finished_at')}"],
        ["duration", f"{elapsed:,.1f} s over {summary.get('sessions')} session(s)" if elapsed is not None else "?"],
        ["rate", f"{summary.get('rate_posts_per_s') or 0:,.1f} posts/s"],
        ["reconciled", f"{totals['input_rows']:,} input rows = {data.results:,} results + {data.errors:,} errors"
                       + ("" if summary.get("reconciled", True) else " (NOT reconciled: see summary)")],
    ]
    decision_rows: list[list[Any]] = [[d, totals["decisions"][d]] for d in DECISIONS]
    decision_rows += [["errors", data.errors], ["total", totals["input_rows"]]]
    label_rows = [[label, c["block"], c["review"], c["block"] + c["review"]] for label, c in totals["labels"].items()]
    rule_rows = [[rule, *data.rule_examples.get(rule, ("", "", "")), n] for rule, n in data.rules.most_common(TOP_N)]

    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>vcguard audit: {_e(Path(str(summary.get('input', ''))).name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>vcguard audit of {_e(summary.get('input'))}</h1>",
        _json_script("audit-totals", totals),
        "<h2>Run</h2>", _table(["", ""], meta_rows),
        "<h2>Totals</h2><div class=\"grid\">",
        _table(["decision", "posts"], decision_rows, {1}),
        _table(["label", "block", "review", "flagged"], label_rows, {1, 2, 3}), "</div>",
        f'<img alt="decisions" src="data:image/png;base64,{_decision_chart(data)}">',
        f'<img alt="flagged per label" src="data:image/png;base64,{_label_chart(data)}">',
        "<h2>Score histograms</h2>",
        f'<img alt="score histograms" src="data:image/png;base64,{_histogram_chart(data)}">',
        "<h2>Top matched rules and terms (flagged posts)</h2>",
        _table(["rule", "kind", "label", "example match", "posts"], rule_rows, {4}),
        "<h2>Top entities (flagged posts)</h2><div class=\"grid\">",
        _table(["domain", "posts"], [[k, n] for k, n in data.domains.most_common(TOP_N)], {1}),
        _table(["handle", "posts"], [[k, n] for k, n in data.handles.most_common(TOP_N)], {1}),
        _table(["invite code", "posts"], [[k, n] for k, n in data.invite_codes.most_common(TOP_N)], {1}),
        "</div>",
        f"<h2>Sample of flagged posts ({len(data.samples)} of {data.flagged_seen:,})</h2>",
    ]
    for s in data.samples:
        labels = ", ".join(s["flagged"]) or "-"
        parts.append(f'<div class="meta">line {s["line"]:,} · id {_e(s["id"])} · '
                     f'<span class="{_e(s["decision"])}">{_e(s["decision"])}</span> · {_e(labels)}</div>')
        if s["text"] is not None:
            parts.append(f'<div class="post">{highlight(s["text"], s["evidence"])}</div>')
        else:
            matched = "; ".join(f"{ev['label']}: {ev['matched']}" for ev in s["evidence"])
            parts.append(f'<div class="post">(text unavailable) evidence: {_e(matched)}</div>')
    parts.append("<h2>Errors</h2>")
    if data.errors:
        parts.append(_table(["reason", "rows"], [[k, n] for k, n in data.error_reasons.most_common()], {1}))
        parts.append(_table(["line", "id", "reason"], [[e["line"], e.get("id"), e["reason"]]
                                                       for e in data.error_examples]))
    else:
        parts.append("<p>none</p>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_report(summary: dict[str, Any], out: str | Path, *, sample_size: int = 30, seed: int = 0) -> ReportData:
    """Build the report of the audit described by ``summary`` (as returned by ``run_audit``)."""
    results_path = Path(summary.get("data_path") or summary["results_path"])
    if not results_path.exists():
        raise FileNotFoundError(f"results file not found: {results_path}")
    staged = results_path != Path(summary["results_path"])  # a Parquet audit not finished yet: JSONL staging
    fmt = "jsonl" if staged else summary.get("format")
    data = collect(results_path, Path(summary["errors_path"]), results_format=fmt, sample_size=sample_size, seed=seed)
    attach_texts(data, summary)
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(render(data, summary), "utf-8")
    tmp.replace(out)
    logger.info("report written to %s", out)
    return data
