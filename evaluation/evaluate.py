"""Score one corpus split with four systems side by side and write metrics, a report and plots.

The systems, all on the same rows:

* ``rules``: the keyword-rule scores alone, with the default :class:`~model.decision.Policy`;
* ``linear``: the linear scorer merged with the rules (``combine_scores(rule, None, linear)``) under
  the artifact's fallback policy: the service's fallback path;
* ``transformer``: the transformer scores alone under the artifact's model policy;
* ``combined``: the decision :meth:`Classifier.classify_batch` returns, i.e. what the service does.

One pass over the rows: the classifier's scorers are wrapped so the scores ``classify_batch``
computes are recorded and reused for the other systems, and nothing is scored twice.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from data.schema import Row, label_matrix
from evaluation import metrics
from model.classifier import ENGINE_MODEL, NOTE_SCREENED, Classifier, Result
from model.decision import Policy, combine_scores, decide
from model.labels import LABEL_INDEX, LABELS

logger = logging.getLogger(__name__)

SPLITS: tuple[str, ...] = ("train", "dev", "test")
DEFAULT_SPLIT_DIR = Path(__file__).resolve().parents[1] / "data" / "build"
SYSTEMS: tuple[str, ...] = ("rules", "linear", "transformer", "combined")
BATCH_SIZE = 64
WORST_ERRORS = 20
EXCERPT_CHARS = 160

# Targets of issue 4 ("What it must show"), checked on the combined decision.
TARGET_MACRO_F1 = 0.93
TARGET_FLAGGED_PROMOTIONAL = 0.95
TARGET_HARD_NEGATIVE_FPR = 0.01


# --- reading a split ---------------------------------------------------------------------------------
def resolve_split(split: str | Path, split_dir: str | Path | None = None) -> tuple[str, Path]:
    """``(name, path)`` for a split name (``train`` / ``dev`` / ``test``) or a JSONL path."""
    text = str(split)
    if text in SPLITS:
        path = Path(split_dir) if split_dir is not None else DEFAULT_SPLIT_DIR
        path = path / f"{text}.jsonl"
        if not path.is_file():
            raise FileNotFoundError(f"split {text!r} not found at {path}; build the corpus splits first "
                                    "or pass a JSONL path")
        return text, path
    path = Path(split)
    if path.is_file():
        return path.stem, path
    raise ValueError(f"unknown split {text!r}: expected one of {', '.join(SPLITS)} or a path to a JSONL file")


def _labels_of(value: Any, where: str) -> tuple[str, ...]:
    """Label names from a list of names or a multi-hot vector in LABELS order."""
    if not isinstance(value, list):
        raise ValueError(f"{where}: 'labels' must be a list, got {type(value).__name__}")
    if all(isinstance(v, str) for v in value):
        unknown = [v for v in value if v not in LABEL_INDEX]
        if unknown:
            raise ValueError(f"{where}: unknown label {unknown[0]!r}; expected one of {', '.join(LABELS)}")
        return tuple(sorted(set(value), key=LABEL_INDEX.__getitem__))
    if len(value) == len(LABELS) and all(isinstance(v, (int, float)) and v in (0, 1) for v in value):
        return tuple(label for label, v in zip(LABELS, value) if v)
    raise ValueError(f"{where}: 'labels' must be label names or a {len(LABELS)}-long multi-hot vector, got {value!r}")


def read_split(path: str | Path) -> list[Row]:
    """Rows of a JSONL split (corpus schema; ``labels`` as names or multi-hot); ValueError names file:line."""
    path = Path(path)
    rows: list[Row] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{where}: malformed JSON: {exc.msg} at column {exc.colno}") from exc
            if not isinstance(obj, dict):
                raise ValueError(f"{where}: row must be a JSON object")
            text = obj.get("text")
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"{where}: 'text' must be a non-empty string")
            if "labels" not in obj:
                raise ValueError(f"{where}: missing field 'labels'")
            rows.append(Row(
                id=str(obj.get("id", f"{path.stem}:{number}")),
                text=text,
                labels=_labels_of(obj["labels"], where),
                lang=str(obj.get("lang") or "unknown"),
                group=str(obj.get("group") or ""),
                source=str(obj.get("source") or ""),
                neg_class=str(obj.get("neg_class") or ""),
            ))
    if not rows:
        raise ValueError(f"{path} holds no rows")
    return rows


# --- scoring -------------------------------------------------------------------------------------------
@dataclass(slots=True)
class SystemRun:
    """One system's output on every row: scores, label flags, post decisions, and its policy."""

    name: str
    scores: np.ndarray  # (n, len(LABELS)) float
    flags: np.ndarray  # (n, len(LABELS)) bool: action review or block
    decisions: np.ndarray  # (n,) object: allow / review / block
    policy: Policy
    screened: int | None = None  # combined only: posts the screen decided without the transformer


class _Recorder:
    """Wraps a scorer and keeps its last output (or error), so ``classify_batch``'s scores can be reused."""

    def __init__(self, scorer: Any) -> None:
        self.scorer = scorer
        self.last: np.ndarray | None = None
        self.error: Exception | None = None

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self.last, self.error = None, None
        try:
            self.last = np.asarray(self.scorer.predict_proba(texts), dtype=float)
        except Exception as exc:  # classify_batch degrades on any scorer error; remember why
            self.error = exc
            raise
        return self.last


def _checked(recorder: _Recorder, what: str, n: int, start: int) -> np.ndarray:
    out = recorder.last
    if recorder.error is not None or out is None or out.shape != (n, len(LABELS)):
        why = recorder.error if recorder.error is not None else f"output shape {None if out is None else out.shape}"
        raise ValueError(f"{what} scorer failed on rows {start}..{start + n - 1}: {why}")
    return out


def _decide_all(name: str, scores: np.ndarray, policy: Policy) -> SystemRun:
    flags = np.zeros(scores.shape, dtype=bool)
    decisions = np.empty(len(scores), dtype=object)
    for i, row in enumerate(scores):
        d = decide(dict(zip(LABELS, row.tolist())), policy)
        flags[i] = [v.action != "allow" for v in d.labels]
        decisions[i] = d.decision
    return SystemRun(name, scores, flags, decisions, policy)


def _from_results(results: Sequence[Result], policy: Policy) -> tuple[SystemRun, np.ndarray]:
    """The combined system from ``classify_batch`` results, and the rule-score matrix they carry."""
    n = len(results)
    scores, rule, flags = np.zeros((n, len(LABELS))), np.zeros((n, len(LABELS))), np.zeros((n, len(LABELS)), bool)
    decisions = np.empty(n, dtype=object)
    screened = 0
    for i, res in enumerate(results):
        decisions[i] = res.decision
        screened += NOTE_SCREENED in res.notes
        for item in res.labels:
            j = LABEL_INDEX[item["label"]]
            scores[i, j] = item["score"]
            rule[i, j] = item["rule_score"]
            flags[i, j] = item["action"] != "allow"
    return SystemRun("combined", scores, flags, decisions, policy, screened), rule


def score_systems(clf: Classifier, texts: Sequence[str], *, batch_size: int = BATCH_SIZE,
                  progress: bool = False) -> dict[str, SystemRun]:
    """Run ``clf`` over ``texts`` in batches and derive the four systems (missing scorers are skipped).

    Raises ValueError when a scorer the classifier has fails: a silently degraded run would
    report the fallback's numbers as the model's.
    """
    from tqdm import tqdm

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    shadow = copy.copy(clf)  # same class, rules, policies and blend; the caller's object is untouched
    model = _Recorder(clf.model) if clf.model is not None else None
    linear = _Recorder(clf.linear) if clf.linear is not None else None
    shadow.model, shadow.linear = model, linear
    results: list[Result] = []
    model_parts: list[np.ndarray] = []
    linear_parts: list[np.ndarray] = []
    with tqdm(total=len(texts), desc="scoring", unit="post", disable=not progress) as bar:
        for start in range(0, len(texts), batch_size):
            batch = list(texts[start : start + batch_size])
            # The transformer also scores screened posts, for the transformer-alone system; their
            # combined decision ignores it, as in the service.
            out = shadow.classify_batch(batch, score_screened=True)
            if model is not None:
                model_parts.append(_checked(model, "transformer", len(batch), start))
                if out and out[0].engine != ENGINE_MODEL:
                    raise ValueError(f"classifier answered rows {start}.. with engine {out[0].engine!r}, not the model")
            if linear is not None:
                linear_parts.append(_checked(linear, "linear", len(batch), start))
            results.extend(out)
            bar.update(len(batch))

    engine_policy = clf.policy if model is not None else clf.fallback_policy
    combined, rule = _from_results(results, engine_policy)
    runs = {"rules": _decide_all("rules", rule, Policy())}
    if linear is not None:
        lin = np.concatenate(linear_parts)
        merged = np.array([[combine_scores(dict(zip(LABELS, r)), None, dict(zip(LABELS, s)), clf.blend)[label]
                            for label in LABELS] for r, s in zip(rule.tolist(), lin.tolist())])
        runs["linear"] = _decide_all("linear", merged, clf.fallback_policy)
    if model is not None:
        runs["transformer"] = _decide_all("transformer", np.concatenate(model_parts), clf.policy)
    runs["combined"] = combined
    return runs


# --- errors ---------------------------------------------------------------------------------------------
def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """One-line excerpt; a long text keeps its head and its tail (where appended promotion sits)."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    head = (limit * 2) // 3
    return f"{flat[:head]} … {flat[-(limit - head - 3):]}"


def worst_errors(rows: Sequence[Row], run: SystemRun, k: int = WORST_ERRORS) -> list[dict[str, Any]]:
    """The ``k`` worst errors of ``run``: post-level errors first, the most confident first.

    A missed promotion's severity is ``1 - max gold-label score``; a false alarm's is its highest
    flagged score; a flagged promotion with wrong labels ranks after both.
    """
    found: list[tuple[int, float, dict[str, Any]]] = []
    for i, row in enumerate(rows):
        gold = set(row.labels)
        predicted = {label for j, label in enumerate(LABELS) if run.flags[i, j]}
        scores = dict(zip(LABELS, run.scores[i].tolist()))
        if gold and run.decisions[i] == "allow":
            kind, tier, severity = "missed promotion", 0, 1 - max(scores[label] for label in gold)
        elif not gold and run.decisions[i] != "allow":
            kind, tier, severity = "false alarm", 0, max(scores[label] for label in predicted)
        elif gold != predicted:
            wrong = gold ^ predicted
            kind, tier = "wrong labels", 1
            severity = max(scores[label] if label in predicted else 1 - scores[label] for label in wrong)
        else:
            continue
        found.append((tier, -severity, {
            "id": row.id, "lang": row.lang, "kind": kind, "severity": round(severity, 4),
            "gold": list(row.labels), "predicted": [label for label in LABELS if label in predicted],
            "decision": run.decisions[i], "neg_class": row.neg_class,
            "scores": {label: round(scores[label], 4) for label in LABELS if label in gold | predicted or scores[label] > 0.1},
            "excerpt": excerpt(row.text),
        }))
    found.sort(key=lambda item: (item[0], item[1]))
    return [item[2] for item in found[:k]]


# --- the whole evaluation -------------------------------------------------------------------------------
def _system_metrics(rows: Sequence[Row], y: np.ndarray, run: SystemRun) -> dict[str, Any]:
    out = metrics.summarize(y, run.flags, run.decisions)
    out.update(metrics.ranking(y, run.scores))
    out["policy"] = run.policy.to_mapping()
    out["by_lang"] = metrics.breakdown([r.lang for r in rows], y, run.flags, run.decisions)
    if run.screened is not None:
        out["screened_posts"] = run.screened
    by_class: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        if not row.labels:
            by_class.setdefault(row.neg_class or "unspecified", []).append(i)
    if set(by_class) - {"unspecified"}:
        out["hard_negative_by_class"] = {cls: metrics.hard_negative_fpr(y[idx], run.decisions[idx]).to_dict()
                                         for cls, idx in sorted(by_class.items())}
    return out


def _targets(systems: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    c = systems["combined"]
    f1 = c["macro_f1"]
    flagged = c["flagged_promotional"]["value"]
    fpr = c["hard_negative_fpr"]["value"]
    targets = [
        {"name": "macro F1 over the six labels (combined)", "target": f">= {TARGET_MACRO_F1}",
         "value": f1, "met": None if f1 is None else f1 >= TARGET_MACRO_F1},
        {"name": "promotional posts flagged (combined)", "target": f">= {TARGET_FLAGGED_PROMOTIONAL:.0%}",
         "value": flagged, "met": None if flagged is None else flagged >= TARGET_FLAGGED_PROMOTIONAL},
        {"name": "hard negatives flagged (combined)", "target": f"<= {TARGET_HARD_NEGATIVE_FPR:.0%}",
         "value": fpr, "met": None if fpr is None else fpr <= TARGET_HARD_NEGATIVE_FPR},
    ]
    t = systems.get("transformer", {}).get("hard_negative_fpr", {}).get("value")
    lin = systems.get("linear", {}).get("hard_negative_fpr", {}).get("value")
    both = t is not None and lin is not None
    targets.append({"name": "transformer beats linear on hard negatives (lower FPR)",
                    "target": "transformer < linear", "value": {"transformer": t, "linear": lin},
                    "met": (t < lin) if both else None})
    return targets


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def evaluate(artifact: str | Path | Classifier, split: str | Path, out_dir: str | Path, *,
             batch_size: int = BATCH_SIZE, progress: bool = False, split_dir: str | Path | None = None,
             plots: bool = True) -> dict[str, Any]:
    """Evaluate ``artifact`` (a directory, or a ready :class:`Classifier`) on ``split``.

    ``split`` is ``train`` / ``dev`` / ``test`` (read from ``split_dir``, default ``data/build``) or
    a JSONL path. Writes ``metrics.json``, ``report.md`` and PNG plots to ``out_dir`` and returns
    the metrics dict.
    """
    from evaluation import report

    split_name, split_path = resolve_split(split, split_dir)
    rows = read_split(split_path)
    if isinstance(artifact, Classifier):
        clf, artifact_name = artifact, f"<{type(artifact).__name__} {artifact.version}>"
    else:
        clf, artifact_name = _load(artifact), str(artifact)
    logger.info("evaluating %s on %s (%d rows)", artifact_name, split_path, len(rows))
    started = time.perf_counter()
    runs = score_systems(clf, [r.text for r in rows], batch_size=batch_size, progress=progress)
    elapsed = time.perf_counter() - started
    y = label_matrix(rows, int)
    systems = {name: _system_metrics(rows, y, run) for name, run in runs.items()}
    result: dict[str, Any] = {
        "artifact": artifact_name,
        "model_version": clf.version,
        "engine": "model" if clf.model is not None else ("fallback" if clf.linear is not None else "rules"),
        "split": split_name,
        "split_path": str(split_path),
        "split_sha256": _sha256(split_path),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "scoring_seconds": round(elapsed, 2),
        "n_rows": len(rows),
        "n_promotional": int(y.any(axis=1).sum()),
        "n_hard_negative": int((~y.any(axis=1)).sum()),
        "label_counts": {label: int(y[:, j].sum()) for j, label in enumerate(LABELS)},
        "lang_counts": {lang: sum(r.lang == lang for r in rows) for lang in sorted({r.lang for r in rows})},
        "systems_missing": [s for s in SYSTEMS if s not in runs],
        "targets": _targets(systems),
        "systems": systems,
        "worst_errors": worst_errors(rows, runs["combined"]),
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = ["metrics.json", "report.md"]
    if plots:
        files += report.write_plots(result, out)
    result["files"] = files
    (out / "metrics.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out / "report.md").write_text(report.render(result), encoding="utf-8")
    logger.info("wrote %s to %s", ", ".join(files), out)
    return result


def _load(artifact: str | Path) -> Classifier:
    from model.loading import load_classifier

    return load_classifier(artifact, strict=True)
