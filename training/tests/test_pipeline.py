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


def finetune_only(base, work, data=(DATA,), rows=120, extra=()):
    """Fine-tuning without export (--stop-after before the last epoch): fast, and history.json says what happened."""
    main([*[a for d in data for a in ("--data", str(d))], "--base", str(base), "--out", str(work / "never"),
          "--work-dir", str(work), "--limit-rows", str(rows), "--epochs", "3", "--batch-size", "16", "--max-length", "32",
          "--no-minilm", "--threads", "1", "--patience", "5", *extra])
    assert not (work / "never").exists()
    return json.loads((work / "history.json").read_text())["history"]


def test_a_resumed_run_trains_exactly_like_an_uninterrupted_one(tiny_bert, tmp_path):
    straight = finetune_only(tiny_bert, tmp_path / "a", extra=["--stop-after", "2"])
    first = finetune_only(tiny_bert, tmp_path / "b", extra=["--stop-after", "1"])
    assert [h["epoch"] for h in first] == [1]
    resumed = finetune_only(tiny_bert, tmp_path / "b", extra=["--stop-after", "2", "--resume"])
    strip = lambda hs: [{k: v for k, v in h.items() if k != "seconds"} for h in hs]  # noqa: E731
    # Before the fix the resumed run re-seeded torch after restoring the checkpoint's RNG: epoch 2's dropout
    # masks (and so its loss) differed from the uninterrupted run's.
    assert strip(resumed) == strip(straight) and [h["epoch"] for h in resumed] == [1, 2]


def test_rows_without_priority_train_the_queue_only(tiny_bert, tmp_path):
    more = DATA.parent / "tickets-more.csv"
    history = finetune_only(tiny_bert, tmp_path / "w", data=(DATA, more), rows=800, extra=["--stop-after", "1"])
    assert len(history) == 1 and np.isfinite(history[0]["train_loss"]) and np.isfinite(history[0]["val_urgency_rmse"])


def test_a_failed_export_leaves_the_previous_model_directory_untouched(tiny_bert, tmp_path, monkeypatch):
    import training.pipeline as pipeline

    out = tmp_path / "model"
    (out / "onnx").mkdir(parents=True)
    (out / "config.json").write_text("old config")
    (out / "onnx" / "model_quantized.onnx").write_bytes(b"old onnx")

    def half_written(args, prep, ft, log):
        (args.out / "onnx").mkdir(parents=True)
        (args.out / "onnx" / "model_quantized.onnx").write_bytes(b"new onnx")
        raise RuntimeError("crash between the ONNX and config.json")

    monkeypatch.setattr(pipeline, "finalize", half_written)
    with pytest.raises(RuntimeError, match="crash"):
        run(tiny_bert, out, tmp_path / "work", rows=120)
    assert (out / "config.json").read_text() == "old config"
    assert (out / "onnx" / "model_quantized.onnx").read_bytes() == b"old onnx"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "work"]  # no staging directory left behind


def test_replace_dir_swaps_in_the_new_directory(tmp_path):
    from training.pipeline import replace_dir

    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "config.json").write_text("new")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "stale.onnx").write_text("old")
    replace_dir(tmp_path / "new", tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["config.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    (tmp_path / "new2").mkdir()
    replace_dir(tmp_path / "new2", tmp_path / "fresh")  # no previous directory
    assert (tmp_path / "fresh").is_dir()


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
