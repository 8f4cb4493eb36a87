"""The train + validation refit: calibration from out-of-fold predictions, urgency from rows with a priority only."""
from types import SimpleNamespace

import numpy as np

from training.data import Dataset
from training.heads import QueueHeads, fit_linear
from training.metrics import fit_power_temperature
from training.refit import NgramFitter, fit_urgency_head, refit_queue_heads
from training.tests.test_ngram import LABELS, synthetic

CHOICE = {"linear_C": 8.0, "knn_k": 5, "knn_temperature": 0.05, "linear_weight": 0.3, "temperature": 1.0}
URGENCY_CHOICE = {"urgency_C": 1.0, "urgency_knn_k": 5, "urgency_knn_temperature": 0.05, "urgency_linear_weight": 1.0}


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_cross_fitted_temperature_sees_no_prediction_of_a_head_that_trained_on_the_same_row():
    rng = np.random.default_rng(0)
    emb = _unit(rng.normal(size=(300, 16)))
    y = rng.integers(0, 3, 300)  # labels carry no signal: an honest calibration flattens the heads' votes
    rows = np.arange(300)
    heads = refit_queue_heads(emb, y, rows, 3, CHOICE, seed=0)
    in_sample = QueueHeads(*fit_linear(emb, y, 3, 8.0, True, 0), emb, y, 3, 5, 0.05, 0.3, 1.0)
    naive = fit_power_temperature(0.3 * in_sample.linear(emb) + 0.7 * in_sample.knn(emb), y)
    assert heads.temperature > 2 * naive  # the in-sample kNN finds each row itself and looks sure of it
    assert len(heads.memory) == 300  # the shipped memory holds every refitted row
    fresh = _unit(rng.normal(size=(200, 16)))
    assert heads.probs(fresh).max(1).mean() < 0.6  # near 1/3 on fresh rows, as it should be without signal


def test_urgency_head_learns_only_from_rows_with_a_priority():
    rng = np.random.default_rng(1)
    emb = rng.normal(size=(200, 4))
    priorities = ["high" if e[0] > 0 else "low" for e in emb]
    has = np.ones(200, dtype=bool)
    has[:100] = False  # these rows would teach the opposite if a priority were made up for them
    priorities = [("low" if p == "high" else "high") if not h else p for p, h in zip(priorities, has, strict=True)]
    ds = SimpleNamespace(has_priority=has, priorities=[p if h else "" for p, h in zip(priorities, has, strict=True)],
                         urgency=np.array([{"low": 0.15, "high": 0.9}[p] if h else np.nan for p, h in zip(priorities, has, strict=True)]))
    head = fit_urgency_head(emb, ds, np.arange(200), ["low", "high"], URGENCY_CHOICE, seed=0)
    u = head(emb[100:])
    assert (u[emb[100:, 0] > 0] > 0.5).mean() > 0.9 and (u[emb[100:, 0] <= 0] < 0.5).mean() > 0.9
    assert len(head.memory) == 200 and np.isnan(head.memory_urgency[:100]).all()  # in memory, never voting
    only_vote = fit_urgency_head(emb, ds, np.arange(200), ["low", "high"], {**URGENCY_CHOICE, "urgency_linear_weight": 0.0}, seed=0)
    v = only_vote(emb[100:], exclude_self=True)  # a vote of the rows without a priority would be mostly wrong
    assert (v[emb[100:, 0] > 0] > 0.5).mean() > 0.7 and (v[emb[100:, 0] <= 0] < 0.5).mean() > 0.7


def _dataset(texts: list[str], y: np.ndarray, u: np.ndarray) -> Dataset:
    n = len(texts)
    return Dataset(texts, y, LABELS, ["medium"] * n, u.astype(np.float32), np.full(n, -1), [], [[] for _ in range(n)], ["en"] * n, "")


def test_ngram_fitter_gives_the_same_models_on_several_processes_and_from_its_cache(tmp_path):
    texts, y, u = synthetic(240)
    u[::7] = np.nan  # rows without a priority
    parts = [_dataset(texts[i::3], y[i::3], u[i::3]) for i in range(3)]
    probe = texts[:40]
    one = NgramFitter(LABELS, seed=0).many(parts)
    two = NgramFitter(LABELS, seed=0, cache=tmp_path, workers=2).many(parts)
    assert len(list(tmp_path.glob("ngram-*.json"))) == 3
    cached = NgramFitter(LABELS, seed=0, cache=tmp_path).many(parts)
    for a, b, c in zip(one, two, cached, strict=True):
        assert np.array_equal(a.predict_proba(probe), b.predict_proba(probe))
        assert np.array_equal(a.predict_urgency(probe), c.predict_urgency(probe))
    # each part learnt its own rows: the models differ from one another
    assert not np.array_equal(one[0].predict_proba(probe), one[1].predict_proba(probe))
