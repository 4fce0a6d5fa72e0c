"""Tests for training.shrink and training.export on a tiny random BERT and tokenizer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from training import shrink  # noqa: E402

VOCAB = [
    ("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0),
    ("▁", -2.0), ("▁hello", -3.0), ("▁world", -3.5), ("hello", -4.0), ("▁привет", -4.5),
    ("▁你好", -5.0), ("你好", -5.5), ("世界", -6.0), ("▁bonjour", -6.5), ("▁crypto", -7.0),
    ("▁coin", -7.2), ("ab", -7.5), ("▁привет мир", -8.0),
    *[(c, -9.0 - i * 0.01) for i, c in enumerate("abcdehilnorstwyx你好世界币п")],
    ("▁😀", -10.0), ("😀", -10.1), ("<mask>", 0.0),
]


def _tiny_tokenizer():
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.Unigram(VOCAB, unk_id=3, byte_fallback=False))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", cls_token="<s>",
        sep_token="</s>", pad_token="<pad>", unk_token="<unk>", mask_token="<mask>",
        model_max_length=64)


def _config(**kw):
    from transformers import BertConfig

    return BertConfig(vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=2,
                      num_attention_heads=2, intermediate_size=64, max_position_embeddings=64,
                      pad_token_id=1, **kw)


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import BertModel

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("tiny-base")
    BertModel(_config(architectures=["BertModel"]), add_pooling_layer=False).save_pretrained(out)
    _tiny_tokenizer().save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def cls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import BertForSequenceClassification

    torch.manual_seed(1)
    out = tmp_path_factory.mktemp("tiny-cls")
    config = _config(num_labels=3, problem_type="multi_label_classification",
                     architectures=["BertForSequenceClassification"])
    model = BertForSequenceClassification(config)
    with torch.no_grad():  # a visible head so int8 / fp32 differences show in the logits
        model.classifier.weight.normal_(0, 1.0)
    model.save_pretrained(out)
    _tiny_tokenizer().save_pretrained(out)
    return out


def _hidden(path: Path, text: str) -> tuple[list[str], torch.Tensor]:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    enc = tok(text, return_tensors="pt")
    with torch.no_grad():
        h = shrink.load_model(path)(**enc).last_hidden_state
    return tok.convert_ids_to_tokens(enc["input_ids"][0]), h


def test_piece_classes() -> None:
    assert shrink.is_ranked_piece("▁hello") and shrink.is_ranked_piece("你好，")
    assert not shrink.is_ranked_piece("▁привет")
    assert shrink.is_single_char_piece("п") and shrink.is_single_char_piece("▁😀")
    assert not shrink.is_single_char_piece("ب") and not shrink.is_single_char_piece("▁ب")
    assert shrink.is_single_char_piece("币") and shrink.is_single_char_piece("▁")
    assert not shrink.is_single_char_piece("ab")


def test_select_pieces_tiers_and_cap() -> None:
    specials = {0, 1, 2, 3, len(VOCAB) - 1}
    mandatory = shrink.select_pieces(VOCAB, specials, max_pieces=1)  # never dropped
    singles = {i for i, (p, _) in enumerate(VOCAB) if shrink.is_single_char_piece(p)}
    assert set(mandatory) == specials | singles

    def added(cap: int) -> set[str]:
        keep = shrink.select_pieces(VOCAB, specials, cap, preferred_pieces={"▁crypto"})
        assert keep == sorted(keep) and len(keep) == cap
        return {VOCAB[i][0] for i in keep} - {VOCAB[i][0] for i in mandatory}

    n = len(mandatory)
    assert added(n + 3) == {"▁你好", "你好", "世界"}  # ideograph pieces first
    assert added(n + 4) == {"▁你好", "你好", "世界", "▁crypto"}  # then preferred
    assert added(n + 5) == {"▁你好", "你好", "世界", "▁crypto", "▁hello"}  # then by score
    with pytest.raises(ValueError, match="max_pieces"):
        shrink.select_pieces(VOCAB, {0}, 0)
    with pytest.raises(ValueError, match="out of vocabulary"):
        shrink.select_pieces(VOCAB, {0}, 5, required_ids={999})


def test_trim_vocabulary_keeps_rows_and_outputs(base_dir: Path, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    out = shrink.trim_vocabulary(base_dir, tmp_path / "trim", ["привет мир"], max_pieces=35,
                                 preferred_pieces=["▁hello"])
    tok = AutoTokenizer.from_pretrained(out)
    info = json.loads((out / shrink.TRIM_INFO).read_text())
    kept = [VOCAB[i][0] for i in info["kept_old_ids"]]
    assert kept[:4] == ["<s>", "<pad>", "</s>", "<unk>"] and kept[-1] == "<mask>"
    assert "▁привет" in kept and "▁hello" in kept and "▁world" not in kept
    assert len(tok) == len(kept) == info["vocab_size"]
    assert (tok.pad_token_id, tok.unk_token_id, tok.mask_token_id) == (1, 3, len(kept) - 1)
    old_w = shrink.load_model(base_dir).get_input_embeddings().weight
    new_model = shrink.load_model(out)
    assert new_model.config.vocab_size == len(kept)
    assert torch.equal(new_model.get_input_embeddings().weight, old_w[info["kept_old_ids"]])

    for text in ("hello 你好 世界 😀", "привет"):  # tokenization unchanged: identical states
        old_tokens, old_h = _hidden(base_dir, text)
        new_tokens, new_h = _hidden(out, text)
        assert old_tokens == new_tokens
        assert torch.allclose(old_h, new_h, atol=1e-6)
    changed, _ = _hidden(out, "hello world")
    assert changed == ["<s>", "▁hello", "▁", "w", "o", "r", "l", "d", "</s>"]


def test_trim_rejects_bad_input(base_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="missing"):
        shrink.trim_vocabulary(tmp_path / "missing", tmp_path / "o", None, 10)
    with pytest.raises(TypeError, match="str"):
        shrink.trim_vocabulary(base_dir, tmp_path / "o", [b"bytes"], 10)  # type: ignore[list-item]


def test_keep_layers(base_dir: Path, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    out = shrink.keep_layers(base_dir, tmp_path / "l1", 1)
    small = shrink.load_model(out)
    assert small.config.num_hidden_layers == 1 and len(small.encoder.layer) == 1
    enc = AutoTokenizer.from_pretrained(out)("hello 世界", return_tensors="pt")
    with torch.no_grad():
        full = shrink.load_model(base_dir)(**enc, output_hidden_states=True).hidden_states[1]
        assert torch.allclose(small(**enc).last_hidden_state, full, atol=1e-6)
    with pytest.raises(ValueError, match="n_layers=3"):
        shrink.keep_layers(base_dir, tmp_path / "l3", 3)
    with pytest.raises(TypeError, match="n_layers"):
        shrink.keep_layers(base_dir, tmp_path / "lx", "1")  # type: ignore[arg-type]


def test_export_onnx_fp32_and_int8(cls_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    from training import export

    int8 = export.export_onnx(cls_dir, tmp_path / "onnx", quantize=True)
    fp32 = tmp_path / "onnx" / export.FP32_NAME
    assert int8.name == export.INT8_NAME and fp32.is_file()
    graph = onnx.load(str(fp32))
    assert max(o.version for o in graph.opset_import if o.domain in ("", "ai.onnx")) >= 17
    assert [i.name for i in graph.graph.input] == ["input_ids", "attention_mask"]
    assert [o.name for o in graph.graph.output] == ["logits"]
    assert (tmp_path / "onnx" / "tokenizer.json").is_file()

    texts = ["hello world 你好", "😀", "привет мир crypto coin hello hello 世界 世界 币 币 币"]
    diff = export.compare_with_torch(cls_dir, fp32, texts)  # other batch / length / padding
    assert diff["max_abs_diff"] < 1e-4
    assert export.compare_with_torch(cls_dir, int8, texts)["min_cosine"] > 0.95
    logits = export.onnx_session(fp32).run(["logits"], {
        "input_ids": np.array([[0, 5, 2, 1, 1]], dtype=np.int64),
        "attention_mask": np.array([[1, 1, 1, 0, 0]], dtype=np.int64)})[0]
    assert logits.shape == (1, 3)
    with pytest.raises(TypeError, match="quantize"):
        export.export_onnx(cls_dir, tmp_path / "x", quantize="yes")  # type: ignore[arg-type]
