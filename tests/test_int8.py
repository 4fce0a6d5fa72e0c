"""Int8 models score alike on every CPU: weights widened to uint8 keep the arithmetic unchanged."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxruntime.quantization")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from model.int8 import PROBE_DEPTH, probe_model, session_bytes, u8s8_is_exact, widen_weights  # noqa: E402
from training.export import quantize_int8  # noqa: E402

# One pair of the probe's products is 2 * 255 * 127 = 64,770, beyond int16: a saturating kernel shows.
EXACT_PROBE = PROBE_DEPTH * 255 * 127
PROBE_FEEDS = {"a": np.full((1, PROBE_DEPTH), 255, dtype=np.uint8)}


def _run(model: bytes | object, feeds: dict[str, np.ndarray]) -> np.ndarray:
    """Run an ONNX model given as bytes or a path."""
    session = ort.InferenceSession(model if isinstance(model, bytes) else str(model),
                                   providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


def test_widened_probe_is_exact_on_any_cpu() -> None:
    widened, count = widen_weights(probe_model())
    assert count == 2
    np.testing.assert_array_equal(_run(widened, PROBE_FEEDS), np.full((1, 16), EXACT_PROBE))


def test_int8_kernel_verdict_matches_the_probe() -> None:
    exact = bool(np.all(_run(probe_model(), PROBE_FEEDS) == EXACT_PROBE))
    assert u8s8_is_exact() is exact


def _matmul_model(tmp_path, rng: np.random.Generator):
    weight = rng.normal(size=(32, 8)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("MatMul", ["h", "w2"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])],
        [numpy_helper.from_array(weight, "w"),
         numpy_helper.from_array(rng.normal(size=(8, 4)).astype(np.float32), "w2")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    fp32, int8 = tmp_path / "fp32.onnx", tmp_path / "int8.onnx"
    onnx.save(model, fp32)
    quantize_int8(fp32, int8)
    return fp32, int8


def _weights(model_bytes: bytes) -> dict[str, np.ndarray]:
    """Each MatMulInteger's weight minus its zero point, as the kernel sees it."""
    model = onnx.load_from_string(model_bytes)
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    out = {}
    for node in model.graph.node:
        if node.op_type == "MatMulInteger":
            out[node.input[1]] = inits[node.input[1]].astype(np.int32) - inits[node.input[3]].astype(np.int32)
    return out


def test_widened_weights_are_uint8_and_mean_the_same(tmp_path) -> None:
    rng = np.random.default_rng(0)
    _, int8 = _matmul_model(tmp_path, rng)
    original = int8.read_bytes()
    widened, count = widen_weights(original)
    assert count == 4  # two weights, two zero points
    model = onnx.load_from_string(widened)
    kinds = {t.name: t.data_type for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "MatMulInteger":
            assert kinds[node.input[1]] == TensorProto.UINT8
            assert kinds[node.input[3]] == TensorProto.UINT8
    before, after = _weights(original), _weights(widened)
    assert before.keys() == after.keys() and before
    for name in before:
        np.testing.assert_array_equal(before[name], after[name])
    # Widening twice finds nothing left to widen.
    assert widen_weights(widened)[1] == 0


def test_widened_model_scores_like_the_float_model(tmp_path) -> None:
    rng = np.random.default_rng(1)
    fp32, int8 = _matmul_model(tmp_path, rng)
    x = rng.normal(size=(16, 32)).astype(np.float32)
    reference = _run(fp32, {"x": x})
    widened = _run(session_bytes(int8, widen=True), {"x": x})
    scale = np.abs(reference).max()
    assert np.abs(widened - reference).max() < 0.05 * scale
    if u8s8_is_exact():  # here the int8 kernel is exact too, so both must agree to the last bit
        np.testing.assert_allclose(_run(int8, {"x": x}), widened, rtol=0, atol=1e-5)


def test_session_bytes_leaves_float_models_and_exact_cpus_alone(tmp_path) -> None:
    fp32, int8 = _matmul_model(tmp_path, np.random.default_rng(2))
    assert session_bytes(fp32, widen=True) == fp32.read_bytes()
    assert session_bytes(int8, widen=False) == int8.read_bytes()


def test_missing_zero_point_gets_one(tmp_path) -> None:
    weight = np.arange(-6, 6, dtype=np.int8).reshape(4, 3)
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "w"], ["y"])],
        "nozp",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [2, 4])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [2, 3])],
        [numpy_helper.from_array(weight, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    a = np.array([[1, 2, 3, 4], [250, 0, 7, 9]], dtype=np.uint8)
    widened, count = widen_weights(model.SerializeToString())
    assert count == 2
    np.testing.assert_array_equal(_run(widened, {"a": a}), a.astype(np.int32) @ weight.astype(np.int32))



def test_weight_shared_by_two_products_without_zero_point() -> None:
    # Both products must get the shifted zero point, not only the first one widened.
    weight = np.arange(-6, 6, dtype=np.int8).reshape(4, 3)
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "w"], ["y1"]), helper.make_node("MatMulInteger", ["b", "w"], ["y2"])],
        "shared",
        [helper.make_tensor_value_info(n, TensorProto.UINT8, [2, 4]) for n in ("a", "b")],
        [helper.make_tensor_value_info(n, TensorProto.INT32, [2, 3]) for n in ("y1", "y2")],
        [numpy_helper.from_array(weight, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    a = np.array([[1, 2, 3, 4], [250, 0, 7, 9]], dtype=np.uint8)
    b = np.array([[255, 255, 255, 255], [0, 1, 0, 1]], dtype=np.uint8)
    widened, count = widen_weights(model.SerializeToString())
    assert count == 2
    session = ort.InferenceSession(widened, providers=["CPUExecutionProvider"])
    y1, y2 = session.run(None, {"a": a, "b": b})
    exact = weight.astype(np.int32)
    np.testing.assert_array_equal(y1, a.astype(np.int32) @ exact)
    np.testing.assert_array_equal(y2, b.astype(np.int32) @ exact)
