"""`python -m training refit`: new serving heads on an exported model's frozen int8 encoder, trained on several
files (rows without a priority train the queue heads only): a linear queue head, a kNN vote over the training
tickets' embeddings, a linear urgency head, and the n-gram model; every choice (head settings, mix, calibration,
blend, alert threshold) is made on the validation split; the card reports each file's held-back test split and
the union. Minutes on 2 CPU cores where fine-tuning takes hours."""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import multiprocessing
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from .baselines import tfidf_svm
from .card import write_card
from .data import URGENCY_MAPPING, Dataset, load_files, split_per_file
from .evaluate import ACTION_THRESHOLDS, EMERGENCY_TEXTS, content_hash, emergency_report, fit_blend, serve
from .export import OnnxPredictor
from .frozen import encode_with_model, frozen_outputs
from .heads import QueueHeads, UrgencyHead, attach_heads, fit_linear, knn_vote
from .metrics import alert_quality, classification, fit_confidence_map, fit_power_temperature, pick_alert_threshold
from .ngram import NgramModel, train_ngram
from .onnx_files import served_files
from .pipeline import replace_dir
from .report import (
    ALERT_MIN_PRECISION,
    distribution,
    file_reports,
    high_vs_low_auc,
    is_high,
    queue_report,
    token_length_reference,
    urgency_report,
)
from .truncate import keep_first_layers

log = logging.getLogger("training")

LINEAR_C = (1.0, 8.0)
# Low temperatures make the vote follow the nearest tickets: the generated tickets come in near-duplicate families
KNN = tuple((k, t) for k in (20, 50) for t in (0.01, 0.02, 0.05))
MIX = np.round(np.linspace(0, 1, 11), 2)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m training refit", description=__doc__)
    p.add_argument("--from", dest="source", type=Path, default=Path("models/triage"), help="exported model directory")
    p.add_argument("--data", type=Path, required=True, action="append", help="labelled tickets CSV; repeat for several")
    p.add_argument("--out", type=Path, default=Path("models/triage"))
    p.add_argument("--work-dir", type=Path, default=Path(".cache/runs/refit"))
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--layers", type=int, default=0,
                   help="keep only the source encoder's first N layers (cut from its int8 graph; 0 keeps them all)")
    p.add_argument("--max-length", type=int, default=0,
                   help="truncate tickets to N tokens, in the fit and in the shipped config.json (0 keeps the source's)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--train-only", action="store_true",
                   help="ship the heads fitted on the training split (default: refit them on train + validation with the "
                        "settings chosen on validation, calibration cross-fitted)")
    return p.parse_args(argv)


def score(y: np.ndarray, p: np.ndarray, labels: list[str]) -> float:
    c = classification(y, p.argmax(1), labels)
    return c["accuracy"] + c["macro_f1"]


def choose_queue_heads(emb: np.ndarray, y: np.ndarray, tr: np.ndarray, va: np.ndarray, labels: list[str], seed: int) -> tuple[QueueHeads, dict]:
    n = len(labels)
    linear = {c: fit_linear(emb[tr], y[tr], n, c, True, seed) for c in LINEAR_C}
    p_lin = {c: QueueHeads(w, b, emb[tr], y[tr], n, 1, 1.0, 1.0, 1.0).linear(emb[va]) for c, (w, b) in linear.items()}
    p_knn = {kt: knn_vote(emb[va], emb[tr], y[tr], n, kt[0], kt[1]) for kt in KNN}
    trials = {(c, kt, float(w)): score(y[va], w * p_lin[c] + (1 - w) * p_knn[kt], labels)
              for c in LINEAR_C for kt in KNN for w in MIX}
    (c, (k, t), w) = max(trials, key=lambda trial: trials[trial])
    mix = w * p_lin[c] + (1 - w) * p_knn[(k, t)]
    temperature = fit_power_temperature(mix, y[va])
    heads = QueueHeads(*linear[c], emb[tr], y[tr], n, k, t, w, temperature)
    log.info("queue heads: C %.1f, kNN k %d τ %.2f, linear weight %.1f, temperature %.3f (val acc+F1 %.4f)", c, k, t, w,
             temperature, trials[(c, (k, t), w)])
    return heads, {"linear_C": c, "knn_k": k, "knn_temperature": t, "linear_weight": w, "temperature": temperature,
                   "validation_score_by_trial": {f"C={a} k={b[0]} t={b[1]} w={d}": v for (a, b, d), v in trials.items()}}


def fit_urgency_head(emb: np.ndarray, ds, rows: np.ndarray, levels: list[str], choice: dict, seed: int,
                     memory: np.ndarray | None = None) -> UrgencyHead:
    """The linear part is fitted on the rows that have a priority only: a row without one never gets a made-up
    priority. The kNN vote's memory is every row of `rows` (the queue heads' memory), those without a priority
    never voting."""
    known = rows[ds.has_priority[rows]]
    level = {p: i for i, p in enumerate(levels)}
    y = np.array([level[ds.priorities[i]] for i in known])
    return UrgencyHead(*fit_linear(emb[known], y, len(levels), choice["urgency_C"], True, seed),
                       np.array([URGENCY_MAPPING[p] for p in levels]), emb[rows] if memory is None else memory,
                       np.asarray(ds.urgency, dtype=np.float64)[rows], choice["urgency_knn_k"],
                       choice["urgency_knn_temperature"], choice["urgency_linear_weight"])


def choose_urgency_head(emb: np.ndarray, ds, tr: np.ndarray, va: np.ndarray, levels: list[str], seed: int,
                        memory: np.ndarray) -> tuple[UrgencyHead, dict]:
    """Linear C, kNN k and temperature and their mix, by validation ROC AUC high vs low."""
    va_sub = ds.subset(va)
    first = {"urgency_C": LINEAR_C[0], "urgency_knn_k": KNN[0][0], "urgency_knn_temperature": KNN[0][1], "urgency_linear_weight": 1.0}
    linear = {c: fit_urgency_head(emb, ds, tr, levels, {**first, "urgency_C": c}, seed, memory) for c in LINEAR_C}
    u_lin = {c: head.linear(emb[va]) for c, head in linear.items()}
    u_knn = {kt: replace(linear[LINEAR_C[0]], k=kt[0], knn_temperature=kt[1]).knn(emb[va]) for kt in KNN}
    trials = {(c, kt, float(w)): high_vs_low_auc(va_sub, w * u_lin[c] + (1 - w) * u_knn[kt]) or 0.0
              for c in LINEAR_C for kt in KNN for w in MIX}
    (c, (k, t), w) = max(trials, key=lambda trial: trials[trial])
    log.info("urgency head: C %.1f, kNN k %d τ %.2f, linear weight %.1f (validation ROC AUC high vs low %.4f)", c, k, t, w,
             trials[(c, (k, t), w)])
    choice = {"urgency_C": c, "urgency_knn_k": k, "urgency_knn_temperature": t, "urgency_linear_weight": w}
    return replace(linear[c], k=k, knn_temperature=t, linear_weight=w), choice


def refit_queue_heads(emb: np.ndarray, y: np.ndarray, rows: np.ndarray, n: int, choice: dict, seed: int,
                      folds: int = 5) -> QueueHeads:
    """The validation-chosen heads refitted on `rows` (train + validation). Their power temperature is fitted on
    out-of-fold predictions (each fold's mix comes from heads and a kNN memory fitted without it), so calibration
    never sees a prediction made by a head that trained on the same row."""
    c, k, t, w = choice["linear_C"], choice["knn_k"], choice["knn_temperature"], choice["linear_weight"]
    parts = np.array_split(np.random.default_rng(seed).permutation(rows), folds)
    mixes, truth = [], []
    for f, held in enumerate(parts):
        fit = np.concatenate([part for g, part in enumerate(parts) if g != f])
        fold = QueueHeads(*fit_linear(emb[fit], y[fit], n, c, True, seed), emb[fit], y[fit], n, k, t, w, 1.0)
        mixes.append(w * fold.linear(emb[held]) + (1 - w) * fold.knn(emb[held]))
        truth.append(y[held])
    temperature = fit_power_temperature(np.vstack(mixes), np.concatenate(truth))
    log.info("queue heads refitted on %d rows, cross-fitted temperature %.3f (validation's %.3f)", len(rows), temperature,
             choice["temperature"])
    return QueueHeads(*fit_linear(emb[rows], y[rows], n, c, True, seed), emb[rows], y[rows], n, k, t, w, temperature)


@dataclass(frozen=True)
class Serving:
    """What a model serves on its frozen encoder's embeddings: the queue heads, the urgency head, the n-gram model
    and their blend, with the head settings chosen on validation (`choice`, urgency_C included)."""
    queue: QueueHeads
    urgency: UrgencyHead
    ngram: NgramModel
    blend: dict
    choice: dict

    def encoder(self, emb: np.ndarray, exclude_self: bool = False) -> dict[str, np.ndarray]:
        """`exclude_self` when `emb` is the kNN memory itself (e.g. the training distributions a drift check compares
        with): a ticket does not vote for itself, as no live ticket can."""
        return {"queue_probs": self.queue.probs(emb, exclude_self), "urgency": self.urgency(emb, exclude_self)}

    def serve(self, emb: np.ndarray, texts: list[str]) -> dict[str, np.ndarray]:
        return serve(self.encoder(emb), self.ngram.predict_proba(texts), self.ngram.predict_urgency(texts), self.blend)


@dataclass(frozen=True)
class NgramFitter:
    """Fits n-gram models, the slow step (~45 s per 5k rows on one core, single-threaded): several at once on
    `workers` processes, and reused from `cache` for the same rows, labels and seed. Every model goes through its
    JSON form, as the worker loads it, so the result does not depend on the number of workers or on the cache."""

    labels: list[str]
    seed: int
    cache: Path | None = None
    workers: int = 1

    def __call__(self, rows: Dataset) -> NgramModel:
        return self.many([rows])[0]

    def many(self, datasets: list[Dataset]) -> list[NgramModel]:
        log.info("n-gram model(s) on %s rows", ", ".join(str(len(d)) for d in datasets))
        jobs = [(d.texts, d.queues, d.urgency) for d in datasets]
        if self.workers <= 1 or len(jobs) == 1:
            fitted = [self.fit_json(*job) for job in jobs]
        else:  # spawn, not fork: the parent holds onnxruntime and BLAS threads
            with ProcessPoolExecutor(min(self.workers, len(jobs)), mp_context=multiprocessing.get_context("spawn")) as pool:
                fitted = list(pool.map(self.fit_json, *zip(*jobs, strict=True)))
        return [NgramModel.from_json(m) for m in fitted]

    def fit_json(self, texts: list[str], queues: np.ndarray, urgency: np.ndarray) -> dict:
        key = hashlib.sha256(json.dumps([texts, queues.tolist(), self.labels, np.nan_to_num(urgency, nan=-1).tolist(),
                                         self.seed]).encode()).hexdigest()[:16]
        path = self.cache / f"ngram-{key}.json" if self.cache else None
        if path and path.is_file():
            return json.loads(path.read_text())
        with threadpool_limits(limits=1):  # one core per fit; the parallelism is across fits
            model = train_ngram(texts, queues, self.labels, urgency, seed=self.seed).to_json()
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(model, separators=(",", ":")))
        return model


def choose_serving(emb: np.ndarray, ds: Dataset, tr: np.ndarray, va: np.ndarray, levels: list[str], seed: int,
                   ngram_of: NgramFitter) -> tuple[Serving, dict[str, np.ndarray], float]:
    """Every setting chosen with heads and n-gram model fitted on `tr` and judged on `va`: head settings, blend and
    the alert threshold reaching ALERT_MIN_PRECISION. Returns the fit, validation's served outputs and that threshold."""
    heads, choice = choose_queue_heads(emb, ds.queues, tr, va, ds.labels, seed)
    urgency_head, urgency_choice = choose_urgency_head(emb, ds, tr, va, levels, seed, heads.memory)
    choice.update(urgency_choice)
    val = ds.subset(va)
    ngram = ngram_of(ds.subset(tr))
    enc_val = {"queue_probs": heads.probs(emb[va]), "urgency": urgency_head(emb[va])}
    ng_val = (ngram.predict_proba(val.texts), ngram.predict_urgency(val.texts))
    blend: dict = fit_blend(val, enc_val, *ng_val)
    served_val = serve(enc_val, *ng_val, blend)
    # a --train-only model ships this map; a refit replaces it with one cross-fitted on train + validation
    blend["confidence_map"] = fit_confidence_map(served_val["queue_probs"], val.queues)
    fit = Serving(heads, urgency_head, ngram, blend, choice)
    fit.choice["validation_served"] = validation_served(val, served_val)
    log.info("validation, served: %s", fit.choice["validation_served"])
    has = val.has_priority
    return fit, served_val, pick_alert_threshold(served_val["urgency"][has], is_high(val)[has], min_precision=ALERT_MIN_PRECISION)


def validation_served(val: Dataset, served: dict[str, np.ndarray]) -> dict[str, float | None]:
    """What the chosen settings score on validation: the figures that compare one source encoder with another (e.g. how
    many of its layers to keep) without touching the test split."""
    c = classification(val.queues, served["queue_probs"].argmax(1), val.labels)
    return {"accuracy": c["accuracy"], "macro_f1": c["macro_f1"], "urgency_auc": high_vs_low_auc(val, served["urgency"])}


def refit_serving(fit: Serving, emb: np.ndarray, ds: Dataset, rows: np.ndarray, levels: list[str], seed: int,
                  ngram_of: NgramFitter) -> Serving:
    """The validation-chosen settings refitted on `rows` (train + validation): heads, kNN memory (cross-fitted
    temperature), urgency head and n-gram model; the blend stays the one chosen, with a cross-fitted confidence map."""
    folds = cross_folds(rows, seed)
    ngram, *fold_ngrams = ngram_of.many([ds.subset(rows), *(ds.subset(train) for train, _ in folds)])
    queue = refit_queue_heads(emb, ds.queues, rows, len(ds.labels), fit.choice, seed)
    refit = replace(fit, queue=queue, urgency=fit_urgency_head(emb, ds, rows, levels, fit.choice, seed, queue.memory), ngram=ngram)
    return replace(refit, blend={**fit.blend, "confidence_map": cross_fitted_confidence_map(refit, emb, ds, folds, fold_ngrams, seed)})


def cross_folds(rows: np.ndarray, seed: int, folds: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    """(fitted rows, held-out rows) for each of `folds` random folds of `rows`."""
    parts = np.array_split(np.random.default_rng(seed + 1).permutation(rows), folds)
    return [(np.sort(np.concatenate([p for g, p in enumerate(parts) if g != f])), held) for f, held in enumerate(parts)]


def cross_fitted_confidence_map(fit: Serving, emb: np.ndarray, ds: Dataset, folds: list[tuple[np.ndarray, np.ndarray]],
                                fold_ngrams: list[NgramModel], seed: int) -> dict[str, list[float]]:
    """The served blend's confidence map, fitted on out-of-fold served predictions: each fold is predicted by a queue
    head, kNN memory and n-gram model (`fold_ngrams`) fitted without it (with the refitted heads' settings), so the
    map never sees a prediction made by a model that trained on the same row."""
    q = fit.queue
    blend = {k: v for k, v in fit.blend.items() if k != "confidence_map"}
    probs, truth = [], []
    for (train, held), ngram in zip(folds, fold_ngrams, strict=True):
        coef, intercept = fit_linear(emb[train], ds.queues[train], q.n_labels, fit.choice["linear_C"], True, seed)
        heads = replace(q, coef=coef, intercept=intercept, memory=emb[train], memory_labels=ds.queues[train])
        texts = [ds.texts[i] for i in held]
        enc = {"queue_probs": heads.probs(emb[held]), "urgency": np.zeros(len(held))}
        probs.append(serve(enc, ngram.predict_proba(texts), ngram.predict_urgency(texts), blend)["queue_probs"])
        truth.append(ds.queues[held])
    cmap = fit_confidence_map(np.vstack(probs), np.concatenate(truth))
    log.info("confidence map cross-fitted on %d rows: %d knots", sum(len(h) for _, h in folds), len(cmap["x"]))
    return cmap


def emergency_cap(source: Path, fit: Serving, threads: int) -> float:
    """The highest alert threshold at which every written emergency still alerts: a threshold chosen for precision
    never goes above the lowest of their served urgencies."""
    emb = frozen_outputs(source, EMERGENCY_TEXTS, threads=threads, log=log.info)["embedding"].astype(np.float64)
    return float(np.floor(fit.serve(emb, EMERGENCY_TEXTS)["urgency"].min() * 100) / 100)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    t0 = time.time()
    ds, files = load_files(args.data)
    split = split_per_file(ds, seed=args.seed)
    tr, va, te = split.train, split.val, split.test
    src_cfg = json.loads((args.source / "config.json").read_text())
    if src_cfg["labels"] != ds.labels:
        raise SystemExit(f"{args.source}: its labels {src_cfg['labels']} differ from the data's {ds.labels}")
    levels = sorted({p for p in ds.priorities if p}, key=lambda p: URGENCY_MAPPING[p])
    encoder = encoder_source(args.source, src_cfg, args.layers, args.max_length, args.work_dir)
    enc_cfg = json.loads((encoder / "config.json").read_text())
    frozen = frozen_outputs(encoder, ds.texts, cache=args.work_dir, threads=args.threads, log=log.info)
    emb = frozen["embedding"].astype(np.float64)
    val, test = ds.subset(va), ds.subset(te)

    ngram_of = NgramFitter(ds.labels, args.seed, cache=args.work_dir, workers=args.threads)

    with threadpool_limits(limits=args.threads):
        # Every choice is made with heads fitted on the training split and judged on validation ...
        fit, served_val, chosen = choose_serving(emb, ds, tr, va, levels, args.seed, ngram_of)
        blend, choice = fit.blend, fit.choice
        has_val = val.has_priority
        served_train_only = fit.serve(emb[te], test.texts)
        # ... then, unless --train-only, the shipped heads, kNN memory and n-gram learn from train + validation
        # with those settings; the test split stays out of every fit and every choice.
        fit_rows = tr if args.train_only else np.sort(np.concatenate([tr, va]))
        fitted = ds.subset(fit_rows)
        if not args.train_only:
            fit = refit_serving(fit, emb, ds, fit_rows, levels, args.seed, ngram_of)
        heads, urgency_head, ngram, blend = fit.queue, fit.urgency, fit.ngram, fit.blend  # the refit's confidence map
        enc = {"test": fit.encoder(emb[te]), "train": fit.encoder(emb[fit_rows], exclude_self=True)}
        ng = {"test": (ngram.predict_proba(test.texts), ngram.predict_urgency(test.texts))}
        served_test = serve(enc["test"], *ng["test"], blend)
        cap = emergency_cap(encoder, fit, args.threads)
        threshold = min(chosen, cap)
        log.info("blend %s, alert threshold %.2f (validation choice %.2f, emergency cap %.2f)", blend, threshold, chosen, cap)
        previous_ngram = NgramModel.from_json(json.loads((args.source / "ngram.json").read_text()))
        if encoder == args.source:
            previous_enc = {"queue_probs": frozen["queue_probs"][te], "urgency": frozen["urgency"][te]}
        else:  # the source's own graph, all its layers, on the test rows only
            previous_enc = frozen_outputs(args.source, test.texts, cache=args.work_dir, threads=args.threads, log=log.info)
        previous_served = serve(previous_enc, previous_ngram.predict_proba(test.texts), previous_ngram.predict_urgency(test.texts), src_cfg["blend"])
        rows = {
            "served": served_test["queue_probs"].argmax(1),
            "encoder_int8": enc["test"]["queue_probs"].argmax(1),
            "linear_head": heads.linear(emb[te]).argmax(1),
            "knn_vote": heads.knn(emb[te]).argmax(1),
            "ngram": ng["test"][0].argmax(1),
            "tfidf_svm": tfidf_svm(fitted.texts, fitted.queues, test.texts, args.seed),
            "previous_served": previous_served["queue_probs"].argmax(1),
        }
        if not args.train_only:
            rows["served_train_only"] = served_train_only["queue_probs"].argmax(1)
    union = queue_report(test, rows, served_test["queue_probs"])
    for name, c in union["comparison"].items():
        log.info("test %s: accuracy %.4f macro-F1 %.4f", name, c["accuracy"], c["macro_f1"])
    urgency_scores = {"served": served_test["urgency"], "encoder": enc["test"]["urgency"], "ngram": ng["test"][1],
                      "previous_served": previous_served["urgency"]}
    if not args.train_only:
        urgency_scores["served_train_only"] = served_train_only["urgency"]
    train_mean = float(np.nanmean(fitted.urgency))
    urgency = urgency_report(test, urgency_scores, served_test["urgency"], threshold, train_mean)
    sizes = [{part: int((ds.source[getattr(split, part)] == i).sum()) for part in ("train", "val", "test")}
             for i in range(len(files))]
    reports = file_reports(test, files, sizes, rows, served_test["queue_probs"], urgency_scores, served_test["urgency"],
                           threshold, train_mean)

    final = args.out
    staging = final.parent / f".{final.name}.staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "onnx").mkdir(parents=True)
    try:
        onnx_path = staging / "onnx" / "model_quantized.onnx"
        attach_heads(encoder / src_cfg["onnx_file"], onnx_path, heads, urgency_head)
        shutil.copy2(encoder / "tokenizer.json", staging / "tokenizer.json")
        (staging / "ngram.json").write_text(json.dumps(ngram.to_json(), separators=(",", ":")))
        predictor = OnnxPredictor(onnx_path, src_cfg["model_inputs"], src_cfg["pad_token_id"], threads=1)
        # The graph's heads against the numpy heads the figures come from, on the graph's own embeddings.
        sample = [int(i) for i in te[:: max(1, len(te) // 64)]]
        out = predictor.predict(encode_with_model(encoder, [ds.texts[i] for i in sample]))
        parity = {"queue_probs": float(np.abs(out["queue_probs"] - heads.probs(out["embedding"].astype(np.float64))).max()),
                  "urgency": float(np.abs(out["urgency"] - urgency_head(out["embedding"].astype(np.float64))).max()),
                  "embedding_vs_batched": float(np.abs(out["embedding"] - frozen["embedding"][sample]).max()), "n": len(sample)}
        log.info("ONNX heads vs numpy: %s", parity)
        em_out = predictor.predict(encode_with_model(encoder, EMERGENCY_TEXTS))
        em = serve(em_out, ngram.predict_proba(EMERGENCY_TEXTS), ngram.predict_urgency(EMERGENCY_TEXTS), blend)
        emergencies = emergency_report(em, ds.labels)
        test_ids = encode_with_model(encoder, [ds.texts[i] for i in te[:200]])
        latency = latency_with_cpu(predictor, test_ids)
        files_out = served_files(staging, onnx_path)
        served_train = serve(enc["train"], ngram.predict_proba(fitted.texts), ngram.predict_urgency(fitted.texts), blend)
        lengths = np.array([len(x) for x in encode_with_model(encoder, fitted.texts)])
        config = {
            **enc_cfg,
            "model_version": content_hash(files_out),
            "alert_threshold": threshold,
            "action_thresholds": ACTION_THRESHOLDS,
            "temperature": heads.temperature,
            "blend": blend,
            "training_data": {"file": ", ".join(Path(f.path).name for f in files), "sha256": ds.sha256, "rows": len(ds),
                              "files": [{"file": Path(f.path).name, "sha256": f.sha256, "rows": f.rows} for f in files]},
            "heads": {"encoder_from": src_cfg["model_version"], "knn_memory_rows": len(heads.memory), **{
                k: v for k, v in choice.items() if k != "validation_score_by_trial"}},
            "drift_reference": {
                "predicted_queue_share": {label: float((served_train["queue_probs"].argmax(1) == i).mean())
                                          for i, label in enumerate(ds.labels)},
                "urgency": distribution(served_train["urgency"]),
                **token_length_reference(lengths, enc_cfg["max_length"]),
            },
        }
        first = reports[0]
        metrics = {
            "kind": "refit",
            "data": {"path": first["path"], "sha256": first["sha256"], "rows": len(ds), "labels": ds.labels,
                     "split": {"train": len(tr), "val": len(va), "test": len(te), "seed": args.seed,
                               "test_rows": first["split"]["test_rows"]},
                     "priorities": levels,
                     "files": [{k: f[k] for k in ("path", "sha256", "rows", "split")} for f in reports]},
            "refit": {"from": str(args.source), "from_version": src_cfg["model_version"], "choice": choice,
                      "from_layers": src_cfg["encoder_layers"], "layers": enc_cfg["encoder_layers"],
                      "from_max_length": src_cfg["max_length"], "max_length": enc_cfg["max_length"],
                      "refit_on_train_and_val": not args.train_only, "fit_rows": len(fit_rows), "seconds": None},
            "temperature": heads.temperature,
            "blend": blend,
            "comparison": union["comparison"],
            "served": union["served"],
            "per_language": union["per_language"],
            "urgency": urgency,
            "alert": {"threshold": threshold, "min_precision": ALERT_MIN_PRECISION, "validation_choice": chosen,
                      "emergency_cap": cap,
                      "validation": alert_quality(served_val["urgency"][has_val], is_high(val)[has_val], threshold),
                      "test": {k: v for k, v in urgency["alert"].items() if k != "base_rate"},
                      "base_rate_test": urgency["alert"]["base_rate"]},
            "files": [{k: v for k, v in f.items() if k not in ("path", "sha256", "rows", "split")} for f in reports],
            "emergencies": emergencies,
            "onnx_parity": parity,
            "latency_ms_int8_1_thread": latency,
            "size_bytes": {p.name: p.stat().st_size for p in files_out},
        }
        metrics["refit"]["seconds"] = time.time() - t0
        (staging / "config.json").write_text(json.dumps(config, indent=1, ensure_ascii=False))
        (staging / "metrics.json").write_text(json.dumps(metrics, indent=1))
        write_card(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    replace_dir(staging, final)
    log.info("wrote %s in %.0fs", final, time.time() - t0)


def encoder_source(source: Path, src_cfg: dict, layers: int, max_length: int, work_dir: Path) -> Path:
    """The model directory whose encoder the heads are fitted on: `source` itself, or a copy of it cut to its first
    `layers` layers and/or truncating at `max_length` tokens (kept under `work_dir`, named by the source's version)."""
    cut = bool(layers) and layers != src_cfg["encoder_layers"]
    shorter = bool(max_length) and max_length != src_cfg["max_length"]
    if not cut and not shorter:
        return source
    layers = layers if cut else src_cfg["encoder_layers"]
    max_length = max_length if shorter else src_cfg["max_length"]
    if max_length > src_cfg["max_length"]:
        raise SystemExit(f"--max-length {max_length}: the source was trained on at most {src_cfg['max_length']} tokens")
    out = work_dir / f"encoder-{src_cfg['model_version'].removeprefix('sha256:')}-{layers}-layers-{max_length}-tokens"
    if not (out / "config.json").is_file():
        try:
            keep_first_layers(source, layers, out)
        except ValueError as e:
            raise SystemExit(f"--layers {layers}: {e}") from e
        config = json.loads((out / "config.json").read_text())
        config["max_length"] = max_length
        (out / "config.json").write_text(json.dumps(config, indent=1, ensure_ascii=False))
    log.info("encoder: the first %d of %s's %d layers, at most %d tokens (%s)", layers, source, src_cfg["encoder_layers"],
             max_length, out)
    return out


def latency_with_cpu(predictor: OnnxPredictor, ids_list: list[list[int]]) -> dict[str, float]:
    """Wall-clock latency per ticket (one per run, 1 thread) and the CPU time it used: on a shared machine
    the CPU time is what the ticket costs, the wall time what the neighbours left."""
    for ids in ids_list[:10]:
        predictor.session.run(None, predictor._feed([ids]))
    wall, cpu = [], []
    for ids in ids_list:
        feed = predictor._feed([ids])
        t, c = time.perf_counter(), time.process_time()
        predictor.session.run(None, feed)
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return {"median": float(np.median(wall)), "p95": float(np.percentile(wall, 95)), "cpu_median": float(np.median(cpu)),
            "cpu_p95": float(np.percentile(cpu, 95)), "n": len(wall)}


if __name__ == "__main__":
    main()
