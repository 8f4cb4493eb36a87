"""The refit heads: kNN vote, and the ONNX graph they are appended to computing exactly what numpy computes."""
import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

from training.heads import QueueHeads, UrgencyHead, attach_heads, fit_linear, knn_vote


def test_knn_vote_weights_the_nearest_tickets():
    memory = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    memory /= np.linalg.norm(memory, axis=1, keepdims=True)
    labels = np.array([0, 0, 1])
    p = knn_vote(np.array([[1.0, 0.0], [0.0, 1.0]]), memory, labels, 3, k=2, temperature=0.05)
    assert p.shape == (2, 3) and np.allclose(p.sum(1), 1.0)
    assert p[0].argmax() == 0 and p[0, 0] == 1.0  # both neighbours say queue 0
    assert p[1].argmax() == 1 and p[1, 2] == 0.0  # a queue no neighbour has gets nothing
    assert knn_vote(memory, memory, labels, 3, k=1, temperature=0.05, exclude_self=True)[2].argmax() == 0


def test_fit_linear_never_predicts_a_class_missing_from_the_rows():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4))
    y = (x[:, 0] > 0).astype(int) * 2  # classes 0 and 2 of 3
    coef, icpt = fit_linear(x, y, 3, 1.0, True, 0)
    pred = (x @ coef + icpt).argmax(1)
    assert set(pred) <= {0, 2} and (pred == y).mean() > 0.9


def _toy_encoder(path, hidden=4):
    """A stand-in for the exported encoder: `embedding` = the normalised input, plus the old heads' outputs."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", hidden])
    nodes = [helper.make_node("LpNormalization", ["x"], ["embedding"], axis=-1, p=2),
             helper.make_node("Softmax", ["embedding"], ["queue_probs"], axis=-1),
             helper.make_node("ReduceMax", ["embedding"], ["urgency"], keepdims=0)]
    outs = [helper.make_tensor_value_info("queue_probs", TensorProto.FLOAT, ["batch", hidden]),
            helper.make_tensor_value_info("urgency", TensorProto.FLOAT, ["batch"]),
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", hidden])]
    graph = helper.make_graph(nodes, "toy", [x], outs)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def test_attached_heads_match_numpy_and_keep_the_contract(tmp_path):
    rng = np.random.default_rng(1)
    _toy_encoder(tmp_path / "enc.onnx")
    memory = rng.normal(size=(30, 4))
    memory /= np.linalg.norm(memory, axis=1, keepdims=True)
    queue = QueueHeads(rng.normal(size=(4, 3)), rng.normal(size=3), memory, rng.integers(0, 3, 30), 3, k=5,
                       knn_temperature=0.1, linear_weight=0.4, temperature=1.3)
    urgency = UrgencyHead(rng.normal(size=(4, 3)), rng.normal(size=3), np.array([0.15, 0.5, 0.9]))
    attach_heads(tmp_path / "enc.onnx", tmp_path / "heads.onnx", queue, urgency)
    session = ort.InferenceSession(str(tmp_path / "heads.onnx"), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["queue_probs", "urgency", "embedding"]
    x = rng.normal(size=(7, 4)).astype(np.float32)
    probs, urg, emb = session.run(["queue_probs", "urgency", "embedding"], {"x": x})
    assert probs.shape == (7, 3) and urg.shape == (7,)
    np.testing.assert_allclose(probs, queue.probs(emb.astype(np.float64)), atol=1e-5)
    np.testing.assert_allclose(urg, urgency(emb.astype(np.float64)), atol=1e-5)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    assert not any(n.output[0].startswith("v1_") for n in onnx.load(str(tmp_path / "heads.onnx")).graph.node)


def test_heads_can_be_refitted_onto_a_model_that_already_carries_heads(tmp_path):
    rng = np.random.default_rng(2)
    _toy_encoder(tmp_path / "enc.onnx")
    memory = rng.normal(size=(20, 4))
    memory /= np.linalg.norm(memory, axis=1, keepdims=True)

    def heads(seed: int) -> tuple[QueueHeads, UrgencyHead]:
        r = np.random.default_rng(seed)
        return (QueueHeads(r.normal(size=(4, 3)), r.normal(size=3), memory, r.integers(0, 3, 20), 3, k=4,
                           knn_temperature=0.1, linear_weight=0.5, temperature=1.1),
                UrgencyHead(r.normal(size=(4, 3)), r.normal(size=3), np.array([0.15, 0.5, 0.9])))

    attach_heads(tmp_path / "enc.onnx", tmp_path / "first.onnx", *heads(3))
    second_queue, second_urgency = heads(4)
    attach_heads(tmp_path / "first.onnx", tmp_path / "second.onnx", second_queue, second_urgency)
    session = ort.InferenceSession(str(tmp_path / "second.onnx"), providers=["CPUExecutionProvider"])
    probs, urg, emb = session.run(["queue_probs", "urgency", "embedding"], {"x": rng.normal(size=(5, 4)).astype(np.float32)})
    np.testing.assert_allclose(probs, second_queue.probs(emb.astype(np.float64)), atol=1e-5)
    np.testing.assert_allclose(urg, second_urgency(emb.astype(np.float64)), atol=1e-5)
