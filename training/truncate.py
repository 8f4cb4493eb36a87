"""Layer dropping on an exported model: the int8 graph cut after its first N encoder layers.

`--layers` in training drops layers before fine-tuning; this does it afterwards, on the frozen int8 graph, so a
refit can weigh each depth of an already fine-tuned encoder on validation in minutes instead of a new fine-tune.
The kept layers' weights and quantization are bit-identical; pooling and heads read the Nth layer's output instead
of the last one's.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import onnx

from .onnx_files import save_model

LAYER = re.compile(r"^/encoder/(?:encoder|transformer)/layer\.(\d+)/")


def _layer_outputs(graph: onnx.GraphProto) -> dict[int, str]:
    """Each encoder layer's output: the output of its last node in the graph's (topological) order."""
    outputs: dict[int, str] = {}
    for node in graph.node:
        m = LAYER.match(node.name)
        if m:
            outputs[int(m.group(1))] = node.output[0]
    return outputs


def cut_graph(model: onnx.ModelProto, layers: int) -> onnx.ModelProto:
    graph = model.graph
    outputs = _layer_outputs(graph)
    if not outputs:
        raise ValueError("no encoder layers found in the graph (expected nodes named /encoder/encoder/layer.N/...)")
    if not 0 < layers <= len(outputs):
        raise ValueError(f"cannot keep {layers} of the graph's {len(outputs)} encoder layers")
    last, kept = outputs[len(outputs) - 1], outputs[layers - 1]
    for node in graph.node:
        if not LAYER.match(node.name):
            node.input[:] = [kept if name == last else name for name in node.input]
    needed = {o.name for o in graph.output}
    live = []
    for node in reversed(graph.node):
        if any(o in needed for o in node.output):
            live.append(node)
            needed.update(node.input)
    live.reverse()
    del graph.node[:]
    graph.node.extend(live)
    initializers = [t for t in graph.initializer if t.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    onnx.checker.check_model(model)
    return model


def keep_first_layers(source: Path, layers: int, out: Path) -> Path:
    """A model directory like `source` whose graph keeps only the first `layers` encoder layers (tokenizer, n-gram
    model and the rest of config.json unchanged)."""
    config = json.loads((source / "config.json").read_text())
    model = cut_graph(onnx.load(str(source / config["onnx_file"])), layers)
    save_model(model, out / config["onnx_file"])
    for name in ("tokenizer.json", "ngram.json"):
        shutil.copy2(source / name, out / name)
    config["encoder_layers"] = layers
    (out / "config.json").write_text(json.dumps(config, indent=1, ensure_ascii=False))
    return out
