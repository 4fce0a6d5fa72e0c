"""A tiny randomly initialised BERT with an XLM-R style tokenizer, for fast offline tests."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]


def build_tiny_base(out_dir: Path, texts: Iterable[str]) -> Path:
    """Write a 2-layer, 32-wide BERT and a character-level Unigram tokenizer to ``out_dir``."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    from model.normalize import normalize

    chars = sorted({c for t in texts for c in normalize(t).text} | set("abcdefghijklmnopqrstuvwxyz0123456789 :") - {" "})
    pieces = [(s, 0.0) for s in SPECIALS] + [("\u2581", -2.0)] + [(c, -3.0) for c in chars]
    pieces += [("\u2581" + c, -3.5) for c in chars]
    tok = Tokenizer(models.Unigram(pieces, unk_id=3, byte_fallback=False))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", cls_token="<s>",
                                   sep_token="</s>", pad_token="<pad>", unk_token="<unk>", model_max_length=128)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(pieces), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=130, type_vocab_size=2, pad_token_id=1)
    out_dir.mkdir(parents=True, exist_ok=True)
    BertModel(config, add_pooling_layer=False).save_pretrained(out_dir)
    fast.save_pretrained(out_dir)
    return out_dir
