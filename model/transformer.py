"""ONNX Runtime scorer for the fine-tuned encoder, with sliding windows over long posts.

A post longer than one window is cut into overlapping windows; a label's score is its maximum
over windows, so a promotional tail on a long article is still found.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from model.int8 import session_bytes
from model.labels import LABELS

TOKENIZER_FILE = "tokenizer.json"
# Fewer posts than this are encoded one by one rather than through the tokenizer's thread pool.
ENCODE_BATCH_FROM = 8


@dataclass(frozen=True, slots=True)
class WindowConfig:
    """Window length in tokens (special tokens included), stride between window starts, prefix."""

    max_length: int = 128
    stride: int = 96
    prefix: str = "query: "

    def __post_init__(self) -> None:
        if self.max_length < 8:
            raise ValueError(f"max_length must be >= 8, got {self.max_length}")
        if not 0 < self.stride <= self.max_length - 2:
            raise ValueError(f"stride must be in (0, max_length - 2], got {self.stride}")


def windows(ids: list[int], body: int, stride: int) -> list[list[int]]:
    """Cut token ids (without special tokens) into windows of ``body`` tokens every ``stride``."""
    if len(ids) <= body:
        return [ids]
    out = []
    start = 0
    while True:
        out.append(ids[start : start + body])
        if start + body >= len(ids):
            return out
        start += stride


def windows_per_call(int8: bool) -> int:
    """Windows per ONNX call: one for a dynamic-int8 model, whose activations get one scale per call
    taken over the whole batch (so batched scores would depend on the posts batched together, by up
    to 0.4 measured on dev); 32 for fp32."""
    return 1 if int8 else 32


class TransformerScorer:
    """Sigmoid scores from an ONNX sequence-classification model and its fast tokenizer.

    ``widen_int8`` (default: decided from the CPU) runs an int8 model with uint8 weights, see
    :mod:`model.int8`.
    """

    def __init__(self, onnx_path: str | Path, tokenizer_path: str | Path, config: WindowConfig = WindowConfig(),
                 *, threads: int = 1, batch_size: int = 32, widen_int8: bool | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        onnx_path, tokenizer_path = Path(onnx_path), Path(tokenizer_path)
        for p in (onnx_path, tokenizer_path):
            if not p.is_file():
                raise FileNotFoundError(f"model file not found: {p}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Widened where this CPU's int8 kernel saturates, so every machine gives the same scores.
        self.session = ort.InferenceSession(session_bytes(onnx_path, widen_int8), options,
                                            providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.config = config
        self.batch_size = batch_size
        self._input_names = {i.name for i in self.session.get_inputs()}
        self._cls = self.tokenizer.token_to_id("<s>")
        self._sep = self.tokenizer.token_to_id("</s>")
        self._pad = self.tokenizer.token_to_id("<pad>")
        if None in (self._cls, self._sep, self._pad):
            raise ValueError(f"tokenizer {tokenizer_path} lacks <s>, </s> or <pad>")

    def windows_of(self, texts: Sequence[str]) -> tuple[list[list[int]], list[int]]:
        """Token-id windows of ``texts`` (special tokens added) and, for each, the index of its post."""
        prefixed = [self.config.prefix + t for t in texts]
        if len(prefixed) < ENCODE_BATCH_FROM:
            # encode_batch hands the work to the tokenizer's thread pool: for the API's one or two
            # posts that hop costs more than the encoding when the cores are busy scoring windows
            encodings = [self.tokenizer.encode(t, add_special_tokens=False) for t in prefixed]
        else:
            encodings = self.tokenizer.encode_batch(prefixed, add_special_tokens=False)
        body = self.config.max_length - 2
        rows, owner = [], []
        for i, enc in enumerate(encodings):
            for w in windows(enc.ids, body, self.config.stride):
                rows.append([self._cls, *w, self._sep])
                owner.append(i)
        return rows, owner

    def score_windows(self, rows: Sequence[Sequence[int]]) -> np.ndarray:
        """Sigmoid scores of each window from :meth:`windows_of`, shape ``(len(rows), len(LABELS))``;
        at most ``batch_size`` windows go into one ONNX call."""
        logits = np.empty((len(rows), len(LABELS)), dtype=np.float32)
        order = sorted(range(len(rows)), key=lambda r: len(rows[r]))  # similar lengths pad less
        for k in range(0, len(order), self.batch_size):
            chunk = order[k : k + self.batch_size]
            width = max(len(rows[r]) for r in chunk)
            ids = np.full((len(chunk), width), self._pad, dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for j, r in enumerate(chunk):
                ids[j, : len(rows[r])] = rows[r]
                mask[j, : len(rows[r])] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._input_names:
                feeds["token_type_ids"] = np.zeros_like(ids)
            logits[chunk] = self.session.run(None, feeds)[0]
        return 1.0 / (1.0 + np.exp(-logits))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Scores, shape ``(n, len(LABELS))``; a label's score is its max over a post's windows."""
        if len(texts) == 0:
            return np.zeros((0, len(LABELS)))
        rows, owner = self.windows_of(texts)
        return max_over_windows(self.score_windows(rows), owner, len(texts))


def max_over_windows(window_scores: np.ndarray, owner: Sequence[int], n_posts: int) -> np.ndarray:
    """Each post's scores: the maximum over its windows (``owner[r]`` is window ``r``'s post)."""
    out = np.zeros((n_posts, window_scores.shape[1] if window_scores.ndim == 2 else len(LABELS)))
    for r, i in enumerate(owner):
        np.maximum(out[i], window_scores[r], out=out[i])
    return out
