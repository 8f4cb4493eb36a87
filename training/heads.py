"""Serving heads on a frozen encoder's embeddings: a linear queue classifier and a linear urgency head, each mixed
with a kNN vote over the training tickets, all fitted in seconds and appended to the int8 ONNX graph."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper
from sklearn.linear_model import LogisticRegression

from .metrics import power_calibrate, softmax
from .onnx_files import save_model


@dataclass
class QueueHeads:
    coef: np.ndarray  # [hidden, labels]
    intercept: np.ndarray  # [labels]
    memory: np.ndarray  # [rows, hidden] L2-normalised embeddings of the labelled tickets
    memory_labels: np.ndarray  # [rows] queue ids
    n_labels: int
    k: int
    knn_temperature: float
    linear_weight: float  # mix = w·p_linear + (1 − w)·p_knn
    temperature: float  # power temperature on the mix (calibration)

    def linear(self, emb: np.ndarray) -> np.ndarray:
        return softmax(emb @ self.coef + self.intercept)

    def knn(self, emb: np.ndarray, exclude_self: bool = False) -> np.ndarray:
        return knn_vote(emb, self.memory, self.memory_labels, self.n_labels, self.k, self.knn_temperature, exclude_self)

    def probs(self, emb: np.ndarray, exclude_self: bool = False) -> np.ndarray:
        mix = self.linear_weight * self.linear(emb) + (1 - self.linear_weight) * self.knn(emb, exclude_self)
        return power_calibrate(mix, self.temperature)


# Added to the similarity of a memory row without a priority: cosines lie in [-1, 1], so such a row never
# ranks among an urgency vote's nearest neighbours (the graph adds the same constant).
NO_PRIORITY_BIAS = -4.0


@dataclass
class UrgencyHead:
    coef: np.ndarray  # [hidden, levels]
    intercept: np.ndarray
    scores: np.ndarray  # urgency of each priority level
    memory: np.ndarray  # [rows, hidden] the queue heads' kNN memory (the same array: the graph shares the similarities)
    memory_urgency: np.ndarray  # [rows] urgency of each memory row, NaN where it has no priority
    k: int
    knn_temperature: float
    linear_weight: float  # urgency = w·linear + (1 − w)·kNN

    def linear(self, emb: np.ndarray) -> np.ndarray:
        return softmax(emb @ self.coef + self.intercept) @ self.scores

    def knn(self, emb: np.ndarray, exclude_self: bool = False) -> np.ndarray:
        top, w = nearest(emb, self.memory, self.k_used, self.knn_temperature, exclude_self, self.vote_bias)
        return (w * np.nan_to_num(self.memory_urgency)[top]).sum(axis=1)

    @property
    def vote_bias(self) -> np.ndarray:
        """Per memory row, added to its similarity before the vote ranks it (the graph adds the same)."""
        return np.where(np.isnan(self.memory_urgency), NO_PRIORITY_BIAS, 0.0)

    @property
    def k_used(self) -> int:
        return max(1, min(self.k, int((~np.isnan(self.memory_urgency)).sum())))

    def __call__(self, emb: np.ndarray, exclude_self: bool = False) -> np.ndarray:
        return self.linear_weight * self.linear(emb) + (1 - self.linear_weight) * self.knn(emb, exclude_self)


def nearest(emb: np.ndarray, memory: np.ndarray, k: int, temperature: float, exclude_self: bool = False,
            bias: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The k most similar memory rows (cosine, plus `bias` per row) and their softmax weights at `temperature`.
    `exclude_self` is for `emb` being the memory itself: a row is not its own neighbour."""
    sims = emb @ memory.T
    if bias is not None:
        sims = sims + bias
    if exclude_self:
        np.fill_diagonal(sims, -np.inf)
    k = min(k, memory.shape[0])
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    return top, softmax(np.take_along_axis(sims, top, axis=1) / temperature)


def knn_vote(emb: np.ndarray, memory: np.ndarray, labels: np.ndarray, n_labels: int, k: int, temperature: float,
             exclude_self: bool = False) -> np.ndarray:
    """Similarity-weighted vote of the k nearest labelled tickets (cosine): retrieval is robust to label noise
    that a linear head averages in, and the generated tickets come in near-duplicate families that a sharp
    vote (low temperature) finds."""
    top, w = nearest(emb, memory, k, temperature, exclude_self)
    out = np.zeros((emb.shape[0], n_labels))
    np.add.at(out, (np.repeat(np.arange(emb.shape[0]), top.shape[1]), labels[top].ravel()), w.ravel())
    return out


def fit_linear(x: np.ndarray, y: np.ndarray, n_classes: int, C: float, balanced: bool, seed: int) -> tuple[np.ndarray, np.ndarray]:
    clf = LogisticRegression(C=C, max_iter=3000, class_weight="balanced" if balanced else None, random_state=seed)
    clf.fit(x, y)
    coef = np.zeros((x.shape[1], n_classes))
    icpt = np.full(n_classes, -30.0)  # a class absent from the rows is never predicted
    coef[:, clf.classes_] = clf.coef_.T if len(clf.classes_) > 2 else np.hstack([-clf.coef_.T, clf.coef_.T]) / 2
    icpt[clf.classes_] = clf.intercept_ if len(clf.classes_) > 2 else np.array([-clf.intercept_[0], clf.intercept_[0]]) / 2
    return coef, icpt


def attach_heads(src: Path, dst: Path, queue: QueueHeads, urgency: UrgencyHead) -> None:
    """Replaces the graph's queue_probs and urgency outputs with the fitted heads, computed from its own
    `embedding` output: the encoder nodes stay bit-identical, the service's contract (three outputs, same
    names and shapes) is unchanged, and the kNN memory travels inside the model file."""
    if urgency.memory is not queue.memory and not np.array_equal(urgency.memory, queue.memory):
        raise ValueError("the urgency vote must use the queue heads' kNN memory: the graph computes one similarity matrix")
    model = onnx.load(str(src))
    graph = model.graph
    # The old heads' outputs get private names, so the old heads (and their initializers) fall away as dead
    # nodes before the new ones arrive: a source that already carries refitted heads frees their names.
    for node in graph.node:
        node.output[:] = [f"v1_{o}" if o in ("queue_probs", "urgency") else o for o in node.output]
    drop_dead_nodes(graph)
    f32 = lambda name, a: numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)  # noqa: E731
    graph.initializer.extend([
        f32("heads_queue_w", queue.coef), f32("heads_queue_b", queue.intercept),
        f32("heads_memory_t", queue.memory.T),
        f32("heads_memory_onehot", np.eye(queue.n_labels)[queue.memory_labels]),
        numpy_helper.from_array(np.array([min(queue.k, len(queue.memory))], dtype=np.int64), "heads_k"),
        f32("heads_inv_knn_t", 1.0 / queue.knn_temperature), f32("heads_lin_w", queue.linear_weight),
        f32("heads_knn_w", 1.0 - queue.linear_weight), f32("heads_inv_t", 1.0 / queue.temperature),
        f32("heads_eps", 1e-12),
        f32("heads_urg_w", urgency.coef), f32("heads_urg_b", urgency.intercept), f32("heads_urg_scores", urgency.scores),
        f32("heads_urg_bias", urgency.vote_bias),
        f32("heads_urg_memory", np.nan_to_num(urgency.memory_urgency)),
        numpy_helper.from_array(np.array([urgency.k_used], dtype=np.int64), "heads_urg_k"),
        f32("heads_urg_inv_knn_t", 1.0 / urgency.knn_temperature), f32("heads_urg_lin_w", urgency.linear_weight),
        f32("heads_urg_knn_w", 1.0 - urgency.linear_weight),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "heads_axis1"),
    ])
    n = helper.make_node
    graph.node.extend([
        n("MatMul", ["embedding", "heads_queue_w"], ["h_lin_mm"]),
        n("Add", ["h_lin_mm", "heads_queue_b"], ["h_lin_logits"]),
        n("Softmax", ["h_lin_logits"], ["h_lin_p"], axis=-1),
        n("MatMul", ["embedding", "heads_memory_t"], ["h_sims"]),
        n("TopK", ["h_sims", "heads_k"], ["h_top_v", "h_top_i"], axis=-1),
        n("Mul", ["h_top_v", "heads_inv_knn_t"], ["h_top_z"]),
        n("Softmax", ["h_top_z"], ["h_top_w"], axis=-1),
        n("Gather", ["heads_memory_onehot", "h_top_i"], ["h_votes"], axis=0),  # [batch, k, labels]
        n("Unsqueeze", ["h_top_w", "heads_axis1"], ["h_top_w3"]),  # [batch, 1, k]
        n("MatMul", ["h_top_w3", "h_votes"], ["h_knn3"]),
        n("Squeeze", ["h_knn3", "heads_axis1"], ["h_knn_p"]),
        n("Mul", ["h_lin_p", "heads_lin_w"], ["h_mix_a"]),
        n("Mul", ["h_knn_p", "heads_knn_w"], ["h_mix_b"]),
        n("Add", ["h_mix_a", "h_mix_b"], ["h_mix"]),
        n("Max", ["h_mix", "heads_eps"], ["h_mix_c"]),
        n("Pow", ["h_mix_c", "heads_inv_t"], ["h_pow"]),
        n("ReduceSum", ["h_pow", "heads_axis1"], ["h_pow_sum"], keepdims=1),
        n("Div", ["h_pow", "h_pow_sum"], ["queue_probs"]),
        n("MatMul", ["embedding", "heads_urg_w"], ["h_urg_mm"]),
        n("Add", ["h_urg_mm", "heads_urg_b"], ["h_urg_logits"]),
        n("Softmax", ["h_urg_logits"], ["h_urg_p"], axis=-1),
        n("MatMul", ["h_urg_p", "heads_urg_scores"], ["h_urg_lin"]),
        # the urgency vote ranks the same similarities, rows without a priority pushed out of reach
        n("Add", ["h_sims", "heads_urg_bias"], ["h_usims"]),
        n("TopK", ["h_usims", "heads_urg_k"], ["h_utop_v", "h_utop_i"], axis=-1),
        n("Mul", ["h_utop_v", "heads_urg_inv_knn_t"], ["h_utop_z"]),
        n("Softmax", ["h_utop_z"], ["h_utop_w"], axis=-1),
        n("Gather", ["heads_urg_memory", "h_utop_i"], ["h_utop_u"], axis=0),  # [batch, k]
        n("Mul", ["h_utop_w", "h_utop_u"], ["h_utop_wu"]),
        n("ReduceSum", ["h_utop_wu", "heads_axis1"], ["h_urg_knn"], keepdims=0),
        n("Mul", ["h_urg_lin", "heads_urg_lin_w"], ["h_urg_a"]),
        n("Mul", ["h_urg_knn", "heads_urg_knn_w"], ["h_urg_b2"]),
        n("Add", ["h_urg_a", "h_urg_b2"], ["urgency"]),
    ])
    for out in graph.output:
        # the new heads may know more (or fewer) queues than the old ones: a correction can add one
        if out.name == "queue_probs" and out.type.tensor_type.shape.dim[1].HasField("dim_value"):
            out.type.tensor_type.shape.dim[1].dim_value = queue.n_labels
    onnx.checker.check_model(model)
    save_model(model, dst)


def drop_dead_nodes(graph) -> None:
    """Removes nodes (and initializers) nothing reads any more: the replaced heads."""
    while True:
        used = {o.name for o in graph.output} | {i for node in graph.node for i in node.input}
        dead = [node for node in graph.node if not any(o in used for o in node.output)]
        if not dead:
            break
        for node in dead:
            graph.node.remove(node)
    live = {i for node in graph.node for i in node.input}
    for init in [i for i in graph.initializer if i.name not in live]:
        graph.initializer.remove(init)
