"""After fine-tuning: calibrate, export, quantize, blend with the n-gram model, evaluate, write models/triage."""
from __future__ import annotations

import copy
import hashlib
import json
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np
import onnx
import torch
from transformers import AutoConfig, AutoTokenizer

from .baselines import embedding_probe, tfidf_svm
from .bases import resolve_base
from .data import URGENCY_MAPPING, Dataset
from .export import FFN_OUTPUT, OnnxPredictor, export_onnx, quantize
from .finetune import Finetuner, encode_texts
from .import_base import base_name
from .metrics import (
    alert_quality,
    apply_confidence_map,
    classification,
    ece,
    fit_power_temperature,
    fit_temperature,
    nll,
    pick_alert_threshold,
    power_calibrate,
    regression,
    softmax,
)
from .model import ServingModel, load_encoder
from .ngram import NgramModel, train_ngram
from .onnx_files import save_model, served_files
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
from .smoothing import smooth_encoder
from .vocab_trim import TRIM_FILE, untrimmed_embeddings

ACTION_THRESHOLDS = {"auto_route": 0.85, "human_review": 0.70}

# Obvious emergencies in the five languages of the data; the card reports their scores.
EMERGENCIES = [
    ("en", "URGENT: production down", "Our production server is down and all customers are affected. Please help immediately."),
    ("en", "Security breach", "We detected a security breach: customer data has been exposed to an unknown attacker."),
    ("en", "Data loss", "After last night's update our database was wiped and we lost all customer records."),
    ("de", "Dringend: Server ausgefallen", "Unser Server ist komplett ausgefallen, kein Kunde kann sich mehr anmelden. Bitte sofort helfen!"),
    ("de", "Sicherheitsvorfall", "Es gab einen Sicherheitsvorfall, Kundendaten wurden gestohlen. Wir brauchen sofort Unterstützung."),
    ("es", "Urgente: servicio caído", "El servidor está caído desde esta mañana y hemos perdido datos de clientes. Necesitamos ayuda urgente."),
    ("fr", "Urgent : panne totale", "Panne totale de notre plateforme, aucun client ne peut se connecter et nous avons perdu des données."),
    ("pt", "Urgente: sistema fora do ar", "O sistema está fora do ar e houve uma violação de segurança com vazamento de dados dos clientes."),
]
EMERGENCY_TEXTS = [f"{subject}\n{body}" for _, subject, body in EMERGENCIES]


def emergency_report(served: dict[str, np.ndarray], labels: list[str]) -> list[dict]:
    """The card's row per written emergency: its served urgency and queue."""
    return [{"language": lang, "subject": s, "urgency": float(u), "queue": labels[int(p.argmax())]}
            for (lang, s, _), u, p in zip(EMERGENCIES, served["urgency"], served["queue_probs"], strict=True)]


def blend_probs(p_enc: np.ndarray, p_ng: np.ndarray, w: float, t: float) -> np.ndarray:
    return power_calibrate(w * p_enc + (1.0 - w) * p_ng, t)


def fit_blend(val: Dataset, enc: dict[str, np.ndarray], ng_p: np.ndarray, ng_u: np.ndarray) -> dict[str, float]:
    """Blend weights chosen on validation: queue weight by accuracy + macro-F1 (NLL breaks ties), urgency
    weight by ROC AUC high vs low (what alerting and the queue order rely on; RMSE breaks ties), then a power
    temperature so the blend's confidence stays calibrated."""
    def score(w: float) -> tuple[float, float]:
        p = w * enc["queue_probs"] + (1 - w) * ng_p
        c = classification(val.queues, p.argmax(1), val.labels)
        return c["accuracy"] + c["macro_f1"], -nll(p, val.queues)

    grid = np.round(np.linspace(0, 1, 21), 2)
    w = float(max(grid, key=score))
    has = val.has_priority
    def urgency_score(v: float) -> tuple[float, float]:
        u = v * enc["urgency"] + (1 - v) * ng_u
        return high_vs_low_auc(val, u) or 0.0, -regression(val.urgency[has], u[has])["rmse"]

    v = float(max(grid, key=urgency_score))
    t = fit_power_temperature(w * enc["queue_probs"] + (1 - w) * ng_p, val.queues)
    return {"queue_encoder_weight": w, "urgency_encoder_weight": v, "temperature": t}


def serve(enc: dict[str, np.ndarray], ng_p: np.ndarray, ng_u: np.ndarray, blend: dict | None) -> dict[str, np.ndarray]:
    if blend is None:
        return {"queue_probs": enc["queue_probs"], "urgency": enc["urgency"]}
    return {
        "queue_probs": apply_confidence_map(blend_probs(enc["queue_probs"], ng_p, blend["queue_encoder_weight"], blend["temperature"]),
                                            blend.get("confidence_map")),
        "urgency": blend["urgency_encoder_weight"] * enc["urgency"] + (1 - blend["urgency_encoder_weight"]) * ng_u,
    }


def content_hash(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return "sha256:" + h.hexdigest()[:16]


def trimming_cost(ft: Finetuner, source_base: Path, trimmed_base: Path, test: Dataset, max_length: int,
                  trimmed_pred: np.ndarray) -> dict | None:
    """Test accuracy of the same fine-tuned encoder with and without the trimmed vocabulary."""
    trim_file = trimmed_base / TRIM_FILE
    if not trim_file.is_file():
        return None
    kept = json.loads(trim_file.read_text())["kept_ids"]
    full_tok = AutoTokenizer.from_pretrained(source_base, local_files_only=True)
    full_ids = encode_texts(full_tok, test.texts, max_length)
    trimmed_ids = encode_texts(ft.tokenizer, test.texts, max_length)
    changed = [i for i, (a, b) in enumerate(zip(full_ids, trimmed_ids, strict=True)) if a != [kept[j] for j in b]]
    untrimmed_pred = trimmed_pred.copy()
    if changed:
        full = copy.deepcopy(ft.model)
        source = load_encoder(source_base).get_input_embeddings().weight.data
        weight = untrimmed_embeddings(ft.model.encoder.get_input_embeddings().weight.data, source, kept)
        full.encoder.set_input_embeddings(torch.nn.Embedding.from_pretrained(weight, freeze=True))
        saved, ft.model = ft.model, full
        try:
            out = ft.predict([full_ids[i] for i in changed])
        finally:
            ft.model = saved
        untrimmed_pred[changed] = out["queue_logits"].argmax(1)
    right_trimmed, right_full = trimmed_pred == test.queues, untrimmed_pred == test.queues
    acc_trim, acc_full = float(right_trimmed.mean()), float(right_full.mean())
    return {"source_vocab": int(json.loads(trim_file.read_text())["source_vocab_size"]), "kept": len(kept),
            "test_tickets_resegmented": len(changed), "test_tickets": len(test),
            # the paired view: a cost of a few tickets either way is noise on a split this size
            "only_untrimmed_right": int((right_full & ~right_trimmed).sum()),
            "only_trimmed_right": int((right_trimmed & ~right_full).sum()),
            "accuracy_trimmed": acc_trim, "accuracy_untrimmed": acc_full, "cost_points": 100 * (acc_full - acc_trim)}


def finalize(args, prep, ft: Finetuner, log) -> dict:
    ds, split = prep.ds, prep.split
    train, val, test = ds.subset(split.train), ds.subset(split.val), ds.subset(split.test)
    out_dir: Path = args.out
    scores = [URGENCY_MAPPING[p] for p in prep.priority_levels]

    test_ids = encode_texts(ft.tokenizer, test.texts, args.max_length)
    torch_val, torch_test = ft.predict(ft.val_ids), ft.predict(test_ids)
    temperature = fit_temperature(torch_val["queue_logits"], val.queues)
    log(f"temperature {temperature:.3f}")

    int8 = out_dir / "onnx" / "model_quantized.onnx"
    smoothing = choose_smoothing(ft, temperature, scores, torch_val, args.work_dir, int8, args.threads, log)
    fp32, names = smoothing.pop("fp32"), smoothing.pop("names")
    predictor = OnnxPredictor(int8, names, ft.pad_id, threads=args.threads)
    enc_val, enc_test = predictor.predict(ft.val_ids), predictor.predict(test_ids)
    fp32_test = OnnxPredictor(fp32, names, ft.pad_id, threads=args.threads).predict(test_ids)
    agreement = float((enc_test["queue_probs"].argmax(1) == torch_test["queue_logits"].argmax(1)).mean())
    fp32_max_diff = float(np.abs(fp32_test["queue_probs"] - softmax(torch_test["queue_logits"], temperature)).max())
    log(f"int8 vs PyTorch top-1 agreement on test: {agreement:.4f}; fp32 ONNX max |Δp| {fp32_max_diff:.2e}")
    mixed = mixed_precision(fp32, names, ft.pad_id, args.work_dir, test_ids, torch_test)
    log(f"int8 with float FFN outputs: agreement {mixed['agreement']:.4f}, median {mixed['latency_ms']['median']:.1f} ms")

    ngram = train_ngram(train.texts, train.queues, ds.labels, train.urgency, seed=args.seed)  # urgency: rows with a priority
    ng = {name: (ngram.predict_proba(d.texts), ngram.predict_urgency(d.texts)) for name, d in (("val", val), ("test", test))}
    fitted = fit_blend(val, enc_val, *ng["val"])
    encoder_only = fitted["queue_encoder_weight"] >= 1.0 and fitted["urgency_encoder_weight"] >= 1.0
    blend = None if encoder_only else fitted
    log(f"blend {blend}")
    served_val = serve(enc_val, *ng["val"], blend)
    served_test = serve(enc_test, *ng["test"], blend)
    # What users get: the served blend computed from the int8 encoder vs from the PyTorch encoder.
    torch_served = serve({"queue_probs": softmax(torch_test["queue_logits"], temperature), "urgency": enc_test["urgency"]},
                         *ng["test"], blend)
    served_agreement = float((served_test["queue_probs"].argmax(1) == torch_served["queue_probs"].argmax(1)).mean())

    threshold = pick_alert_threshold(served_val["urgency"][val.has_priority], is_high(val)[val.has_priority],
                                     min_precision=ALERT_MIN_PRECISION)
    log(f"alert threshold {threshold:.2f}")

    rows = {
        "served": served_test["queue_probs"].argmax(1),
        "encoder_int8": enc_test["queue_probs"].argmax(1),
        "encoder_fp32": torch_test["queue_logits"].argmax(1),
        "ngram": ng["test"][0].argmax(1),
        "tfidf_svm": tfidf_svm(train.texts, train.queues, test.texts, args.seed),
    }
    if not args.no_minilm:
        rows["minilm_probe"] = embedding_probe(resolve_base(args.minilm), train.texts, train.queues, test.texts, args.max_length, args.seed)
    union = queue_report(test, rows, served_test["queue_probs"])
    for name, c in union["comparison"].items():
        log(f"test {name}: accuracy {c['accuracy']:.4f} macro-F1 {c['macro_f1']:.4f}")

    tokenizer_src = prep.base / "tokenizer.json"
    shutil.copy2(tokenizer_src, out_dir / "tokenizer.json")
    (out_dir / "ngram.json").write_text(json.dumps(ngram.to_json(), separators=(",", ":")))

    emergencies = _emergencies(ft, predictor, ngram, blend, args.max_length)
    train_ids = ft.train_ids
    enc_train = predictor.predict(train_ids)
    served_train = serve(enc_train, ngram.predict_proba(train.texts), ngram.predict_urgency(train.texts), blend)
    latency = OnnxPredictor(int8, names, ft.pad_id, threads=1).latency_ms(test_ids[:200])

    urgency_scores = {"served": served_test["urgency"], "encoder": enc_test["urgency"], "ngram": ng["test"][1]}
    train_mean = float(np.nanmean(train.urgency))
    urgency = urgency_report(test, urgency_scores, served_test["urgency"], threshold, train_mean)
    has_val = val.has_priority
    sizes = [{part: int((ds.source[getattr(split, part)] == i).sum()) for part in ("train", "val", "test")}
             for i in range(len(prep.files))]
    files = file_reports(test, prep.files, sizes, rows, served_test["queue_probs"], urgency_scores,
                         served_test["urgency"], threshold, train_mean)
    first = files[0]
    metrics = {
        # `path`/`sha256`/`split.test_rows` name the first file (demo and checks read them); `files` has them all.
        "data": {"path": first["path"], "sha256": first["sha256"], "rows": len(ds), "labels": ds.labels,
                 "split": {"train": len(train), "val": len(val), "test": len(test), "seed": args.seed,
                           "test_rows": first["split"]["test_rows"]},
                 "priorities": prep.priority_levels,
                 "files": [{k: f[k] for k in ("path", "sha256", "rows", "split")} for f in files]},
        "training": {"base": str(prep.source_base), "trimmed_base": str(prep.base), "max_length": args.max_length,
                     "history": [asdict(h) for h in ft.state.history], "best_epoch": ft.state.best_epoch,
                     "config": asdict(ft.cfg)},
        "temperature": temperature,
        "blend": blend,
        "agreement_int8_vs_pytorch": agreement,
        "served_agreement_int8_vs_pytorch": served_agreement,
        "mixed_precision_ffn_output_float": mixed,
        "fp32_onnx_max_abs_diff": fp32_max_diff,
        "smoothing": smoothing,
        "comparison": union["comparison"],
        "served": union["served"],
        "encoder_calibration": {
            "ece_before": ece(softmax(torch_test["queue_logits"]), test.queues),
            "ece_after": ece(enc_test["queue_probs"], test.queues),
            "nll_before": nll(softmax(torch_test["queue_logits"]), test.queues),
            "nll_after": nll(enc_test["queue_probs"], test.queues),
        },
        "per_language": union["per_language"],
        "urgency": urgency,
        "alert": {"threshold": threshold, "min_precision": ALERT_MIN_PRECISION,
                  "validation": alert_quality(served_val["urgency"][has_val], is_high(val)[has_val], threshold),
                  "test": {k: v for k, v in urgency["alert"].items() if k != "base_rate"},
                  "base_rate_test": urgency["alert"]["base_rate"]},
        "files": [{k: v for k, v in f.items() if k not in ("path", "sha256", "rows", "split")} for f in files],
        "emergencies": emergencies,
        "trimming": trimming_cost(ft, prep.source_base, prep.base, test, args.max_length, torch_test["queue_logits"].argmax(1)),
        "latency_ms_int8_1_thread": latency,
        "size_bytes": {p.name: p.stat().st_size for p in served_files(out_dir, int8)},
    }
    write_config(out_dir, args, prep, ft, names, temperature, threshold, blend, served_train, train_ids, train, ds)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
    return metrics


SMOOTHING_ALPHAS = (None, 0.5, 0.6, 0.7, 0.8, 0.9)


def choose_smoothing(ft: Finetuner, temperature: float, scores: list[float], torch_val: dict[str, np.ndarray],
                     work_dir: Path, int8: Path, threads: int, log) -> dict:
    """Exports and quantizes the serving graph with each smoothing strength (None = plain dynamic int8) and
    keeps the one whose int8 top-1 agrees best with PyTorch on the validation split."""
    reference = torch_val["queue_logits"].argmax(1)
    calibration = ft.train_ids[:: max(1, len(ft.train_ids) // 256)]
    by_alpha: dict[str, float] = {}
    best: tuple[float, str] | None = None
    for alpha in SMOOTHING_ALPHAS:
        model = copy.deepcopy(ft.model).eval()
        if alpha is not None:
            smooth_encoder(model.encoder, model.pooled, calibration, ft.pad_id, alpha=alpha)
        tag = "none" if alpha is None else f"{alpha:.2f}"
        fp32 = work_dir / f"model-smooth-{tag}.fp32.onnx"
        names = export_onnx(ServingModel(model, temperature, scores), fp32, ft.pad_id)
        candidate = work_dir / f"model-smooth-{tag}.int8.onnx"
        quantize(fp32, candidate)
        pred = OnnxPredictor(candidate, names, ft.pad_id, threads=threads).predict(ft.val_ids)["queue_probs"].argmax(1)
        by_alpha[tag] = float((pred == reference).mean())
        log(f"smoothing alpha {tag}: int8 vs PyTorch agreement on validation {by_alpha[tag]:.4f}")
        if best is None or by_alpha[tag] > best[0]:
            best = (by_alpha[tag], tag)
    assert best is not None
    tag = best[1]
    save_model(onnx.load(str(work_dir / f"model-smooth-{tag}.int8.onnx")), int8)
    return {"alpha": None if tag == "none" else float(tag), "validation_agreement": by_alpha,
            "fp32": work_dir / f"model-smooth-{tag}.fp32.onnx", "names": names}


def mixed_precision(fp32: Path, names: list[str], pad_id: int, work_dir: Path, test_ids: list[list[int]],
                    torch_test: dict[str, np.ndarray]) -> dict:
    """The alternative the card weighs against the shipped file: the same graph with the feed-forward output
    projections left in float, measured for agreement, latency and size."""
    path = work_dir / "model-ffn-output-float.onnx"
    quantize(fp32, path, keep_float=FFN_OUTPUT)
    predictor = OnnxPredictor(path, names, pad_id, threads=1)
    pred = predictor.predict(test_ids)["queue_probs"].argmax(1)
    return {"agreement": float((pred == torch_test["queue_logits"].argmax(1)).mean()),
            "latency_ms": predictor.latency_ms(test_ids[:200]), "size_bytes": path.stat().st_size}


def _emergencies(ft: Finetuner, predictor: OnnxPredictor, ngram: NgramModel, blend, max_length: int) -> list[dict]:
    ids = encode_texts(ft.tokenizer, EMERGENCY_TEXTS, max_length)
    served = serve(predictor.predict(ids), ngram.predict_proba(EMERGENCY_TEXTS), ngram.predict_urgency(EMERGENCY_TEXTS), blend)
    return emergency_report(served, ft.train.labels)


def write_config(out_dir: Path, args, prep, ft: Finetuner, names: list[str], temperature: float, threshold: float,
                 blend, served_train: dict[str, np.ndarray], train_ids: list[list[int]], train: Dataset, ds: Dataset) -> None:
    files = served_files(out_dir, out_dir / "onnx" / "model_quantized.onnx")
    lengths = np.array([len(x) for x in train_ids])
    pred = served_train["queue_probs"].argmax(1)
    encoder_cfg = ft.model.encoder.config
    config = {
        "model_version": content_hash(files),
        "labels": ds.labels,
        "max_length": args.max_length,
        "pad_token_id": ft.pad_id,
        "model_inputs": names,
        "onnx_file": "onnx/model_quantized.onnx",
        "hidden_size": encoder_cfg.hidden_size,
        "alert_threshold": threshold,
        "action_thresholds": ACTION_THRESHOLDS,
        "temperature": temperature,
        "urgency_mapping": {p: URGENCY_MAPPING[p] for p in prep.priority_levels},
        "blend": blend,
        "base_model": base_name(prep.source_base),
        "base_model_type": encoder_cfg.model_type,
        "encoder_layers": encoder_cfg.num_hidden_layers,
        "base_layers": AutoConfig.from_pretrained(prep.base, local_files_only=True).num_hidden_layers,
        "vocab_size": encoder_cfg.vocab_size,
        "training_data": {"file": ", ".join(Path(f.path).name for f in prep.files), "sha256": ds.sha256, "rows": len(ds),
                          "files": [{"file": Path(f.path).name, "sha256": f.sha256, "rows": f.rows} for f in prep.files]},
        "drift_reference": {
            "predicted_queue_share": {label: float((pred == i).mean()) for i, label in enumerate(ds.labels)},
            "urgency": distribution(served_train["urgency"]),
            **token_length_reference(lengths, args.max_length),
        },
    }
    (out_dir / "config.json").write_text(json.dumps(config, indent=1, ensure_ascii=False))
