"""Cutting an exported graph after its first layers computes what the same encoder with fewer layers computes."""
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from training.export import export_onnx, quantize
from training.model import ServingModel, TicketModel, load_encoder
from training.truncate import cut_graph, keep_first_layers


def _serving(base) -> ServingModel:
    with torch.random.fork_rng():
        torch.manual_seed(3)
        return ServingModel(TicketModel(load_encoder(base), 3, 3, 1, 1), 1.0, [0.15, 0.5, 0.9]).eval()


def _stack(serving: ServingModel) -> nn.Module:
    """The module holding the layer list: BERT's `encoder`, DistilBERT's `transformer`."""
    encoder = serving.model.encoder
    return encoder.encoder if hasattr(encoder, "encoder") else encoder.transformer


def _run(path, ids: torch.Tensor, mask: torch.Tensor) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs = {"input_ids": ids.numpy(), "attention_mask": mask.numpy(), "token_type_ids": np.zeros_like(ids.numpy())}
    names = [i.name for i in session.get_inputs()]
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, {n: inputs[n] for n in names}), strict=True))


@pytest.mark.parametrize("base_fixture", ["tiny_bert", "tiny_distilbert"])
def test_a_cut_graph_computes_what_the_encoder_with_fewer_layers_computes(request, tmp_path, base_fixture):
    serving = _serving(request.getfixturevalue(base_fixture))
    export_onnx(serving, tmp_path / "full.onnx", pad_id=1)
    onnx.save(cut_graph(onnx.load(str(tmp_path / "full.onnx")), 1), str(tmp_path / "cut.onnx"))

    ids = torch.tensor([[0, 17, 42, 99, 7, 2], [0, 23, 5, 2, 1, 1]])
    mask = (ids != 1).long()
    full, cut = _run(tmp_path / "full.onnx", ids, mask), _run(tmp_path / "cut.onnx", ids, mask)
    stack = _stack(serving)
    stack.layer = nn.ModuleList(list(stack.layer)[:1])
    with torch.no_grad():
        probs, urgency, embedding = serving(ids, mask)
    np.testing.assert_allclose(cut["embedding"], embedding.numpy(), atol=1e-5)
    np.testing.assert_allclose(cut["queue_probs"], probs.numpy(), atol=1e-5)
    np.testing.assert_allclose(cut["urgency"], urgency.numpy(), atol=1e-5)
    assert not np.allclose(full["embedding"], cut["embedding"], atol=1e-3)  # the dropped layer did change something


def test_the_int8_graph_keeps_its_first_layers_bit_identical(tiny_bert, tmp_path):
    serving = _serving(tiny_bert)
    export_onnx(serving, tmp_path / "full.onnx", pad_id=1)
    quantize(tmp_path / "full.onnx", tmp_path / "full.int8.onnx")
    cut = cut_graph(onnx.load(str(tmp_path / "full.int8.onnx")), 1)
    kept = {t.name for t in cut.graph.initializer}
    original = {t.name: t for t in onnx.load(str(tmp_path / "full.int8.onnx")).graph.initializer}
    assert all(original[t.name] == t for t in cut.graph.initializer)
    assert not any("layer.1" in name for name in kept) and any("layer.0" in name for name in kept)
    assert len(cut.graph.initializer) < len(original)


def _model_dir(base, path, **config) -> Path:
    """A two-layer model directory with placeholder tokenizer and n-gram files."""
    export_onnx(_serving(base), path / "onnx" / "model_quantized.onnx", pad_id=1)
    for name in ("tokenizer.json", "ngram.json"):
        (path / name).write_text("{}")
    (path / "config.json").write_text(json.dumps({"onnx_file": "onnx/model_quantized.onnx", "encoder_layers": 2, **config}))
    return path


def test_a_model_directory_keeps_its_tokenizer_and_records_its_layers(tiny_bert, tmp_path):
    source = _model_dir(tiny_bert, tmp_path / "model")
    out = keep_first_layers(source, 1, tmp_path / "cut")
    assert json.loads((out / "config.json").read_text())["encoder_layers"] == 1
    assert (out / "tokenizer.json").is_file() and (out / "ngram.json").is_file()
    for bad in (0, 3):
        with pytest.raises(ValueError, match=f"cannot keep {bad} of the graph's 2 encoder layers"):
            keep_first_layers(source, bad, tmp_path / f"cut-{bad}")


def test_refit_encoder_source_cuts_layers_and_or_truncation_into_a_copy(tiny_bert, tmp_path):
    from training.refit import encoder_source
    source = _model_dir(tiny_bert, tmp_path / "model", max_length=256, model_version="sha256:ab")
    cfg = json.loads((source / "config.json").read_text())
    assert encoder_source(source, cfg, 0, 0, tmp_path / "work") == source
    assert encoder_source(source, cfg, 2, 256, tmp_path / "work") == source
    short = encoder_source(source, cfg, 0, 96, tmp_path / "work")
    assert short != source
    assert {k: json.loads((short / "config.json").read_text())[k] for k in ("encoder_layers", "max_length")} == \
        {"encoder_layers": 2, "max_length": 96}
    both = json.loads((encoder_source(source, cfg, 1, 64, tmp_path / "work") / "config.json").read_text())
    assert (both["encoder_layers"], both["max_length"]) == (1, 64)
    assert json.loads((source / "config.json").read_text()) == cfg  # the source is left alone
    with pytest.raises(SystemExit, match="trained on at most 256 tokens"):
        encoder_source(source, cfg, 0, 512, tmp_path / "work")
