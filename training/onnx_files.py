"""How a served ONNX graph is laid out on disk: the graph in `<name>.onnx`, its large initializers in
`<name>.onnx.data` beside it, each at a page-aligned offset.

Why: onnxruntime memory-maps an external data file instead of copying it onto the heap. The word
embedding table (15 MB of the 37 MB) is then file pages, of which a worker only touches the rows of the
tokens it has seen, and both workers share them; from a single file it is anonymous memory in each."""
from __future__ import annotations

from pathlib import Path

import onnx
from onnx import external_data_helper

# Smaller tensors stay inline: mapping them would cost a page each for nothing.
EXTERNAL_MIN_BYTES = 1 << 20
PAGE = 4096


def data_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.name + ".data")


def save_model(model: onnx.ModelProto, path: Path) -> None:
    """Writes `model` to `path` (+ `path`.data when it has initializers of at least EXTERNAL_MIN_BYTES).
    `model` must hold its tensors inline (as `onnx.load` returns them); it is not modified."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    data = data_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    big = [t for t in model.graph.initializer if len(t.raw_data) >= EXTERNAL_MIN_BYTES]
    if big:
        with data.open("wb") as out:
            for tensor in big:
                out.write(b"\0" * (-out.tell() % PAGE))
                offset = out.tell()
                out.write(tensor.raw_data)
                external_data_helper.set_external_data(tensor, data.name, offset=offset, length=len(tensor.raw_data))
                tensor.ClearField("raw_data")
                tensor.data_location = onnx.TensorProto.EXTERNAL
    else:
        data.unlink(missing_ok=True)
    path.write_bytes(model.SerializeToString())


def model_files(path: Path) -> list[Path]:
    """The files that make up the graph at `path`."""
    data = data_path(path)
    return [path, data] if data.is_file() else [path]


def served_files(model_dir: Path, graph: Path) -> list[Path]:
    """The files of a model directory that the service loads, graph at `graph`: what the model version hashes
    and the card's sizes cover."""
    return [*model_files(graph), model_dir / "tokenizer.json", model_dir / "ngram.json"]
