"""MODEL_CARD.md from the run's metrics.json and config.json."""
from __future__ import annotations

import json
from pathlib import Path

NAMES = {
    "served": "**served** (encoder int8{blend})",
    "encoder_int8": "encoder alone (int8 ONNX)",
    "encoder_fp32": "encoder alone, full precision (PyTorch; what int8 costs)",
    "ngram": "hashed n-gram linear model (`ngram.json`)",
    "tfidf_svm": "TF-IDF word 1-2 + char 3-5, linear SVM (baseline)",
    "minilm_probe": "English all-MiniLM-L6-v2, frozen + logistic regression",
    "linear_head": "linear queue head on the int8 embeddings (part of the encoder output)",
    "knn_vote": "kNN vote over the training tickets' embeddings (part of the encoder output)",
    "previous_served": "the model this refit started from (`--from`), served as it was",
    "served_train_only": "served, heads and n-gram fitted on the training split only (before the train + validation refit)",
}

# Issue 14's targets for a model trained on several files, checked on the union and on each file's share.
ACCURACY_TARGET, MACRO_F1_TARGET, MARGIN_OVER_TFIDF, AUC_TARGET = 0.51, 0.45, 0.03, 0.80


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f} %"


def _f(x: float | None, nd: int = 3) -> str:
    return "–" if x is None else f"{x:.{nd}f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def targets(m: dict, cfg: dict) -> list[list[str]]:
    served, tfidf = m["served"], m["comparison"]["tfidf_svm"]
    langs = served["per_language"]
    en = langs.get("en", {}).get("accuracy")
    gaps = {k: v["accuracy"] - en for k, v in langs.items() if k != "en" and en is not None}
    u = m["urgency"]
    emergencies = [e["urgency"] >= m["alert"]["threshold"] for e in m["emergencies"]]
    lat = m["latency_ms_int8_1_thread"]["median"]
    size = sum(m["size_bytes"].values()) / 1e6
    rows = [
        ["served beats TF-IDF on accuracy and macro-F1",
         f"{served['accuracy']:.3f} / {served['macro_f1']:.3f} vs {tfidf['accuracy']:.3f} / {tfidf['macro_f1']:.3f}",
         _met(served["accuracy"] > tfidf["accuracy"] and served["macro_f1"] > tfidf["macro_f1"])],
        ["stretch: accuracy 0.55 / macro-F1 0.50", f"{served['accuracy']:.3f} / {served['macro_f1']:.3f}",
         _met(served["accuracy"] >= 0.55 and served["macro_f1"] >= 0.50)],
        ["de/es/fr/pt within 0.05 of English accuracy", ", ".join(f"{k} {g:+.3f}" for k, g in gaps.items()),
         _met(all(g >= -0.05 for g in gaps.values()))],
        ["urgency RMSE ≤ 0.22", f"{u['served']['rmse']:.3f} (constant mean {u['constant_mean']['rmse']:.3f})",
         _met(u["served"]["rmse"] <= 0.22)],
        ["urgency spreads over [0, 1]", f"p5 {u['percentiles']['5']:.2f} … p95 {u['percentiles']['95']:.2f}",
         _met(u["percentiles"]["5"] <= 0.2 and u["percentiles"]["95"] >= 0.8)],
        ["obvious emergencies above the alert threshold", f"{sum(emergencies)} of {len(emergencies)}", _met(all(emergencies))],
        ["encoder ECE ≤ 0.05 after temperature scaling", f"{m['encoder_calibration']['ece_after']:.4f} (served {served['ece']:.4f})",
         _met(m["encoder_calibration"]["ece_after"] <= 0.05)],
        ["int8 ≤ 15 ms median per ticket, 1 thread", f"{lat:.1f} ms", _met(lat <= 15)],
        ["int8 agrees with PyTorch ≥ 98 % (top-1, test)", f"{_pct(m['agreement_int8_vs_pytorch'])} (served blend {_pct(m['served_agreement_int8_vs_pytorch'])})",
         _met(m["agreement_int8_vs_pytorch"] >= 0.98)],
        ["model directory < 60 MB", f"{size:.1f} MB", _met(size < 60)],
    ]
    t = m.get("trimming")
    if t:
        rows.append(["vocabulary trimming costs ≤ 0.5 points", f"{t['cost_points']:.2f} points", _met(t["cost_points"] <= 0.5)])
    return rows


def per_file_section(m: dict, blend: bool) -> str:
    """Every input file's own held-back share beside the union (rows without a priority count for the queue only)."""
    files = m.get("files") or []
    if not files:
        return ""
    meta = m["data"]["files"]
    names = [Path(f["path"]).name for f in meta]
    out = ["## Each file's held-back split and the union\n",
           _table(["file", "rows", "train / val / test", "test rows with a priority"],
                  [[f"`{n}` (sha256 `{f['sha256'][:12]}…`)", str(f["rows"]),
                    f"{f['split']['train']} / {f['split']['val']} / {f['split']['test']}",
                    str(r["urgency"].get("rows_with_priority", 0))] for n, f, r in zip(names, meta, files, strict=True)]) + "\n"]
    cols = [*names, "union"]
    reports = [*files, {"comparison": m["comparison"], "urgency": m["urgency"]}]
    rows = []
    for k in m["comparison"]:
        label = NAMES.get(k, k).format(blend=" + n-gram blend" if blend else "")
        rows.append([label] + [f"{_f(r['comparison'][k]['accuracy'])} / {_f(r['comparison'][k]['macro_f1'])}" for r in reports])
    out.append("Queue accuracy / macro-F1 on each test share:\n")
    out.append(_table(["model", *cols], rows) + "\n")
    u_rows = []
    for k in ("served", "encoder", "ngram"):
        if all(k in r["urgency"] for r in reports if r["urgency"].get("rows_with_priority", 1)):
            u_rows.append([f"{k} urgency RMSE / ROC AUC high vs low"] + [
                "–" if not r["urgency"].get("rows_with_priority", 1) else
                f"{_f(r['urgency'][k]['rmse'])} / {_f(r['urgency']['auc_high_vs_low'][k])}" for r in reports])
    u_rows.append(["alerts: precision / recall (truly high)"] + [
        "–" if not r["urgency"].get("rows_with_priority", 1) else
        f"{_pct(r['urgency']['alert']['precision'])} / {_pct(r['urgency']['alert']['recall'])}" for r in reports])
    out.append(_table(["urgency (rows with a priority)", *cols], u_rows) + "\n")
    return "\n".join(out)


def render(m: dict, cfg: dict) -> str:
    blend = m["blend"]
    blend_txt = "" if blend is None else (
        f" blended with the n-gram model: queue weight {blend['queue_encoder_weight']:.2f}, "
        f"urgency weight {blend['urgency_encoder_weight']:.2f}, power temperature {blend['temperature']:.2f}")
    served = m["served"]
    comp = m["comparison"]
    labels = m["data"]["labels"]
    split = m["data"]["split"]
    tfidf = comp["tfidf_svm"]
    beats = served["accuracy"] > tfidf["accuracy"] and served["macro_f1"] > tfidf["macro_f1"]
    out: list[str] = []
    w = out.append
    w(f"# Triage model card — `{cfg['model_version']}`\n")
    w("Classifies a support ticket (subject + body) into one of the queues found in the training data and scores its "
      "urgency in [0, 1]. Served by the Triage worker from `onnx/model_quantized.onnx` (int8) with `tokenizer.json`"
      + (" and `ngram.json`" if blend else "") + ".\n")
    w("All figures below are measured by `npm run train` on the **held-back test split** "
      f"({split['test']} tickets the model never saw during training or calibration), in the same run.\n")

    w("## Model\n")
    w(f"- Base encoder: {cfg['base_model']} (`{cfg['base_model_type']}`), fine-tuned end to end (multi-task: queue, "
      "priority → urgency, plus auxiliary `type` and `tags` heads used only in training).")
    if cfg["encoder_layers"] != cfg["base_layers"]:
        w(f"- Layers: the base's first {cfg['encoder_layers']} of {cfg['base_layers']} (layer dropping before fine-tuning, "
          "for latency; Sajjad et al., 2023).")
    w(f"- Vocabulary: {cfg['vocab_size']} pieces after trimming (see below); max length {cfg['max_length']} tokens.")
    w(f"- Served prediction: encoder{blend_txt or ' alone (no blend: the n-gram model did not help on validation)'}.")
    w(f"- Calibration: temperature {m['temperature']:.3f} fitted on the validation split (inside the ONNX graph).")
    w(f"- Urgency = expected value of the priority distribution under the mapping {json.dumps(cfg['urgency_mapping'])}.")
    w(f"- Default alert threshold: **{cfg['alert_threshold']:.2f}**; actions AUTO_ROUTE ≥ "
      f"{cfg['action_thresholds']['auto_route']}, HUMAN_REVIEW ≥ {cfg['action_thresholds']['human_review']}, else ESCALATE.")
    hist = m["training"]["history"]
    w(f"- Training: {len(hist)} epoch(s), best epoch {m['training']['best_epoch']} by validation macro-F1; "
      f"config {json.dumps(m['training']['config'])}.\n")
    w(_table(["epoch", "train loss", "val accuracy", "val macro-F1", "val urgency RMSE", "seconds"],
             [[str(h["epoch"]), _f(h["train_loss"]), _f(h["val_accuracy"]), _f(h["val_macro_f1"]),
               _f(h["val_urgency_rmse"]), f"{h['seconds']:.0f}"] for h in hist]) + "\n")

    w("## Data\n")
    w(f"`{m['data']['path']}` (sha256 `{m['data']['sha256'][:16]}…`), {m['data']['rows']} rows, {len(labels)} queues, "
      f"priorities {', '.join(m['data']['priorities'])}. Stratified split with seed {split['seed']}: train {split['train']}, "
      f"validation {split['val']}, test {split['test']}.\n")
    w("Provenance: the public *Multilingual Customer Support Tickets* data set by Tobias Bueck (Hugging Face "
      "`Tobi-Bueck/customer-support-tickets`, doi:10.57967/hf/6184), **licensed CC BY-NC 4.0** — attribution required, "
      "no commercial use; this model is a derivative and carries the same restriction. The tickets are synthetic "
      "(generated) and their labels are noisy; priority is only weakly predictable from the text.\n")

    w(per_file_section(m, blend is not None))
    w("## Queue classification (test split)\n")
    verdict = "beats" if beats else "does **not** beat"
    w(f"The served prediction {verdict} the TF-IDF baseline of the same run on both accuracy and macro-F1.\n")
    w(_table(["model", "accuracy", "macro-F1", "weighted F1"],
             [[NAMES.get(k, k).format(blend=" + n-gram blend" if blend else ""), _f(c["accuracy"]), _f(c["macro_f1"]),
               _f(c["weighted_f1"])] for k, c in comp.items()]) + "\n")
    w("### Per class (served)\n")
    w(_table(["queue", "precision", "recall", "F1", "support"],
             [[q, _f(v["precision"]), _f(v["recall"]), _f(v["f1"]), str(v["support"])]
              for q, v in served["per_class"].items()]) + "\n")
    w("### Confusion matrix (served; rows = true, columns = predicted)\n")
    short = [f"{i}" for i in range(len(labels))]
    w(_table(["true \\ pred", *short], [[f"{i} {labels[i]}"] + [str(x) for x in row] for i, row in enumerate(served["confusion"])]) + "\n")
    w("### Accuracy per language\n")
    langs = sorted(served["per_language"])
    rows = [[NAMES.get(k, k).format(blend=" + n-gram blend" if blend else "")] +
            [_f(v[lang]["accuracy"]) for lang in langs] for k, v in m["per_language"].items()]
    w(_table(["model"] + [f"{lang} (n={served['per_language'][lang]['n']})" for lang in langs], rows) + "\n")
    en = served["per_language"].get("en", {}).get("accuracy")
    if en is not None:
        gaps = {lang: served["per_language"][lang]["accuracy"] - en for lang in langs if lang != "en"}
        w("Gap to English (served): " + ", ".join(f"{lang} {g:+.3f}" for lang, g in gaps.items()) +
          ". Languages with fewer than ~30 test tickets have wide error bars (±0.15 or more).\n")

    w("## Calibration and coverage\n")
    cal = m["encoder_calibration"]
    w(_table(["", "ECE (15 bins)", "NLL"], [
        ["encoder before temperature scaling", _f(cal["ece_before"]), _f(cal["nll_before"])],
        ["encoder after temperature scaling", _f(cal["ece_after"]), _f(cal["nll_after"])],
        ["served", _f(served["ece"]), _f(served["nll"])],
    ]) + "\n")
    w("Coverage: the share of test tickets at or above a confidence, and the accuracy on that share. "
      "The worker's AUTO_ROUTE / HUMAN_REVIEW thresholds read from this table.\n")
    w(_table(["confidence ≥", "share of tickets", "accuracy"],
             [[_f(r["min_confidence"], 2), _pct(r["share"]), _pct(r["accuracy"])] for r in served["coverage"]]) + "\n")

    u = m["urgency"]
    w("## Urgency\n")
    w(_table(["model", "RMSE", "MAE"], [[k.replace("_", " "), _f(v["rmse"]), _f(v["mae"])]
                                        for k, v in u.items() if isinstance(v, dict) and "rmse" in v]) + "\n")
    w("Served score by true priority: " + ", ".join(f"{p} {s:.2f}" for p, s in u["by_priority"].items()) +
      ". Percentiles: " + ", ".join(f"p{q} {v:.2f}" for q, v in u["percentiles"].items()) + ".\n")
    dist = u["distribution"]
    w(_table(["score bin"] + [f"{dist['edges'][i]:.1f}–{dist['edges'][i + 1]:.1f}" for i in range(len(dist["share"]))],
             [["share"] + [_pct(s) for s in dist["share"]]]) + "\n")
    a = m["alert"]
    w(f"Alert threshold **{a['threshold']:.2f}**, chosen on validation as the lowest threshold whose alerts are at least "
      f"{_pct(a.get('min_precision', 0.6))} "
      f"truly high priority (validation precision {_pct(a['validation']['precision'])}, recall {_pct(a['validation']['recall'])}). "
      f"On test: {a['test']['alerts']} alerts, precision {_pct(a['test']['precision'])}, recall "
      f"{_pct(a['test']['recall'])} of high-priority tickets (base rate {_pct(a['base_rate_test'])}).\n")
    w("Obvious emergencies written for this card (not from the data):\n")
    w(_table(["lang", "ticket subject", "urgency", "alerts?", "queue"],
             [[e["language"], e["subject"], _f(e["urgency"], 2), "yes" if e["urgency"] >= a["threshold"] else "**no**", e["queue"]]
              for e in m["emergencies"]]) + "\n")

    t = m.get("trimming")
    w("## Vocabulary trimming\n")
    if t:
        w(f"The {t['source_vocab']}-piece multilingual vocabulary was trimmed to {t['kept']} pieces: every piece the "
          "training text uses plus the highest-scoring unigram pieces (Ushio et al., 2023), so unseen words re-segment "
          f"instead of becoming `<unk>`. {t['test_tickets_resegmented']} of {t['test_tickets']} test tickets tokenise "
          "differently after trimming. Against the same fine-tuned encoder with the full vocabulary (rows the training "
          "text never used keep their pretrained values, exactly what full-vocabulary fine-tuning without weight decay "
          f"on embeddings yields): test accuracy {_f(t['accuracy_untrimmed'], 4)} untrimmed vs {_f(t['accuracy_trimmed'], 4)} "
          f"trimmed — a cost of **{t['cost_points']:.2f} points** (paired: only the untrimmed vocabulary is right on "
          f"{t['only_untrimmed_right']} tickets, only the trimmed one on {t['only_trimmed_right']}; every other ticket "
          "gets the same verdict).\n")
    else:
        w("Not applied (the base tokenizer is not a large Unigram vocabulary).\n")

    w("## Export\n")
    lat = m["latency_ms_int8_1_thread"]
    sm = m.get("smoothing") or {}
    if sm:
        w(f"- Activation smoothing before quantization (SmoothQuant, α chosen on validation by int8/PyTorch agreement): "
          f"α = {sm['alpha']}; validation agreement by α: " +
          ", ".join(f"{k} {_pct(v)}" for k, v in sm["validation_agreement"].items()) + ".")
    w(f"- int8 (dynamic quantization, onnxruntime) vs PyTorch top-1 agreement on test: **{_pct(m['agreement_int8_vs_pytorch'])}** "
      f"(the served blend's queue: {_pct(m['served_agreement_int8_vs_pytorch'])}); "
      f"fp32 ONNX vs PyTorch max |Δp| {m['fp32_onnx_max_abs_diff']:.1e}.")
    w(f"- int8 latency per ticket, onnxruntime (Python), 1 intra-op thread, each ticket at its own length: median "
      f"**{lat['median']:.1f} ms**, p95 {lat['p95']:.1f} ms (n = {lat['n']}; machine: 2 shared CPU cores).")
    mixed = m["mixed_precision_ffn_output_float"]
    w(f"- Measured alternative: the same graph with the feed-forward output projections kept in float (their input, "
      f"the GELU output, is the activation per-tensor int8 resolves worst): agreement {_pct(mixed['agreement'])}, "
      f"median {mixed['latency_ms']['median']:.1f} ms, {mixed['size_bytes'] / 1e6:.1f} MB. On this runtime the agreement "
      "target and the latency target pull against each other; the shipped file is the fully int8 one.")
    w("- Files: " + ", ".join(f"`{k}` {v / 1e6:.1f} MB" for k, v in m["size_bytes"].items()) + ".\n")

    w("## Targets\n")
    w("The issue's targets against this run's test split; a miss is reported as measured, not tuned away.\n")
    w(_table(["target", "measured", "met"], targets(m, cfg)) + "\n")

    w("## Limits\n")
    w("- Trained on synthetic tickets with noisy labels; expect lower accuracy on a real helpdesk's taxonomy until it is "
      "retrained on that helpdesk's tickets (`npm run train -- --data your.csv`).")
    w("- Rare queues (under ~100 training rows) have unstable per-class scores.")
    w(f"- Texts longer than {cfg['max_length']} tokens are truncated ({_pct(cfg['drift_reference']['truncated_share'])} of training tickets).")
    w("- `config.json` → `drift_reference` holds the training-split distributions of predicted queue, urgency and length "
      "for drift checks.")
    return "\n".join(out) + "\n"


def refit_targets(m: dict, cfg: dict) -> list[list[str]]:
    served, u, a = m["served"], m["urgency"], m["alert"]
    names = [Path(f["path"]).name for f in m["data"]["files"]]
    margins = [(n, f["comparison"]["served"]["accuracy"] - f["comparison"]["tfidf_svm"]["accuracy"])
               for n, f in zip(names, m["files"], strict=True)]
    auc = u["auc_high_vs_low"]["served"]
    emergencies = [e["urgency"] >= a["threshold"] for e in m["emergencies"]]
    lat = m["latency_ms_int8_1_thread"]
    size = sum(m["size_bytes"].values()) / 1e6
    return [
        [f"served queue accuracy ≥ {ACCURACY_TARGET} (union)", _f(served["accuracy"]), _met(served["accuracy"] >= ACCURACY_TARGET)],
        [f"served macro-F1 ≥ {MACRO_F1_TARGET} (union)", _f(served["macro_f1"]), _met(served["macro_f1"] >= MACRO_F1_TARGET)],
        [f"≥ +{MARGIN_OVER_TFIDF} accuracy over the same-run TF-IDF + SVM on each file's share",
         ", ".join(f"{n} {d:+.3f}" for n, d in margins), _met(all(d >= MARGIN_OVER_TFIDF for _, d in margins))],
        [f"urgency ROC AUC high vs low ≥ {AUC_TARGET} (union)", _f(auc), _met(auc is not None and auc >= AUC_TARGET)],
        [f"precision of truly high at the alert threshold ≥ {ALERT_TARGET_TEXT}",
         f"{_pct(a['test']['precision'])} ({a['test']['alerts']} alerts, threshold {a['threshold']:.2f})",
         _met(a["test"]["precision"] >= a["min_precision"])],
        ["the eight written emergencies alert", f"{sum(emergencies)} of {len(emergencies)}", _met(all(emergencies))],
        ["served ECE ≤ 0.05 (union)", _f(served["ece"], 4), _met(served["ece"] <= 0.05)],
        ["int8 ≤ 15 ms median per ticket, 1 thread", f"wall {lat['median']:.1f} ms, CPU {lat['cpu_median']:.1f} ms",
         _met(min(lat["median"], lat["cpu_median"]) <= 15)],
        ["int8 ONNX ≤ 60 MB (model directory)", f"{size:.1f} MB", _met(size <= 60)],
    ]


ALERT_TARGET_TEXT = "0.80"


def render_refit(m: dict, cfg: dict) -> str:
    """The card of `python -m training refit`: new heads on a frozen fine-tuned encoder."""
    blend, served, comp, r = m["blend"], m["served"], m["comparison"], m["refit"]
    ch, split = r["choice"], m["data"]["split"]
    out: list[str] = []
    w = out.append
    w(f"# Triage model card — `{cfg['model_version']}`\n")
    w("Classifies a support ticket (subject + body) into one of the queues found in the training data and scores its "
      "urgency in [0, 1]. Served by the Triage worker from `onnx/model_quantized.onnx` (int8) with `tokenizer.json` and "
      "`ngram.json`.\n")
    w(f"All figures are measured by `python -m training refit` on the **held-back test split of each input file** "
      f"({split['test']} tickets in all, never used for fitting or for any choice), in the same run.\n")
    w("## Model\n")
    # A refit with --layers keeps fewer layers than its source encoder was fine-tuned with.
    cut = r.get("layers", cfg["encoder_layers"]) != r.get("from_layers", cfg["encoder_layers"])
    w(f"- Encoder: the int8 graph of `{r['from_version']}` ({cfg['base_model']}, first {cfg['encoder_layers']} of "
      f"{cfg['base_layers']} layers, fine-tuned on tickets.csv's training split only), frozen and bit-identical"
      + (f" in the layers kept: that encoder was fine-tuned with {r['from_layers']} layers, and this model keeps its "
         f"first {r['layers']} (`--layers {r['layers']}`; the graph is cut after layer {r['layers']}, pooling reads its "
         "output)." if cut else "."))
    # A refit with --max-length reads fewer tokens than its source encoder was fine-tuned on.
    if r.get("max_length", cfg["max_length"]) != r.get("from_max_length", cfg["max_length"]):
        w(f"- Input: at most {r['max_length']} tokens per ticket (`--max-length {r['max_length']}`; the encoder was "
          f"fine-tuned on up to {r['from_max_length']}); the truncation was chosen on validation scores and latency "
          "(README, \"Model and training\").")
    if "validation_served" in ch:
        v = ch["validation_served"]
        w(f"- On the validation split (heads fitted on the training split), served: accuracy {v['accuracy']:.3f}, "
          f"macro-F1 {v['macro_f1']:.3f}, urgency ROC AUC high vs low "
          + ("–." if v["urgency_auc"] is None else f"{v['urgency_auc']:.3f}."))
    fitted_on = "the training and validation splits of every file" if r.get("refit_on_train_and_val") else \
        "the training split of every file"
    w(f"- New heads inside the same ONNX file, fitted on {fitted_on}: a linear queue head "
      f"(logistic regression, C {ch['linear_C']}, balanced classes) mixed with a kNN vote over the "
      f"{cfg['heads']['knn_memory_rows']} training tickets' embeddings (k {ch['knn_k']}, softmax temperature "
      f"{ch['knn_temperature']}; linear weight {ch['linear_weight']}), power temperature {cfg['temperature']:.3f} for "
      "calibration; a linear urgency head (priority classes → expected urgency, C "
      f"{ch.get('urgency_C', '–')}) trained on the rows that have a priority"
      + (f", mixed with a kNN vote of the same memory's rows that have a priority (k {ch['urgency_knn_k']}, softmax "
         f"temperature {ch['urgency_knn_temperature']}; linear weight {ch['urgency_linear_weight']})."
         if "urgency_knn_k" in ch else "."))
    w(f"- n-gram model retrained on {fitted_on} (its urgency part on rows with a priority only).")
    cmap = (blend or {}).get("confidence_map")
    w(f"- Served prediction: encoder blended with the n-gram model: queue weight {blend['queue_encoder_weight']:.2f}, "
      f"urgency weight {blend['urgency_encoder_weight']:.2f}, power temperature {blend['temperature']:.2f}"
      + (f", then a confidence map of the top probability ({len(cmap['x'])} knots, isotonic regression on "
         + ("5-fold out-of-fold served predictions over the fitted rows)." if r.get("refit_on_train_and_val") else
            "the validation split's served predictions).") if cmap else ".") if blend else
      "- Served prediction: the encoder alone.")
    if r.get("refit_on_train_and_val"):
        w("- Every setting above (head C, k, mix, blend, alert threshold) was chosen on the validation split of the files "
          "with heads fitted on the training split; the shipped heads, kNN memory and n-gram were then refitted on "
          f"train + validation ({r['fit_rows']} rows) with those settings, and the queue heads' power temperature was "
          "fitted on 5-fold out-of-fold predictions over those rows (cross-fitted calibration). The row *served, heads "
          "fitted on the training split only* below shows what the refit changed. Not done: re-fine-tuning the encoder "
          "on both files (see Limits).")
    else:
        w("- Every setting above (head C, k, mix, temperatures, blend, alert threshold) was chosen on the validation "
          "split of the files. Not done: refitting the heads on train + validation, and re-fine-tuning the encoder on "
          "both files (see Limits).")
    w(f"- Default alert threshold: **{cfg['alert_threshold']:.2f}**; actions AUTO_ROUTE ≥ "
      f"{cfg['action_thresholds']['auto_route']}, HUMAN_REVIEW ≥ {cfg['action_thresholds']['human_review']}, else ESCALATE.")
    w(f"- Fitting and evaluation took {r['seconds'] / 60:.1f} min on 2 shared CPU cores (the frozen encoder's outputs "
      "for every row are computed once and cached).\n")
    w("## Data\n")
    w(_table(["file", "sha256", "rows", "train / val / test"],
             [[f"`{Path(f['path']).name}`", f"`{f['sha256'][:16]}…`", str(f["rows"]),
               f"{f['split']['train']} / {f['split']['val']} / {f['split']['test']}"] for f in m["data"]["files"]]) + "\n")
    w(f"Each file is split on its own (stratified on queue × priority, a missing priority being its own stratum; seed "
      f"{split['seed']}); tickets.csv's split is exactly the previous model's, so its test rows are unseen by the "
      "encoder too. Rows without a priority train and test the queue only; no priority is ever made up.\n")
    w("Provenance: the public *Multilingual Customer Support Tickets* data set by Tobias Bueck (Hugging Face "
      "`Tobi-Bueck/customer-support-tickets`, doi:10.57967/hf/6184), **licensed CC BY-NC 4.0** — attribution required, "
      "no commercial use; this model is a derivative and carries the same restriction. The tickets are synthetic "
      "(generated) and their labels are noisy; priority is only weakly predictable from the text.\n")
    w(per_file_section(m, blend is not None))
    w("## Queue classification (union of the test splits)\n")
    w(_table(["model", "accuracy", "macro-F1", "weighted F1"],
             [[NAMES.get(k, k).format(blend=" + n-gram blend" if blend else ""), _f(c["accuracy"]), _f(c["macro_f1"]),
               _f(c["weighted_f1"])] for k, c in comp.items()]) + "\n")
    w("### Per class (served, union)\n")
    w(_table(["queue", "precision", "recall", "F1", "support"],
             [[q, _f(v["precision"]), _f(v["recall"]), _f(v["f1"]), str(v["support"])]
              for q, v in served["per_class"].items()]) + "\n")
    langs = sorted(served["per_language"])
    w("### Accuracy per language (union)\n")
    w(_table(["model"] + [f"{lang} (n={served['per_language'][lang]['n']})" for lang in langs],
             [[NAMES.get(k, k).format(blend=" + n-gram blend" if blend else "")] + [_f(v[lang]["accuracy"]) for lang in langs]
              for k, v in m["per_language"].items()]) + "\n")
    w("## Calibration and coverage (served, union)\n")
    w(f"ECE (15 bins) {_f(served['ece'], 4)}, NLL {_f(served['nll'])}.\n")
    w(_table(["confidence ≥", "share of tickets", "accuracy"],
             [[_f(c["min_confidence"], 2), _pct(c["share"]), _pct(c["accuracy"])] for c in served["coverage"]]) + "\n")
    u, a = m["urgency"], m["alert"]
    w("## Urgency (test rows with a priority)\n")
    w(_table(["model", "RMSE", "MAE", "ROC AUC high vs low"],
             [[k.replace("_", " "), _f(v["rmse"]), _f(v["mae"]), _f(u["auc_high_vs_low"].get(k))]
              for k, v in u.items() if isinstance(v, dict) and "rmse" in v]) + "\n")
    w("Served score by true priority: " + ", ".join(f"{p} {s:.2f}" for p, s in u["by_priority"].items()) +
      ". Percentiles: " + ", ".join(f"p{q} {v:.2f}" for q, v in u["percentiles"].items()) + ".\n")
    w(f"Alert threshold **{a['threshold']:.2f}**: the lowest threshold whose validation alerts are at least "
      f"{_pct(a['min_precision'])} truly high priority ({a['validation_choice']:.2f}), capped at the lowest score of the "
      f"written emergencies below ({a['emergency_cap']:.2f}) so that they alert (validation precision "
      f"{_pct(a['validation']['precision'])}, recall "
      f"{_pct(a['validation']['recall'])}). On test: {a['test']['alerts']} alerts, precision {_pct(a['test']['precision'])}, "
      f"recall {_pct(a['test']['recall'])} of high-priority tickets (base rate {_pct(a['base_rate_test'])}).\n")
    w("Obvious emergencies written for this card (not from the data):\n")
    w(_table(["lang", "ticket subject", "urgency", "alerts?", "queue"],
             [[e["language"], e["subject"], _f(e["urgency"], 2), "yes" if e["urgency"] >= a["threshold"] else "**no**", e["queue"]]
              for e in m["emergencies"]]) + "\n")
    lat, par = m["latency_ms_int8_1_thread"], m["onnx_parity"]
    w("## Export\n")
    w(f"- The heads run inside the ONNX graph on its own `embedding` output; graph vs the numpy heads the figures come "
      f"from, on {par['n']} test tickets: max |Δp| {par['queue_probs']:.1e}, max |Δurgency| {par['urgency']:.1e}. The "
      f"figures use embeddings computed in length-sorted batches of 16; int8 activation scales depend on the batch, so "
      f"a ticket run alone differs by up to {par['embedding_vs_batched']:.3f} per embedding component.")
    w(f"- Latency per ticket, onnxruntime (Python), 1 intra-op thread: median wall **{lat['median']:.1f} ms** (p95 "
      f"{lat['p95']:.1f}), median CPU time **{lat['cpu_median']:.1f} ms** (n = {lat['n']}; 2 CPU cores shared with "
      "other jobs during the run, so wall time includes waiting).")
    w("- Files: " + ", ".join(f"`{k}` {v / 1e6:.1f} MB" for k, v in m["size_bytes"].items()) + ".\n")
    w("## Targets\n")
    w("Issue 14's targets against this run's held-back rows; a miss is reported as measured, not tuned away.\n")
    w(_table(["target", "measured", "met"], refit_targets(m, cfg)) + "\n")
    w("## Limits\n")
    kept = f" first {r['layers']} layers" if cut else ""
    w(f"- The encoder is `{r['from_version']}`'s{kept}, unchanged: a refit replaces the heads, the kNN memory and the n-gram "
      "model only. A new encoder comes from `npm run train` (README, \"Model and training\", has what fine-tuning on "
      "both files measured against this refit).")
    if not r.get("refit_on_train_and_val"):
        w("- The heads were fitted on the training split only; refitting them on train + validation was not done.")
    a = m["alert"]
    if a["emergency_cap"] < a["validation_choice"]:
        w(f"- The alert threshold is capped at {a['emergency_cap']:.2f} by the lowest-scoring written emergency, below "
          f"the {a['validation_choice']:.2f} at which validation reaches {_pct(a['min_precision'])} precision: that cap "
          "is what the alert precision above pays for the emergencies alerting.")
    w("- Trained on synthetic tickets with noisy labels; rare queues (under ~100 training rows) have unstable scores.")
    w(f"- Texts longer than {cfg['max_length']} tokens are truncated ({_pct(cfg['drift_reference']['truncated_share'])} "
      "of training tickets).")
    return "\n".join(out) + "\n"


def write_card(out_dir: Path) -> Path:
    metrics = json.loads((out_dir / "metrics.json").read_text())
    config = json.loads((out_dir / "config.json").read_text())
    path = out_dir / "MODEL_CARD.md"
    path.write_text(render_refit(metrics, config) if metrics.get("kind") == "refit" else render(metrics, config))
    return path
