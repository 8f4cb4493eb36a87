"""The refit heads: kNN vote, and the ONNX graph they are appended to computing exactly what numpy computes."""
import numpy as np
import onnx
import onnxruntime as ort
import pytest
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


def test_urgency_vote_skips_tickets_without_a_priority():
    memory = np.array([[1.0, 0.0], [0.98, 0.2], [0.9, 0.44], [0.0, 1.0]])
    memory /= np.linalg.norm(memory, axis=1, keepdims=True)
    head = UrgencyHead(np.zeros((2, 2)), np.zeros(2), np.array([0.15, 0.9]), memory, np.array([np.nan, 0.9, 0.15, 0.15]),
                       k=1, knn_temperature=0.05, linear_weight=0.0)
    # the nearest ticket has no priority: the nearest one that has one votes
    assert head(np.array([[1.0, 0.0]]))[0] == pytest.approx(0.9)
    assert head(memory[1:2], exclude_self=False)[0] == pytest.approx(0.9)
    two = UrgencyHead(np.zeros((2, 2)), np.zeros(2), np.array([0.15, 0.9]), memory, np.array([0.9, np.nan, np.nan, np.nan]),
                      k=5, knn_temperature=0.05, linear_weight=0.5)
    assert two.k_used == 1  # never more neighbours than tickets with a priority
    assert two(np.array([[0.0, 1.0]]))[0] == pytest.approx(0.5 * 0.525 + 0.5 * 0.9)


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
    memory_urgency = rng.choice([0.15, 0.5, 0.9], size=30)
    memory_urgency[::3] = np.nan  # rows without a priority: never in the urgency vote
    urgency = UrgencyHead(rng.normal(size=(4, 3)), rng.normal(size=3), np.array([0.15, 0.5, 0.9]), memory, memory_urgency,
                          k=4, knn_temperature=0.02, linear_weight=0.3)
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
                UrgencyHead(r.normal(size=(4, 3)), r.normal(size=3), np.array([0.15, 0.5, 0.9]), memory,
                            r.choice([0.15, 0.9], size=20), k=3, knn_temperature=0.05, linear_weight=0.5))

    attach_heads(tmp_path / "enc.onnx", tmp_path / "first.onnx", *heads(3))
    second_queue, second_urgency = heads(4)
    attach_heads(tmp_path / "first.onnx", tmp_path / "second.onnx", second_queue, second_urgency)
    session = ort.InferenceSession(str(tmp_path / "second.onnx"), providers=["CPUExecutionProvider"])
    probs, urg, emb = session.run(["queue_probs", "urgency", "embedding"], {"x": rng.normal(size=(5, 4)).astype(np.float32)})
    np.testing.assert_allclose(probs, second_queue.probs(emb.astype(np.float64)), atol=1e-5)
    np.testing.assert_allclose(urg, second_urgency(emb.astype(np.float64)), atol=1e-5)


def test_confidence_map_matches_the_worker():
    """The same cases as services/worker/src/inference/blend.test.ts."""
    from training.metrics import apply_confidence_map
    cmap = {"x": [0.2, 0.5, 0.8], "y": [0.1, 0.6, 0.95]}
    out = apply_confidence_map(np.array([[0.1, 0.65, 0.25, 0.0], [0.9, 0.05, 0.05, 0.0], [0.3, 0.28, 0.22, 0.2],
                                         [1.0, 0.0, 0.0, 0.0]]), cmap)
    assert out[0, 1] == pytest.approx(0.775) and out[0, 0] / out[0, 2] == pytest.approx(0.4)
    assert out[1, 0] == pytest.approx(0.95)
    # the map would lower 0.3 to 0.267, below the runner-up once that is scaled up: the top stays just above it
    assert out[2].argmax() == 0 and out[2, 0] > out[2, 1] and out[2, 0] == pytest.approx(out[2, 1], abs=1e-6)
    assert out[3].tolist() == [1.0, 0.0, 0.0, 0.0]
    np.testing.assert_allclose(out.sum(1), 1.0)


def test_confidence_map_is_fitted_monotone_and_fixes_a_step():
    from training.metrics import apply_confidence_map, ece, fit_confidence_map
    rng = np.random.default_rng(5)
    # two populations a power temperature cannot both fix: confidence 0.55 right 30 % of the time, 0.7 right 95 %
    n = 4000
    sure = rng.random(n) < 0.5
    conf = np.where(sure, 0.7, 0.55)
    correct = rng.random(n) < np.where(sure, 0.95, 0.3)
    y = np.where(correct, 0, 1)
    probs = np.column_stack([conf, *[(1 - conf) / 9] * 9])
    cmap = fit_confidence_map(probs, y)
    assert all(b >= a for a, b in zip(cmap["y"], cmap["y"][1:], strict=False))
    assert ece(probs, y) > 0.2 and ece(apply_confidence_map(probs, cmap), y) < 0.02
