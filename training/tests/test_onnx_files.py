import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

from training.evaluate import content_hash
from training.onnx_files import EXTERNAL_MIN_BYTES, PAGE, data_path, model_files, save_model
from training.repack import repack


def _graph(big_rows: int) -> onnx.ModelProto:
    """x [batch, 64] @ w [64, big_rows] + b: `w` is large (external) unless big_rows is small, `b` always inline."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((64, big_rows)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.standard_normal(big_rows).astype(np.float32), "b")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["y"])], "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", big_rows])], [w, b])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["y"], {"x": x})[0]


def test_large_initializers_go_page_aligned_to_the_data_file_and_the_graph_computes_the_same(tmp_path: Path) -> None:
    rows = EXTERNAL_MIN_BYTES // (64 * 4) + 3  # just over the threshold, so the next tensor would start unaligned
    model = _graph(rows)
    inline, split = tmp_path / "inline.onnx", tmp_path / "onnx" / "model.onnx"
    onnx.save(model, str(inline))
    save_model(model, split)

    assert model_files(split) == [split, data_path(split)]
    stored = onnx.load(str(split), load_external_data=False)
    external = {t.name: {e.key: e.value for e in t.external_data} for t in stored.graph.initializer
                if t.data_location == onnx.TensorProto.EXTERNAL}
    assert list(external) == ["w"]
    assert int(external["w"]["offset"]) % PAGE == 0 and external["w"]["location"] == data_path(split).name
    assert split.stat().st_size < EXTERNAL_MIN_BYTES
    # the caller's model keeps its tensors inline
    assert all(t.data_location != onnx.TensorProto.EXTERNAL for t in model.graph.initializer)

    x = np.random.default_rng(1).standard_normal((3, 64)).astype(np.float32)
    np.testing.assert_array_equal(_run(split, x), _run(inline, x))
    loaded = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(split)).graph.initializer}
    for t in model.graph.initializer:
        np.testing.assert_array_equal(loaded[t.name], numpy_helper.to_array(t))


def test_a_small_graph_is_one_file_and_a_stale_data_file_is_removed(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    save_model(_graph(EXTERNAL_MIN_BYTES // (64 * 4) + 3), path)
    assert data_path(path).is_file()
    save_model(_graph(8), path)
    assert model_files(path) == [path] and not data_path(path).exists()
    x = np.ones((1, 64), dtype=np.float32)
    assert _run(path, x).shape == (1, 8)


def test_repack_moves_an_old_single_file_model_to_the_mapped_layout(tmp_path: Path) -> None:
    model_dir = tmp_path / "model"
    graph = model_dir / "onnx" / "model_quantized.onnx"
    graph.parent.mkdir(parents=True)
    onnx.save(_graph(EXTERNAL_MIN_BYTES // (64 * 4) + 3), str(graph))  # the old layout: one file
    (model_dir / "tokenizer.json").write_text("{}")
    (model_dir / "ngram.json").write_text("{}")
    old = content_hash([graph, model_dir / "tokenizer.json", model_dir / "ngram.json"])
    (model_dir / "config.json").write_text(json.dumps({"model_version": old, "onnx_file": "onnx/model_quantized.onnx"}))
    (model_dir / "metrics.json").write_text(json.dumps({"kind": "quick", "size_bytes": {}}))
    (model_dir / "MODEL_CARD.md").write_text(f"# Model card — {old} (quick retrain)\n")
    x = np.random.default_rng(2).standard_normal((2, 64)).astype(np.float32)
    before = _run(graph, x)

    version = repack(model_dir)

    assert version != old and json.loads((model_dir / "config.json").read_text())["model_version"] == version
    assert model_files(graph) == [graph, data_path(graph)]
    np.testing.assert_array_equal(_run(graph, x), before)
    sizes = json.loads((model_dir / "metrics.json").read_text())["size_bytes"]
    assert sizes["model_quantized.onnx.data"] == data_path(graph).stat().st_size > EXTERNAL_MIN_BYTES
    assert version in (model_dir / "MODEL_CARD.md").read_text() and old not in (model_dir / "MODEL_CARD.md").read_text()
    assert repack(model_dir) == version  # the layout is a fixed point
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no staging copy left behind
