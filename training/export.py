"""ONNX export of the serving graph and dynamic int8 quantization."""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic

from .finetune import by_length, collate
from .model import ServingModel, encoder_input_names

OUTPUTS = ["queue_probs", "urgency", "embedding"]


def export_onnx(serving: ServingModel, path: Path, pad_id: int) -> list[str]:
    """Exports with dynamic batch and sequence axes; returns the graph's input names."""
    serving.eval()
    names = encoder_input_names(serving.model.model_type)
    ids, mask = collate([[5, 6, 7, 8], [5, 6]], pad_id)
    example = (ids, mask) + ((torch.zeros_like(ids),) if "token_type_ids" in names else ())
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes.update({"queue_probs": {0: "batch"}, "urgency": {0: "batch"}, "embedding": {0: "batch"}})
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(serving, example, str(path), input_names=names, output_names=OUTPUTS,
                      dynamic_axes=axes, opset_version=17, dynamo=False, do_constant_folding=True)
    return names


QUANTIZED_OPS = ("MatMul", "Gemm", "Gather")


# The feed-forward output projections (BERT `output.dense`, DistilBERT `ffn.lin2`): their input is the GELU
# output, the activation that per-tensor int8 resolves worst.
FFN_OUTPUT = re.compile(r"layer\.\d+/(output/dense|ffn/lin2)/")


def quantize(fp32: Path, int8: Path, keep_float: re.Pattern[str] | None = None) -> None:
    """Dynamic int8 for the encoder's weights; the small heads (calibrated probabilities, the
    priority → urgency expectation) stay in float so quantization cannot move them, as do encoder
    nodes matching `keep_float`."""
    int8.parent.mkdir(parents=True, exist_ok=True)
    graph = onnx.load(str(fp32), load_external_data=False).graph
    excluded = [n.name for n in graph.node if n.op_type in QUANTIZED_OPS
                and ("/encoder/" not in n.name or (keep_float is not None and keep_float.search(n.name)))]
    logging.getLogger().setLevel(logging.WARNING)  # the quantizer logs every tensor at INFO
    try:
        quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=list(QUANTIZED_OPS), nodes_to_exclude=excluded)
    finally:
        logging.getLogger().setLevel(logging.INFO)


class OnnxPredictor:
    """Runs an exported model the way the service does: each text at its own length, one thread."""

    def __init__(self, path: Path, input_names: Sequence[str], pad_id: int, threads: int = 1) -> None:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.input_names = list(input_names)
        self.pad_id = pad_id

    def _feed(self, batch: list[list[int]]) -> dict[str, np.ndarray]:
        ids, mask = collate(batch, self.pad_id)
        feed = {"input_ids": ids.numpy(), "attention_mask": mask.numpy()}
        if "token_type_ids" in self.input_names:
            feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
        return feed

    def predict(self, ids_list: list[list[int]], batch_size: int = 16) -> dict[str, np.ndarray]:
        outs: dict[str, list[Any]] = {k: [None] * len(ids_list) for k in OUTPUTS}
        for idx in by_length(ids_list, batch_size):
            res = self.session.run(OUTPUTS, self._feed([ids_list[i] for i in idx]))
            for name, value in zip(OUTPUTS, res, strict=True):
                for j, i in enumerate(idx):
                    outs[name][i] = value[j]
        return {k: np.stack(v) for k, v in outs.items()}

    def latency_ms(self, ids_list: list[list[int]], warmup: int = 20) -> dict[str, float]:
        """Per-ticket latency, one ticket per run() as the worker does it, after `warmup` untimed runs."""
        for ids in ids_list[:warmup]:
            self.session.run(OUTPUTS, self._feed([ids]))
        times = []
        for ids in ids_list:
            feed = self._feed([ids])
            t = time.perf_counter()
            self.session.run(OUTPUTS, feed)
            times.append((time.perf_counter() - t) * 1000)
        arr = np.array(times)
        return {"median": float(np.median(arr)), "p95": float(np.percentile(arr, 95)), "mean": float(arr.mean()),
                "n": len(arr)}
