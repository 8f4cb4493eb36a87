import numpy as np

from training.report import token_length_reference


def test_truncated_texts_get_a_bin_of_their_own() -> None:
    ref = token_length_reference(np.array([10, 20, 30, 40, 96, 96, 96, 96, 96, 96]), 96)
    assert ref["token_length_percentiles"]["50"] == ref["token_length_percentiles"]["95"] == 96.0
    assert ref["token_length"] == {"edges": [0.0, 14.5, 32.5, 96.0, 96.0], "share": [0.1, 0.2, 0.1, 0.6]}
    assert ref["truncated_share"] == 0.6


def test_without_truncation_the_bins_are_the_percentile_gaps_and_the_last_is_empty() -> None:
    ref = token_length_reference(np.arange(1, 201), 256)
    edges, share = ref["token_length"]["edges"], ref["token_length"]["share"]
    assert edges[-2:] == [256.0, 256.0] and share[-1] == 0.0
    assert np.allclose(share[:-1], [0.05, 0.2, 0.25, 0.25, 0.2, 0.05], atol=0.01)
    assert sum(share) == 1.0
    # a length on an inner edge counts in the bin that edge opens, as the service's histogram() puts it
    on_edge = token_length_reference(np.array([10, 20, 20, 30, 96]), 96)
    edges = on_edge["token_length"]["edges"]
    assert 20.0 in edges
    assert on_edge["token_length"]["share"][edges.index(20.0)] == 0.4  # both 20s, not the 10


def test_the_shipped_card_says_how_many_tokens_the_model_reads() -> None:
    import json
    from pathlib import Path

    from training.card import render_refit
    model = Path(__file__).resolve().parents[2] / "models" / "triage"
    metrics, config = (json.loads((model / f).read_text()) for f in ("metrics.json", "config.json"))
    card = render_refit(metrics, config)
    assert f"at most {config['max_length']} tokens per ticket" in card
    # a refit that kept its source's length says nothing about it
    same = {**metrics, "refit": {**metrics["refit"], "from_max_length": config["max_length"]}}
    assert "tokens per ticket" not in render_refit(same, config)
