"""`python -m training train --quick --data a.csv --data b.csv ...`: the same-day path.

The encoder stays frozen: its features (the served graph's mean-pooled embedding) come from the
active model directory's int8 ONNX. On top of them this refits what minutes on 2 CPU cores allow, with
the shipped model's head type (`refit.py`): a linear queue head mixed with a kNN vote over the labelled
tickets (so a consistent correction is recalled by its neighbours at once), an urgency head, the n-gram
model and the blend, all chosen on validation and then refitted on train + validation; and writes a new
model version (content hash) with its own card. The full fine-tune stays the nightly path.
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .data import URGENCY_MAPPING, DataFile, Dataset, Split, load_files, split_per_file
from .evaluate import content_hash, serve
from .frozen import encode_with_model, frozen_outputs
from .heads import attach_heads
from .ngram import NgramModel
from .onnx_files import served_files
from .refit import NgramFitter, choose_serving, emergency_cap, refit_serving
from .report import ALERT_MIN_PRECISION, distribution, queue_report, token_length_reference, urgency_report

log = logging.getLogger("training.quick")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m training train --quick", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, action="append",
                   help="labelled CSV (body, queue[, subject, priority, language]); repeat for several files. When the "
                        "same ticket text is in several files, the last file's label wins (put corrections last)")
    p.add_argument("--from", dest="base_model", type=Path, default=Path("models/triage"),
                   help="model directory whose frozen encoder and tokenizer the new version reuses (the active one)")
    p.add_argument("--out", type=Path, required=True, help="directory of the new model version")
    p.add_argument("--work-dir", type=Path, default=Path(".cache/quick"), help="cache of frozen encoder outputs")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args(argv)


def last_file_wins(ds: Dataset) -> Dataset:
    """Drops rows whose text a later file (or a later row) labels again: a correction overrides the data file."""
    keep: dict[str, int] = {}
    for i, text in enumerate(ds.texts):
        keep[" ".join(text.lower().split())] = i
    return ds.subset(np.array(sorted(keep.values()), dtype=np.int64))


def split_like_base(ds: Dataset, files: list[DataFile], base_metrics: dict, seed: int) -> Split:
    """Each file split on its own, except that a file the base model was trained on (same sha256) keeps the
    base's held-back rows: the new version then learns from every row the base learned from, and its card's
    before/after is measured on rows neither model saw. Validation rows are drawn from the rest as usual."""
    fresh = split_per_file(ds, seed=seed)
    known = {f["sha256"]: set(f["split"]["test_rows"]) for f in base_metrics.get("data", {}).get("files") or base_metrics.get("files") or []
             if f.get("sha256") and "test_rows" in f.get("split", {})}
    in_test = np.array([int(ds.source_row[r]) in known[files[int(ds.source[r])].sha256]
                        if files[int(ds.source[r])].sha256 in known else False for r in range(len(ds))], dtype=bool)
    reused = np.array([files[int(ds.source[r])].sha256 in known for r in range(len(ds))], dtype=bool)
    test = np.flatnonzero(np.where(reused, in_test, np.isin(np.arange(len(ds)), fresh.test)))
    val = np.setdiff1d(fresh.val, test)
    train = np.setdiff1d(np.arange(len(ds)), np.concatenate([test, val]))
    return Split(train, val, test)


def write_heldback(path: Path, test: Dataset, files: list[DataFile]) -> None:
    """The held-back rows themselves, so `npm run model -- compare` can score any model on them later."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["subject", "body", "queue", "priority", "language", "source"])
        for i in range(len(test)):
            body = test.texts[i].replace("\r\n", "\n").replace("\n", "\\n")
            w.writerow(["", body, test.labels[test.queues[i]], test.priorities[i], test.languages[i],
                        Path(files[int(test.source[i])].path).name])


def card(m: dict, cfg: dict) -> str:
    lines = [f"# Model card — {cfg['model_version']} (quick retrain)", "",
             f"Quick retrain of `{m['base']['model_version']}` on {datetime.fromisoformat(cfg['trained_at']).strftime('%Y-%m-%d %H:%M UTC')}: "
             "frozen encoder, new queue and priority heads on its embedding, new n-gram model and blend "
             f"({m['seconds']:.0f} s on {m['threads']} threads). Every figure below is on held-back rows no choice of this run saw.", "",
             "| data file | rows | train | val | test |", "|---|---|---|---|---|"]
    for f in m["files"]:
        s = f["split"]
        lines.append(f"| {Path(f['path']).name} | {f['rows']} | {s['train']} | {s['val']} | {len(s['test_rows'])} |")
    lines += ["", "| held-back rows | n | base accuracy | new accuracy | base macro-F1 | new macro-F1 |", "|---|---|---|---|---|---|"]
    for name, r in [("union", m["union"]), *[(Path(f["path"]).name, f) for f in m["files"]]]:
        b, n = r["before"], r["served"]
        lines.append(f"| {name} | {r['rows']} | {b['accuracy']:.3f} | {n['accuracy']:.3f} | {b['macro_f1']:.3f} | {n['macro_f1']:.3f} |")
    u = m["union"]["urgency"]
    if u.get("rows_with_priority"):
        a = u["alert"]
        lines += ["", f"Urgency on {u['rows_with_priority']} held-back rows with a priority: served RMSE {u['served']['rmse']:.3f}; "
                  f"alert threshold {cfg['alert_threshold']:.2f} (validation) → precision {a['precision']:.3f}, recall {a['recall']:.3f} "
                  f"({a['alerts']} alerts, base rate {a['base_rate']:.3f})."]
    h = m["heads"]
    lines += ["", f"Heads (chosen on validation, then refitted on train + validation, {h['fit_rows']} rows): linear C {h['linear_C']} "
              f"mixed with a kNN vote (k {h['knn_k']}, τ {h['knn_temperature']}) at linear weight {h['linear_weight']}, "
              f"cross-fitted temperature {cfg['temperature']:.3f}; urgency head C {h['urgency_C']} mixed with a kNN vote "
              f"(k {h['urgency_knn_k']}, τ {h['urgency_knn_temperature']}) at linear weight {h['urgency_linear_weight']}. Blend: {json.dumps(cfg['blend'])}.", "",
              "Per queue (held-back union, new model):", "", "| queue | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for q, r in m["union"]["served"]["per_class"].items():
        lines.append(f"| {q} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {r['support']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    t0 = time.time()
    base_dir: Path = args.base_model
    base_cfg = json.loads((base_dir / "config.json").read_text())

    ds, files = load_files(args.data)
    before = len(ds)
    ds = last_file_wins(ds)
    log.info("%d rows from %d files (%d superseded by a later file's label)", len(ds), len(files), before - len(ds))
    base_metrics_path = base_dir / "metrics.json"
    split = split_like_base(ds, files, json.loads(base_metrics_path.read_text()) if base_metrics_path.is_file() else {}, args.seed)
    train, val, test = ds.subset(split.train), ds.subset(split.val), ds.subset(split.test)
    log.info("split train %d / val %d / test %d", len(train), len(val), len(test))

    log.info("frozen encoder features of %s", base_dir)
    enc = frozen_outputs(base_dir, ds.texts, cache=args.work_dir, threads=args.threads, log=log.info)
    emb = enc["embedding"].astype(np.float64)
    labels = ds.labels
    levels = sorted({p for p in ds.priorities if p}, key=lambda p: URGENCY_MAPPING[p])

    ngram_of = NgramFitter(labels, args.seed, workers=args.threads)

    # Every setting is chosen with heads fitted on the training split and judged on validation ...
    fit, _, chosen = choose_serving(emb, ds, split.train, split.val, levels, args.seed, ngram_of)
    # ... then the heads, their kNN memory and the n-gram model learn from train + validation with those
    # settings, so corrections in the validation share count too; the test split stays out of everything.
    fit_rows = np.sort(np.concatenate([split.train, split.val]))
    fitted = ds.subset(fit_rows)
    fit = refit_serving(fit, emb, ds, fit_rows, levels, args.seed, ngram_of)
    queue_heads, urgency_head, ngram, blend = fit.queue, fit.urgency, fit.ngram, fit.blend
    threshold = min(chosen, emergency_cap(base_dir, fit, args.threads))
    log.info("alert threshold %.2f (validation choice %.2f)", threshold, chosen)

    def heads(rows: np.ndarray, exclude_self: bool = False) -> dict[str, np.ndarray]:
        return fit.encoder(emb[rows], exclude_self)

    ng = {name: (ngram.predict_proba(d.texts), ngram.predict_urgency(d.texts)) for name, d in (("test", test), ("fitted", fitted))}
    served_test = serve(heads(split.test), *ng["test"], blend)

    out: Path = args.out
    if out.exists():
        shutil.rmtree(out)
    onnx_path = out / "onnx" / "model_quantized.onnx"
    onnx_path.parent.mkdir(parents=True)
    attach_heads(base_dir / base_cfg.get("onnx_file", "onnx/model_quantized.onnx"), onnx_path, queue_heads, urgency_head)
    shutil.copy2(base_dir / "tokenizer.json", out / "tokenizer.json")
    (out / "ngram.json").write_text(json.dumps(ngram.to_json(), separators=(",", ":")))

    before_test = base_served(base_dir, base_cfg, test, enc, split.test)
    fitted_served = serve(heads(fit_rows, exclude_self=True), *ng["fitted"], blend)
    lengths = np.array([len(x) for x in encode_with_model(base_dir, fitted.texts)])
    cfg = {
        **{k: v for k, v in base_cfg.items() if k not in ("drift_reference", "training_data")},
        "model_version": content_hash(served_files(out, onnx_path)),
        "labels": labels,
        "alert_threshold": threshold,
        "temperature": queue_heads.temperature,
        "urgency_mapping": {p: URGENCY_MAPPING[p] for p in levels},
        "blend": blend,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "parent_version": base_cfg["model_version"],
        "training_kind": "quick",
        "training_data": [{"file": Path(f.path).name, "sha256": f.sha256, "rows": f.rows} for f in files],
        "drift_reference": {
            "predicted_queue_share": {label: float((fitted_served["queue_probs"].argmax(1) == i).mean()) for i, label in enumerate(labels)},
            "urgency": distribution(fitted_served["urgency"]),
            **token_length_reference(lengths, base_cfg["max_length"]),
        },
    }
    (out / "config.json").write_text(json.dumps(cfg, indent=1, ensure_ascii=False))

    preds = {"served": served_test["queue_probs"].argmax(1), "heads_only": heads(split.test)["queue_probs"].argmax(1),
             "ngram": ng["test"][0].argmax(1), "before": before_test.argmax(1)}
    urg = {"served": served_test["urgency"], "ngram": ng["test"][1]}
    train_mean = float(np.nanmean(fitted.urgency))

    def report(sub: Dataset, idx: np.ndarray) -> dict:
        r = queue_report(sub, {k: v[idx] for k, v in preds.items()}, served_test["queue_probs"][idx])
        r["before"] = r["comparison"]["before"]
        r["urgency"] = urgency_report(sub, {k: v[idx] for k, v in urg.items()}, served_test["urgency"][idx], threshold, train_mean)
        return r

    all_idx = np.arange(len(test))
    metrics = {
        "kind": "quick",
        "base": {"dir": str(base_dir), "model_version": base_cfg["model_version"]},
        "seconds": time.time() - t0,
        "threads": args.threads,
        "heads": {**{k: v for k, v in fit.choice.items() if k != "validation_score_by_trial"},
                  "knn_memory_rows": len(queue_heads.memory), "fit_rows": len(fit_rows)},
        "temperature": queue_heads.temperature,
        "blend": blend,
        "alert": {"threshold": threshold, "validation_choice": chosen, "min_precision": ALERT_MIN_PRECISION},
        "union": report(test, all_idx),
        "files": [],
    }
    for i, f in enumerate(files):
        idx = np.flatnonzero(test.source == i)
        in_file = [int((ds.source[part] == i).sum()) for part in (split.train, split.val)]
        metrics["files"].append({"path": f.path, "sha256": f.sha256, "rows": f.rows,
                                 "split": {"train": in_file[0], "val": in_file[1], "test_rows": [int(r) for r in test.source_row[idx]]},
                                 **report(test.subset(idx), idx)})
    # The card and metrics keep the shipped names the gateway reads (comparison.served, served.ece).
    metrics["comparison"] = metrics["union"]["comparison"]
    metrics["served"] = metrics["union"]["served"]
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    write_heldback(out / "heldback.csv", test, files)
    (out / "MODEL_CARD.md").write_text(card(metrics, cfg))
    u = metrics["union"]
    log.info("held-back union (%d rows): accuracy %.4f → %.4f, macro-F1 %.4f → %.4f", u["rows"], u["before"]["accuracy"],
             u["served"]["accuracy"], u["before"]["macro_f1"], u["served"]["macro_f1"])
    log.info("wrote %s (%s) in %.0fs", out, cfg["model_version"], time.time() - t0)


def base_served(base_dir: Path, base_cfg: dict, test: Dataset, enc: dict[str, np.ndarray], idx: np.ndarray) -> np.ndarray:
    """The base model's served queue probabilities on the test rows, in this run's label order."""
    ngram = NgramModel.from_json(json.loads((base_dir / "ngram.json").read_text()))
    base_labels: list[str] = base_cfg["labels"]
    enc_p = enc["queue_probs"][idx]
    ng_p = ngram.predict_proba(test.texts)
    ng_p = ng_p[:, [ngram.labels.index(label) for label in base_labels]]
    probs = serve({"queue_probs": enc_p, "urgency": enc["urgency"][idx]}, ng_p, ngram.predict_urgency(test.texts), base_cfg.get("blend"))["queue_probs"]
    out = np.zeros((len(test), len(test.labels)))
    for k, label in enumerate(base_labels):
        if label in test.labels:
            out[:, test.labels.index(label)] = probs[:, k]
    return out
