"""Tests for the hashed n-gram model (training/ngram.py). Synthetic tickets, seconds to run."""
from __future__ import annotations

import json
import random

import numpy as np
import pytest

from training.ngram import (
    Featurizer,
    NgramModel,
    compile_terms,
    default_keywords,
    fnv1a32,
    normalize_text,
    tokenize,
    train_ngram,
)

LABELS = ["Billing and Payments", "Returns and Exchanges", "Technical Support", "Sales and Pre-Sales"]
URG = {"low": 0.15, "medium": 0.5, "high": 0.9}

_TEMPLATES: dict[str, list[tuple[str, str]]] = {
    "Billing and Payments": [
        ("Invoice {n} wrong", "We were charged twice on invoice {n}. Please correct the payment of {n} EUR."),
        ("Rechnung {n}", "Die Rechnung {n} enthält eine doppelte Abbuchung, bitte die Zahlung korrigieren."),
        ("Factura {n}", "La factura {n} tiene un cargo duplicado, por favor corrijan el pago."),
    ],
    "Returns and Exchanges": [
        ("Refund for order {n}", "I returned the item from order {n} and still wait for my refund."),
        ("Rücksendung {n}", "Ich habe die Bestellung {n} zurückgeschickt und warte auf die Rückerstattung."),
        ("Remboursement {n}", "J'ai retourné la commande {n}, je souhaite un remboursement."),
    ],
    "Technical Support": [
        ("Server down {n}", "Our server {n} is down since this morning, nothing works. Please help immediately!"),
        ("Server ausgefallen", "Server {n} ist ausgefallen, dringend Hilfe benötigt, Produktion steht."),
        ("Sistema caído", "El servidor {n} está caído y no funciona, es urgente."),
    ],
    "Sales and Pre-Sales": [
        ("Pricing question", "Could you send me a quote for {n} licences? No rush, when you have time."),
        ("Angebot", "Bitte senden Sie uns ein Angebot für {n} Lizenzen, keine Eile."),
        ("Proposta", "Gostaria de saber o preço de {n} licenças, sem pressa."),
    ],
}
_PRIORITY = {"Billing and Payments": "medium", "Returns and Exchanges": "low", "Technical Support": "high", "Sales and Pre-Sales": "low"}


def synthetic(n: int, seed: int = 0) -> tuple[list[str], np.ndarray, np.ndarray]:
    rng = random.Random(seed)
    texts: list[str] = []
    ys: list[int] = []
    us: list[float] = []
    for i in range(n):
        label = LABELS[i % len(LABELS)]
        subject, body = rng.choice(_TEMPLATES[label])
        num = rng.randint(100, 99999)
        noise = " ".join(rng.choice(["thanks", "regards", "hello", "Grüße", "gracias", "merci", "obrigado", "please"]) for _ in range(3))
        texts.append(f"{subject.format(n=num)}\n{body.format(n=num)} {noise}")
        ys.append(i % len(LABELS))
        prio = _PRIORITY[label] if rng.random() > 0.15 else rng.choice(list(URG))
        us.append(URG[prio])
    return texts, np.array(ys), np.array(us)


@pytest.fixture(scope="module")
def trained() -> tuple[NgramModel, list[str], np.ndarray]:
    texts, y, u = synthetic(320)
    model = train_ngram(texts[:240], y[:240], LABELS, u[:240], seed=0, n_buckets=1 << 12, C=2.0)
    return model, texts[240:], y[240:]


ODD = ["", "   ", "a" * 20_000, "😀🔥🚨", "مرحبا الخادم", "\ud800 lone", "x\x00\x01\xff", "ÀÉÎ ß ΟΔΟΣ"]


def test_hash_and_tokenizer_reference_values() -> None:
    assert fnv1a32("") == 0x811C9DC5
    assert fnv1a32("a") == 0xE40C292C
    assert fnv1a32("foobar") == 0xBF9CF968
    assert tokenize(normalize_text("ＦＵＬＬ ﬁle Cafe\u0301 snake_case x² ΟΔΟΣ")) == ["full", "file", "café", "snake", "case", "x2", "οδος"]
    assert normalize_text("abc\ud800") == "abc\ufffd"
    assert normalize_text("😀😀😀", max_chars=2) == "😀😀"


def test_probabilities_sum_to_one_and_urgency_in_range(trained: tuple[NgramModel, list[str], np.ndarray]) -> None:
    model, texts, _ = trained
    p = model.predict_proba(texts + ODD)
    assert p.shape == (len(texts) + len(ODD), len(LABELS))
    assert np.allclose(p.sum(axis=1), 1.0)
    assert (p >= 0).all()
    u = model.predict_urgency(texts + ODD)
    assert u.shape == (len(texts) + len(ODD),)
    assert ((u >= 0) & (u <= 1)).all()


def test_learns_the_synthetic_queues(trained: tuple[NgramModel, list[str], np.ndarray]) -> None:
    model, texts, y = trained
    acc = float((model.predict_proba(texts).argmax(axis=1) == y).mean())
    assert acc > 0.9
    u = model.predict_urgency(["Server 4711 ist ausgefallen, dringend!", "Could you send me a quote? No rush."])
    assert u[0] > u[1]


def test_json_round_trip_gives_identical_predictions(trained: tuple[NgramModel, list[str], np.ndarray]) -> None:
    model, texts, _ = trained
    doc = json.loads(json.dumps(model.to_json()))
    assert doc["format"] == "triage-ngram" and doc["labels"] == LABELS
    again = NgramModel.from_json(doc)
    probe = texts + ODD
    assert np.array_equal(model.predict_proba(probe), again.predict_proba(probe))
    assert np.array_equal(model.predict_urgency(probe), again.predict_urgency(probe))


def test_keyword_features_fire_in_several_languages(trained: tuple[NgramModel, list[str], np.ndarray]) -> None:
    model, _, _ = trained
    assert {"outage", "urgent"} <= set(model.keyword_groups("Server ausgefallen, dringend!"))
    assert {"outage", "urgent"} <= set(model.keyword_groups("El sistema está caído, es urgente"))
    assert "outage" in model.keyword_groups("Panne totale du service")
    assert "outage" in model.keyword_groups("O site está fora do ar")
    assert {"security", "data_loss"} <= set(model.keyword_groups("Security BREACH with data loss"))
    assert "urgent" in model.keyword_groups("Please fix ASAP")
    assert model.keyword_groups("Please send the brochure")  == ["calm"]
    assert model.keyword_groups("download the update") == []  # "down" is a whole-token keyword
    # the keyword dimensions are part of the feature vector
    f = model.featurizer
    x = f.transform(["Server ausgefallen, dringend!"])
    kw = x[:, f.n_buckets:].toarray()[0]
    assert kw.sum() == pytest.approx(2 * f.keyword_weight)


def test_prefix_terms_and_phrases() -> None:
    f = Featurizer(n_buckets=1 << 8, keywords=[{"name": "t", "terms": compile_terms(["urgen*", "data loss", "so schnell wie mögl*"])}])
    for text, fires in [("URGENTE", True), ("urgency", True), ("data loss!", True), ("data, loss", True),
                        ("loss of data", False), ("So schnell wie möglich", True), ("surgent", False)]:
        assert (f.raw_blocks(text)[1] == [0]) is fires, text


def test_labels_absent_from_training_get_zero_probability() -> None:
    texts, y, u = synthetic(80)
    keep = y != 3
    model = train_ngram([t for t, k in zip(texts, keep, strict=True) if k], y[keep], LABELS, u[keep], n_buckets=1 << 10)
    p = model.predict_proba(["Pricing question for 12 licences"])
    assert p.shape == (1, 4) and p[0, 3] < 1e-12 and np.isclose(p.sum(), 1.0)


def test_linear_urgency_and_no_class_weight() -> None:
    texts, y, _ = synthetic(120)
    rng = np.random.default_rng(0)
    u = rng.uniform(0, 1, len(texts))  # continuous targets -> ridge
    model = train_ngram(texts, y, LABELS, u, class_weight=None, n_buckets=1 << 10, use_idf=False)
    assert model.urgency_kind == "linear"
    out = model.predict_urgency(texts[:10] + ODD)
    assert ((out >= 0) & (out <= 1)).all()
    again = NgramModel.from_json(json.loads(json.dumps(model.to_json())))
    assert np.array_equal(out, again.predict_urgency(texts[:10] + ODD))


def test_json_size_stays_small_for_default_buckets() -> None:
    texts, y, u = synthetic(60)
    model = train_ngram(texts, y, LABELS, u, max_iter=30)  # size only: no need to converge
    size = len(json.dumps(model.to_json()))
    assert model.featurizer.n_buckets == 1 << 17
    assert size < 6_000_000


def test_default_keywords_compile() -> None:
    groups = default_keywords()
    assert [g["name"] for g in groups] == ["urgent", "outage", "security", "data_loss", "impact", "calm"]
    assert all(g["terms"] for g in groups)


def test_bad_input_is_rejected() -> None:
    with pytest.raises(ValueError):
        train_ngram(["a", "b"], np.array([0]), LABELS, np.array([0.5, 0.5]))
    with pytest.raises(ValueError):
        train_ngram(["a"], np.array([7]), LABELS, np.array([0.5]))
