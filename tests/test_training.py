"""Training pipeline on a tiny random BERT and a few committed rows: artifact, round trip, loader."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from model.artifact import ArtifactError, Manifest  # noqa: E402
from model.labels import LABELS  # noqa: E402
from model.loading import load_classifier  # noqa: E402
from model.transformer import TransformerScorer, WindowConfig, windows  # noqa: E402
from tiny_model import build_tiny_base  # noqa: E402
from training.config import TrainConfig  # noqa: E402
from training.thresholds import SHARED_REVIEW_GRID  # noqa: E402
from data.schema import validate_file  # noqa: E402
from training.train import train  # noqa: E402

CORPUS = Path(__file__).parent / "fixtures" / "corpus_small"


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("train")
    texts = [r.text for name in ("train", "dev") for r in validate_file(CORPUS / f"{name}.jsonl")]
    base = build_tiny_base(root / "base", texts + ["query: "])
    cfg = TrainConfig(split_dir=str(CORPUS), output_dir=str(root / "run"), base_model=str(base), max_length=32,
                      stride=16, batch_size=4, eval_steps=1, epochs=1, threads=1, quantize=False,
                      max_train_rows=None)
    return train(cfg, max_steps=2)


def test_two_step_training_builds_a_loadable_artifact(artifact: Path) -> None:
    manifest = Manifest.load(artifact)
    assert manifest.labels == list(LABELS)
    assert set(manifest.thresholds) == set(LABELS)
    assert all(0 <= t["review"] <= t["block"] <= 1 for t in manifest.thresholds.values())
    assert manifest.training_config["max_length"] == 32
    assert manifest.corpus_hash and manifest.git_commit
    clf = load_classifier(artifact, strict=True)
    assert clf.degraded_reason is None
    (result,) = clf.classify_batch(["高价收U，秒到"], score_screened=True)  # the screen may skip it when served
    assert result.engine == "model"
    assert {"model_score", "linear_score"} <= set(result.labels[0])
    assert isinstance(manifest.blend["screen_blocks"], bool)


def test_save_load_round_trip_gives_identical_scores(artifact: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(artifact, copy)
    texts = ["收U出U 秒到", "今天天气很好", "binance.com 邀请码 AB12CD"]
    a = load_classifier(artifact, strict=True)
    b = load_classifier(copy, strict=True)
    ra, rb = a.classify_batch(texts), b.classify_batch(texts)
    assert [x.to_dict()["labels"] for x in ra] == [x.to_dict()["labels"] for x in rb]


def test_loader_rejects_mismatched_manifest(artifact: Path, tmp_path: Path) -> None:
    for field, value, message in (("labels", ["a", "b"], "labels"), ("schema_version", 99, "schema_version")):
        broken = tmp_path / field
        shutil.copytree(artifact, broken)
        data = json.loads((broken / "manifest.json").read_text())
        data[field] = value
        (broken / "manifest.json").write_text(json.dumps(data))
        with pytest.raises(ArtifactError, match=message):
            load_classifier(broken, strict=True)
        degraded = load_classifier(broken)
        assert degraded.degraded_reason and message in degraded.degraded_reason
        assert degraded.classify("收U").engine == "rules"


def test_corrupt_onnx_degrades_to_linear_fallback(artifact: Path, tmp_path: Path) -> None:
    broken = tmp_path / "corrupt"
    shutil.copytree(artifact, broken)
    (broken / "model.onnx").write_bytes(b"not a model")
    clf = load_classifier(broken)
    assert clf.degraded_reason and "transformer unavailable" in clf.degraded_reason
    result = clf.classify("高价收U")
    assert result.engine == "fallback"
    assert "linear_score" in result.labels[0] and "model_score" not in result.labels[0]


def test_windows_cover_every_token() -> None:
    ids = list(range(10))
    assert windows(ids, 4, 3) == [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]
    assert windows([1, 2], 4, 3) == [[1, 2]]


class _MarkerSession:
    """Stands in for ONNX Runtime: label 0 fires only on windows holding the marker token."""

    def __init__(self, marker: int) -> None:
        self.marker = marker

    def run(self, _outputs: object, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        ids = feeds["input_ids"]
        hit = (ids == self.marker).any(axis=1)
        logits = np.full((ids.shape[0], len(LABELS)), -6.0, dtype=np.float32)
        logits[hit, 0] = 6.0
        return [logits]


def test_window_max_pooling_finds_a_tail(artifact: Path) -> None:
    scorer = TransformerScorer(artifact / "model.onnx", artifact / "tokenizer.json",
                               WindowConfig(max_length=32, stride=16))
    marker = scorer.tokenizer.token_to_id("收")
    assert marker is not None
    scorer.session = _MarkerSession(marker)
    article = "今天天气很好" * 30
    probs = scorer.predict_proba([article, article + "收"])
    assert probs[0, 0] < 0.01  # no window holds the marker
    assert probs[1, 0] > 0.99  # only the last window does, and the max over windows finds it


def test_retune_rewrites_blend_and_thresholds_from_dev(artifact: Path, tmp_path: Path) -> None:
    from training.train import BLEND_WEIGHTS, RULE_OVERRIDES, SCREEN_GATES
    from vcguard.cli import main as vcguard_main

    copy = tmp_path / "artifact"
    shutil.copytree(artifact, copy)
    manifest = Manifest.load(copy)
    manifest.blend = {"model_weight": 0.0, "rule_override": 0.5}  # outside the grids: retune must replace it
    manifest.thresholds = {label: {"block": 0.999, "review": 0.999} for label in LABELS}
    manifest.save(copy)
    assert vcguard_main(["retune", str(copy), "--dev", str(CORPUS / "dev.jsonl")]) == 0
    tuned = Manifest.load(copy)
    assert tuned.blend["model_weight"] in BLEND_WEIGHTS and tuned.blend["rule_override"] in RULE_OVERRIDES
    assert tuned.blend["screen_below"] in (0.0, *SCREEN_GATES)
    assert tuned.thresholds != manifest.thresholds and "retuned_at" in tuned.metrics
    assert 0 <= tuned.metrics["dev"]["combined_macro_f1_at_review"] <= 1
    assert load_classifier(copy, strict=True).blend.model_weight == tuned.blend["model_weight"]
    assert vcguard_main(["retune", str(copy), "--target-precision", "2"]) == 2


def test_int8_scores_do_not_depend_on_batchmates(artifact: Path, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime.quantization")
    from training.export import quantize_int8

    copy = tmp_path / "int8"
    shutil.copytree(artifact, copy)
    manifest = Manifest.load(copy)
    quantize_int8(artifact / manifest.files["onnx"], copy / "model.int8.onnx")
    manifest.files["onnx"] = "model.int8.onnx"
    manifest.base_model["int8"] = True
    manifest.save(copy)
    clf = load_classifier(copy, strict=True)
    post = "币安注册送50U 邀请码 VC88A1"
    others = ["今天天气很好", "央行提醒公众防范虚拟货币诈骗 " * 5, "scan the QR to order food 🍜"]
    alone = clf.model.predict_proba([post])
    mixed = clf.model.predict_proba([*others, post])
    np.testing.assert_array_equal(mixed[-1], alone[0])


def test_time_budget_callback_evaluates_saves_and_stops_once_spent() -> None:
    from transformers import TrainerControl, TrainerState

    from training.train import time_budget_callback

    state = TrainerState()
    roomy, spent = time_budget_callback(60.0), time_budget_callback(0.0)
    control = roomy.on_step_end(None, state, TrainerControl())
    assert not (control.should_training_stop or control.should_evaluate or control.should_save)
    control = spent.on_step_end(None, state, TrainerControl())
    assert control.should_training_stop and control.should_evaluate and control.should_save


def test_teacher_targets_mix_labels_with_the_teachers_scores(artifact: Path) -> None:
    from training.train import teacher_targets

    texts = ["收u出u 秒到", "今天天气很好", "收u出u 秒到"]  # a repeated row is scored once, used twice
    y = np.zeros((3, len(LABELS)), dtype=np.float32)
    y[0, LABELS.index("stablecoin_otc")] = y[2, LABELS.index("stablecoin_otc")] = 1.0
    teacher = load_classifier(artifact, strict=True).model.predict_proba(texts)  # type: ignore[union-attr]
    np.testing.assert_allclose(teacher_targets(artifact, texts, y, 0.0, threads=1), y)
    np.testing.assert_allclose(teacher_targets(artifact, texts, y, 1.0, threads=1), teacher, atol=1e-6)
    half = teacher_targets(artifact, texts, y, 0.5, threads=1)
    np.testing.assert_allclose(half, (y + teacher) / 2, atol=1e-6)
    assert half[0, LABELS.index("stablecoin_otc")] >= 0.5 > half[1].max()


def test_distillation_settings_are_validated(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="distill_weight"):
        TrainConfig(distill_weight=1.5)
    with pytest.raises(TypeError, match="teacher_artifact"):
        TrainConfig(teacher_artifact=3)  # type: ignore[arg-type]
    from training.train import teacher_targets

    with pytest.raises(ArtifactError):
        teacher_targets(tmp_path / "missing", ["x"], np.zeros((1, len(LABELS))), 0.5, threads=1)


def test_block_screen_setting_must_be_a_bool() -> None:
    assert TrainConfig().block_screen is False
    with pytest.raises(TypeError, match="block_screen"):
        TrainConfig(block_screen="yes")  # type: ignore[arg-type]


def test_review_threshold_strategy_is_validated() -> None:
    assert TrainConfig().review_thresholds == "shared"
    assert TrainConfig(review_thresholds="per_label").review_thresholds == "per_label"
    with pytest.raises(ValueError, match="review_thresholds"):
        TrainConfig(review_thresholds="global")


def test_tune_decision_shares_the_model_review_threshold_and_keeps_the_fallback_per_label() -> None:
    from data.schema import validate_file
    from training.train import label_matrix, tune_decision

    dev = validate_file(CORPUS / "dev.jsonl")
    y = label_matrix(dev, float)
    rng = np.random.default_rng(3)
    model = np.clip(0.6 * y + rng.uniform(0, 0.5, y.shape), 0, 1)  # right more often than not
    linear = np.clip(0.5 * y + rng.uniform(0, 0.6, y.shape), 0, 1)
    shared = tune_decision(dev, model, linear, review="shared")
    block = np.array([shared.thresholds[label]["block"] for label in LABELS])
    reviews = np.array([shared.thresholds[label]["review"] for label in LABELS])
    # one grid value for every label, capped by each label's block threshold
    assert any(np.allclose(reviews, np.minimum(v, block)) for v in SHARED_REVIEW_GRID)
    per_label = tune_decision(dev, model, linear, review="per_label")
    # the fallback is tuned per label either way
    assert shared.fallback_thresholds == per_label.fallback_thresholds
    # tuned on the same posts, six free cuts fit them at least as well as one shared cut
    assert per_label.dev_f1 >= shared.dev_f1 - 1e-9


def test_precision_is_validated_and_bf16_falls_back_where_the_cpu_lacks_it(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import torch

    from training.train import use_bf16

    assert TrainConfig().precision == "fp32"
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(precision="fp16")
    assert use_bf16("fp32") is False
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    with caplog.at_level("WARNING", logger="training.train"):
        assert use_bf16("bf16") is False
    assert "no native bf16" in caplog.text


def test_bf16_fine_tuning_writes_fp32_weights(tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    from data.schema import label_matrix
    from training.train import fine_tune

    rows = {name: validate_file(CORPUS / f"{name}.jsonl") for name in ("train", "dev")}
    base = build_tiny_base(tmp_path / "base", [r.text for rs in rows.values() for r in rs] + ["query: "])
    cfg = TrainConfig(split_dir=str(CORPUS), output_dir=str(tmp_path / "run"), base_model=str(base),
                      max_length=32, stride=16, batch_size=4, eval_steps=1, epochs=1, threads=1,
                      precision="bf16", max_train_rows=None)

    best = fine_tune(cfg, base, [r.text for r in rows["train"]], label_matrix(rows["train"]),
                     [r.text for r in rows["dev"]], label_matrix(rows["dev"]), tmp_path / "run", max_steps=2)
    weights = load_file(str(best / "model.safetensors"))
    assert weights and all(w.dtype == np.float32 for w in weights.values())
    assert all(np.isfinite(w).all() for w in weights.values())
