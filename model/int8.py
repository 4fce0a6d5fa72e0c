"""Dynamic-int8 ONNX models that score the same on every x86 CPU.

ONNX Runtime multiplies uint8 activations by int8 weights. On x86 CPUs with VNNI that product is
exact; on older AVX2/AVX-512 CPUs the kernel adds pairs of products in 16 bits and saturates, so
the same artifact gives different scores there (up to 0.31 in a logit of the shipped model,
measured under an emulated Haswell CPU). Shifting the weights to uint8 (``w + 128``, the zero
point alike) makes ONNX Runtime pick its uint8 x uint8 kernel, which widens to 16 bits before
multiplying and never saturates: the results equal the exact ones, at some cost in speed.
:func:`session_bytes` shifts them only where a probe shows the int8 kernel is not exact.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

# The probe multiplies the largest uint8 activations by the largest int8 weights: exact, each output
# is PROBE_DEPTH * 255 * 127; a kernel that adds pairs of products in 16 bits caps every pair at 32767.
PROBE_DEPTH = 64


def probe_model() -> bytes:
    """A one-node ``MatMulInteger`` model (int8 weights, all 127) for :func:`u8s8_is_exact`."""
    from onnx import TensorProto, helper, numpy_helper

    weight = np.full((PROBE_DEPTH, 16), 127, dtype=np.int8)
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "w"], ["y"])],
        "vcguard_int8_probe",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [1, PROBE_DEPTH])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [1, 16])],
        [numpy_helper.from_array(weight, "w")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


@functools.lru_cache(maxsize=1)
def u8s8_is_exact() -> bool:
    """Whether ONNX Runtime's uint8 x int8 matrix product is exact on this CPU.

    Measured, not guessed from CPU flags: a one-layer probe whose exact products overflow 16 bits
    is run once per process. False also when the probe cannot run (the safe answer).
    """
    try:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        session = ort.InferenceSession(probe_model(), options, providers=["CPUExecutionProvider"])
        got = session.run(None, {"a": np.full((1, PROBE_DEPTH), 255, dtype=np.uint8)})[0]
    except Exception:  # noqa: BLE001 - any failure means we cannot vouch for the kernel
        logger.warning("int8 kernel probe failed; widening int8 weights to be safe", exc_info=True)
        return False
    return bool(np.all(got == PROBE_DEPTH * 255 * 127))


def widen_weights(model_bytes: bytes) -> tuple[bytes, int]:
    """Rewrite every int8 weight (and its zero point) of a ``MatMulInteger`` as uint8 shifted by 128.

    Returns the new model and the number of tensors rewritten. ``(w + 128) - (z + 128) == w - z``,
    so the arithmetic is unchanged; only the kernel ONNX Runtime chooses is.
    """
    import onnx
    from onnx import TensorProto, numpy_helper

    model = onnx.load_from_string(model_bytes)
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    users: dict[str, set[tuple[str, int]]] = {}
    for node in graph.node:
        for k, name in enumerate(node.input):
            users.setdefault(name, set()).add((node.op_type, k))
    rewritten: set[str] = set()
    added_zero: dict[str, onnx.TensorProto] = {}  # weight name -> the zero point given to it
    for node in graph.node:
        if node.op_type != "MatMulInteger" or len(node.input) < 2:
            continue
        weight = inits.get(node.input[1])
        if weight is None or (weight.data_type != TensorProto.INT8 and weight.name not in rewritten):
            continue  # weight computed at run time or uint8 from the start
        if users[weight.name] != {("MatMulInteger", 1)}:
            raise ValueError(f"int8 weight {weight.name!r} is also used by {sorted(users[weight.name])}; "
                             "cannot shift it to uint8")
        if len(node.input) > 3 and node.input[3]:
            zero = inits.get(node.input[3])
            if zero is None:
                raise ValueError(f"zero point {node.input[3]!r} of {weight.name!r} is not a constant")
            if users[zero.name] != {("MatMulInteger", 3)}:
                raise ValueError(f"zero point {zero.name!r} is also used by {sorted(users[zero.name])}")
        else:  # no zero point means 0: give the shifted weight an explicit one (128 once shifted)
            if weight.name not in added_zero:
                graph.initializer.append(numpy_helper.from_array(np.array(0, dtype=np.int8),
                                                                 f"{weight.name}_u8_zero_point"))
                added_zero[weight.name] = graph.initializer[-1]
            zero = added_zero[weight.name]
            inputs = list(node.input) + [""] * (4 - len(node.input))
            inputs[3] = zero.name
            del node.input[:]
            node.input.extend(inputs)
        for tensor in (weight, zero):
            if tensor.name in rewritten:
                continue
            values = numpy_helper.to_array(tensor)
            if values.dtype != np.int8:
                raise ValueError(f"tensor {tensor.name!r} is {values.dtype}, expected int8")
            tensor.CopyFrom(numpy_helper.from_array((values.astype(np.int16) + 128).astype(np.uint8), tensor.name))
            rewritten.add(tensor.name)
    return model.SerializeToString(), len(rewritten)


def session_bytes(onnx_path: str | Path, widen: bool | None = None) -> bytes:
    """The model at ``onnx_path`` ready for an ONNX Runtime session on this CPU.

    ``widen=None`` widens int8 weights to uint8 only where the uint8 x int8 kernel is not exact
    (:func:`u8s8_is_exact`); True or False forces the choice.
    """
    data = Path(onnx_path).read_bytes()
    if widen is None:
        widen = not u8s8_is_exact()
    if not widen or b"MatMulInteger" not in data:
        return data
    data, count = widen_weights(data)
    if count:
        logger.info("this CPU's int8 kernel saturates: %d int8 weight tensors of %s widened to uint8 so scores are "
                    "exact (slower than int8)", count, onnx_path)
    return data
