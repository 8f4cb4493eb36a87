"""End to end on tiny random encoders: train → calibrate → export → quantize → evaluate → card."""
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from training.data import load_csv
from training.model import load_encoder
from training.pipeline import main

from .conftest import DATA, TOPICS


def run(base, out, work, data=DATA, rows=200, extra=()):
    main(["--data", str(data), "--base", str(base), "--out", str(out), "--work-dir", str(work), "--limit-rows",
          str(rows), "--epochs", "1", "--batch-size", "16", "--max-length", "64", "--no-minilm", "--threads", "1", *extra])


def feed(session, n_tokens=12, batch=2):
    ids = np.full((batch, n_tokens), 5, dtype=np.int64)
    inputs = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    names = [i.name for i in session.get_inputs()]
    if "token_type_ids" in names:
        inputs["token_type_ids"] = np.zeros_like(ids)
    return {k: v for k, v in inputs.items() if k in names}


@pytest.mark.parametrize("base_fixture,token_types", [("tiny_bert", True), ("tiny_distilbert", False)])
def test_tiny_encoder_trains_exports_and_matches(request, tmp_path, base_fixture, token_types):
    base = request.getfixturevalue(base_fixture)
    out = tmp_path / "model"
    run(base, out, tmp_path / "work")

    config = json.loads((out / "config.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert config["labels"] == sorted(config["labels"]) and len(config["labels"]) >= 5
    assert ("token_type_ids" in config["model_inputs"]) is token_types
    assert config["model_version"].startswith("sha256:")
    assert 0.0 < config["alert_threshold"] < 1.0 and config["temperature"] > 0
    assert metrics["fp32_onnx_max_abs_diff"] < 1e-4  # export matches PyTorch
    assert metrics["agreement_int8_vs_pytorch"] >= 0.8 and metrics["served_agreement_int8_vs_pytorch"] >= 0.8
    mixed = metrics["mixed_precision_ffn_output_float"]  # the card's measured float-FFN alternative
    assert mixed["agreement"] >= 0.8 and mixed["size_bytes"] > metrics["size_bytes"]["model_quantized.onnx"]
    assert "encoder_fp32" in metrics["comparison"]
    test_rows = metrics["data"]["split"]["test_rows"]  # CSV rows behind the card, for demos and checks
    assert len(test_rows) == metrics["data"]["split"]["test"] and len(set(test_rows)) == len(test_rows)
    assert (out / "MODEL_CARD.md").read_text().count("CC BY-NC 4.0") == 1
    assert (out / "tokenizer.json").is_file() and (out / "ngram.json").is_file()

    session = ort.InferenceSession(str(out / "onnx" / "model_quantized.onnx"), providers=["CPUExecutionProvider"])
    assert ("token_type_ids" in [i.name for i in session.get_inputs()]) is token_types
    for n_tokens, batch in ((7, 1), (40, 3)):  # dynamic batch and sequence axes
        probs, urgency, emb = session.run(["queue_probs", "urgency", "embedding"], feed(session, n_tokens, batch))
        assert probs.shape == (batch, len(config["labels"]))
        np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
        assert urgency.shape == (batch,) and np.all((urgency >= 0) & (urgency <= 1))
        np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-4)


def test_resume_continues_from_the_checkpoint(tiny_bert, tmp_path):
    work = tmp_path / "work"
    run(tiny_bert, tmp_path / "a", work)
    history = json.loads((work / "history.json").read_text())["history"]
    main(["--data", str(DATA), "--base", str(tiny_bert), "--out", str(tmp_path / "b"), "--work-dir", str(work),
          "--limit-rows", "200", "--epochs", "2", "--batch-size", "16", "--max-length", "64", "--no-minilm",
          "--threads", "1", "--patience", "5", "--resume"])
    resumed = json.loads((work / "history.json").read_text())["history"]
    assert resumed[0] == history[0] and [h["epoch"] for h in resumed] == [1, 2]


def test_another_taxonomy_trains_with_the_same_command(tiny_bert, tmp_path):
    out = tmp_path / "model"
    run(tiny_bert, out, tmp_path / "work", data=TOPICS, rows=400)
    config = json.loads((out / "config.json").read_text())
    assert set(config["urgency_mapping"]) == {"very_low", "low", "medium", "high", "critical"}
    data = load_csv(TOPICS)
    assert set(config["labels"]) <= set(data.labels)
    assert len(config["labels"]) > 20  # the 52-queue taxonomy, not the default 10


def test_layer_dropping_keeps_the_first_layers(tiny_bert, tmp_path):
    out = tmp_path / "model"
    run(tiny_bert, out, tmp_path / "work", extra=["--layers", "1"])
    config = json.loads((out / "config.json").read_text())
    assert (config["encoder_layers"], config["base_layers"]) == (1, 2)
    graph = onnx.load(str(out / "onnx" / "model_quantized.onnx")).graph
    layers = {n.name.split("/")[3] for n in graph.node if n.name.startswith("/encoder/encoder/layer.")}
    assert layers == {"layer.0"}


def test_layer_dropping_never_adds_layers(tiny_bert):
    assert load_encoder(tiny_bert, 3).config.num_hidden_layers == 2
    assert load_encoder(tiny_bert, 0).config.num_hidden_layers == 2
