"""Export a multi-label sequence-classification checkpoint to ONNX (fp32 and dynamic int8).

The graph takes ``input_ids`` and ``attention_mask`` (int64, dynamic batch and sequence) and
returns ``logits`` (float32, ``[batch, num_labels]``; apply a sigmoid for label scores). The
output directory also receives the tokenizer and ``config.json`` so it is self-contained.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

FP32_NAME = "model.onnx"
INT8_NAME = "model.int8.onnx"
INPUT_NAMES = ("input_ids", "attention_mask")
OUTPUT_NAME = "logits"
OPSET = 17
_SAMPLE_TEXTS = (
    "加V领取空投，百倍币马上上车！",
    "The central bank expanded the e-CNY pilot to more cities.",
    "扫码点餐",
    "Police warn about crypto investment scams; 警方提醒谨防虚拟货币诈骗。",
)


def _logits_module(model: torch.nn.Module) -> torch.nn.Module:
    import torch

    class LogitsOnly(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).logits

    return LogitsOnly(model).eval()


def load_classifier(checkpoint_dir: str | Path) -> torch.nn.Module:
    """Load a fine-tuned multi-label checkpoint (mean or CLS pooling) in eval mode, eager attention."""
    from training.modeling import load_fine_tuned

    model = load_fine_tuned(checkpoint_dir, attn_implementation="eager")
    if model.config.problem_type not in (None, "multi_label_classification"):
        logger.warning("%s has problem_type=%r, exporting its logits anyway",
                       checkpoint_dir, model.config.problem_type)
    return model


def export_onnx(checkpoint_dir: str | Path, out_dir: str | Path, quantize: bool) -> Path:
    """Export ``checkpoint_dir`` to ``out_dir/model.onnx`` and, if ``quantize``, a dynamic int8
    copy ``out_dir/model.int8.onnx``. Returns the path of the int8 model if ``quantize`` else
    of the fp32 one."""
    import torch
    from transformers import AutoTokenizer

    if not isinstance(quantize, bool):
        raise TypeError(f"quantize must be a bool, got {type(quantize).__name__}: {quantize!r}")
    model = load_classifier(checkpoint_dir)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint_dir)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    enc = tokenizer(list(_SAMPLE_TEXTS), padding=True, return_tensors="pt")
    fp32 = out / FP32_NAME
    (out / INT8_NAME).unlink(missing_ok=True)  # never leave a stale int8 copy beside a new fp32
    axes = {"batch": 0, "sequence": 1}
    dynamic_axes = {name: {v: k for k, v in axes.items()} for name in INPUT_NAMES}
    dynamic_axes[OUTPUT_NAME] = {0: "batch"}
    with torch.no_grad(), warnings.catch_warnings():
        # the legacy TorchScript exporter is deprecated and warns about traced constants that
        # do not vary here (padding length is always 0); compare_with_torch checks the graph
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message=".*advanced indexing.*")
        torch.onnx.export(
            _logits_module(model),
            (enc["input_ids"], enc["attention_mask"]),
            str(fp32),
            input_names=list(INPUT_NAMES),
            output_names=[OUTPUT_NAME],
            dynamic_axes=dynamic_axes,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    model.config.save_pretrained(out)
    tokenizer.save_pretrained(out)
    logger.info("exported %s (%.1f MB)", fp32, fp32.stat().st_size / 1e6)
    if not quantize:
        return fp32
    return quantize_int8(fp32, out / INT8_NAME)


def quantize_int8(fp32_path: str | Path, int8_path: str | Path) -> Path:
    """Dynamic int8 quantization (per-channel weights; MatMul and embedding Gather)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    src = Path(fp32_path)
    if not src.is_file():
        raise FileNotFoundError(f"ONNX model not found: {src}")
    dst = Path(int8_path)
    quantize_dynamic(
        src, dst, weight_type=QuantType.QInt8, per_channel=True,
        op_types_to_quantize=["MatMul", "Gather"],
    )
    logger.info("quantized %s (%.1f MB)", dst, dst.stat().st_size / 1e6)
    return dst


def onnx_session(path: str | Path, threads: int = 1):  # -> onnxruntime.InferenceSession
    """CPU ``InferenceSession`` with ``threads`` intra-op threads and full graph optimization."""
    import onnxruntime as ort

    if not Path(path).is_file():
        raise FileNotFoundError(f"ONNX model not found: {path}")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def compare_with_torch(
    checkpoint_dir: str | Path,
    onnx_path: str | Path,
    texts: Sequence[str] = _SAMPLE_TEXTS,
) -> dict[str, float]:
    """Run torch and ONNX on ``texts``; return max abs logit diff and min per-text cosine."""
    import torch
    from transformers import AutoTokenizer

    if isinstance(texts, str) or not texts:
        raise ValueError(f"texts must be a non-empty sequence of str, got {texts!r}")
    tokenizer = AutoTokenizer.from_pretrained(checkpoint_dir)
    enc = tokenizer(list(texts), padding=True, return_tensors="np")
    feeds = {name: enc[name].astype(np.int64) for name in INPUT_NAMES}
    with torch.no_grad():
        ref = _logits_module(load_classifier(checkpoint_dir))(
            torch.from_numpy(feeds["input_ids"]), torch.from_numpy(feeds["attention_mask"])
        ).numpy()
    got = onnx_session(onnx_path).run([OUTPUT_NAME], feeds)[0]
    cos = (ref * got).sum(1) / (np.linalg.norm(ref, axis=1) * np.linalg.norm(got, axis=1) + 1e-12)
    return {"max_abs_diff": float(np.abs(ref - got).max()), "min_cosine": float(cos.min())}


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--no-quantize", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logger.setLevel(logging.INFO)
    path = export_onnx(args.checkpoint_dir, args.out_dir, quantize=not args.no_quantize)
    for p in sorted(args.out_dir.glob("*.onnx")):
        print(p.name, compare_with_torch(args.checkpoint_dir, p))
