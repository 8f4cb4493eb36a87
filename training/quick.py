"""`python -m training train --quick --data a.csv --data b.csv ...`: the same-day path.

The encoder stays frozen: its features (the served graph's mean-pooled embedding) come from the
active model directory's int8 ONNX. On top of them this refits what minutes on 2 CPU cores allow: a
new queue head and priority head (logistic regressions), the n-gram model and the blend, and writes
a new model version (content hash) with its own card. The full fine-tune stays the nightly path.
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
import onnx
from onnx import helper, numpy_helper

from .data import URGENCY_MAPPING, DataFile, Dataset, load_files, split_per_file
from .evaluate import content_hash, fit_blend, serve
from .frozen import encode_with_model, frozen_outputs
from .heads import drop_dead_nodes, fit_linear
from .metrics import classification, fit_temperature, pick_alert_threshold, softmax
from .ngram import NgramModel, train_ngram
from .report import distribution, is_high, queue_report, urgency_report

log = logging.getLogger("training.quick")

HEAD_C_GRID = (0.3, 1.0, 3.0, 10.0)


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


def fit_head(x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, n_classes: int, labels: list[str] | None,
             seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """The refit's linear head (balanced logistic regression) on frozen features, C chosen on validation. Returns W [d, k], b [k], C."""
    best: tuple[float, np.ndarray, np.ndarray, float] | None = None
    for c in HEAD_C_GRID:
        w, b = fit_linear(x, y, n_classes, C=c, balanced=True, seed=seed)
        pred = (x_val @ w + b).argmax(1)
        score = float((pred == y_val).mean())
        if labels is not None:
            score += classification(y_val, pred, labels)["macro_f1"]
        if best is None or score > best[0]:
            best = (score, w, b, c)
    assert best is not None
    return best[1], best[2], best[3]


def replace_heads(src: Path, dst: Path, queue_w: np.ndarray, queue_b: np.ndarray, temperature: float,
                  pri_w: np.ndarray, pri_b: np.ndarray, pri_scores: np.ndarray) -> None:
    """The served graph with new heads on its `embedding` output: queue_probs = softmax((e·W + b) / T),
    urgency = softmax(e·Wp + bp) · scores. The old heads' nodes are pruned."""
    model = onnx.load(str(src))
    g = model.graph
    for node in g.node:
        node.output[:] = [f"{o}__old" if o in ("queue_probs", "urgency") else o for o in node.output]
    inits = {
        "quick_queue_w": queue_w.astype(np.float32), "quick_queue_b": queue_b.astype(np.float32),
        "quick_inv_t": np.array(1.0 / temperature, dtype=np.float32),
        "quick_pri_w": pri_w.astype(np.float32), "quick_pri_b": pri_b.astype(np.float32),
        "quick_pri_scores": pri_scores.astype(np.float32).reshape(-1, 1), "quick_axes": np.array([1], dtype=np.int64),
    }
    g.initializer.extend(numpy_helper.from_array(v, k) for k, v in inits.items())
    g.node.extend([
        helper.make_node("MatMul", ["embedding", "quick_queue_w"], ["quick_q_mm"]),
        helper.make_node("Add", ["quick_q_mm", "quick_queue_b"], ["quick_q_logits"]),
        helper.make_node("Mul", ["quick_q_logits", "quick_inv_t"], ["quick_q_scaled"]),
        helper.make_node("Softmax", ["quick_q_scaled"], ["queue_probs"], axis=-1),
        helper.make_node("MatMul", ["embedding", "quick_pri_w"], ["quick_p_mm"]),
        helper.make_node("Add", ["quick_p_mm", "quick_pri_b"], ["quick_p_logits"]),
        helper.make_node("Softmax", ["quick_p_logits"], ["quick_p_probs"], axis=-1),
        helper.make_node("MatMul", ["quick_p_probs", "quick_pri_scores"], ["quick_u2d"]),
        helper.make_node("Squeeze", ["quick_u2d", "quick_axes"], ["urgency"]),
    ])
    for out in g.output:
        if out.name == "queue_probs":
            out.type.tensor_type.shape.dim[1].dim_value = queue_w.shape[1]
    drop_dead_nodes(g)
    onnx.checker.check_model(model)
    dst.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(dst))


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
    lines += ["", f"Blend: {json.dumps(cfg['blend'])}; head C {m['head']['queue_C']} (queue), {m['head']['priority_C']} (priority); "
              f"head temperature {cfg['temperature']:.3f}.", "",
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
    split = split_per_file(ds, seed=args.seed)
    train, val, test = ds.subset(split.train), ds.subset(split.val), ds.subset(split.test)
    log.info("split train %d / val %d / test %d", len(train), len(val), len(test))

    log.info("frozen encoder features of %s", base_dir)
    enc = frozen_outputs(base_dir, ds.texts, cache=args.work_dir, threads=args.threads, log=log.info)
    emb = enc["embedding"]
    e_tr, e_va, e_te = emb[split.train], emb[split.val], emb[split.test]

    labels = ds.labels
    queue_w, queue_b, queue_c = fit_head(e_tr, train.queues, e_va, val.queues, len(labels), labels, args.seed)
    temperature = fit_temperature(e_va @ queue_w + queue_b, val.queues)
    levels = sorted({p for p in ds.priorities if p}, key=lambda p: URGENCY_MAPPING[p])
    level_of = {p: i for i, p in enumerate(levels)}
    has_tr, has_va = train.has_priority, val.has_priority
    y_pri = np.array([level_of[p] for p in np.array(train.priorities)[has_tr]])
    y_pri_val = np.array([level_of[p] for p in np.array(val.priorities)[has_va]])
    pri_w, pri_b, pri_c = fit_head(e_tr[has_tr], y_pri, e_va[has_va], y_pri_val, len(levels), None, args.seed)
    scores = np.array([URGENCY_MAPPING[p] for p in levels])

    def heads(e: np.ndarray) -> dict[str, np.ndarray]:
        return {"queue_probs": softmax(e @ queue_w + queue_b, temperature), "urgency": softmax(e @ pri_w + pri_b) @ scores}

    log.info("n-gram model on %d rows", len(train))
    ngram = train_ngram(train.texts, train.queues, labels, train.urgency, seed=args.seed)
    ng = {name: (ngram.predict_proba(d.texts), ngram.predict_urgency(d.texts)) for name, d in (("val", val), ("test", test), ("train", train))}
    blend = fit_blend(val, heads(e_va), *ng["val"])
    served_val, served_test = serve(heads(e_va), *ng["val"], blend), serve(heads(e_te), *ng["test"], blend)
    threshold = pick_alert_threshold(served_val["urgency"][has_va], is_high(val)[has_va])

    out: Path = args.out
    if out.exists():
        shutil.rmtree(out)
    onnx_path = out / "onnx" / "model_quantized.onnx"
    replace_heads(base_dir / base_cfg.get("onnx_file", "onnx/model_quantized.onnx"), onnx_path, queue_w, queue_b, temperature,
                  pri_w, pri_b, scores)
    shutil.copy2(base_dir / "tokenizer.json", out / "tokenizer.json")
    (out / "ngram.json").write_text(json.dumps(ngram.to_json(), separators=(",", ":")))

    before_test = base_served(base_dir, base_cfg, test, enc, split.test)
    train_served = serve(heads(e_tr), *ng["train"], blend)
    lengths = np.array([len(x) for x in encode_with_model(base_dir, train.texts)])
    cfg = {
        **{k: v for k, v in base_cfg.items() if k not in ("drift_reference", "training_data")},
        "model_version": content_hash([onnx_path, out / "tokenizer.json", out / "ngram.json"]),
        "labels": labels,
        "alert_threshold": threshold,
        "temperature": temperature,
        "urgency_mapping": {p: URGENCY_MAPPING[p] for p in levels},
        "blend": blend,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "parent_version": base_cfg["model_version"],
        "training_kind": "quick",
        "training_data": [{"file": Path(f.path).name, "sha256": f.sha256, "rows": f.rows} for f in files],
        "drift_reference": {
            "predicted_queue_share": {label: float((train_served["queue_probs"].argmax(1) == i).mean()) for i, label in enumerate(labels)},
            "urgency": distribution(train_served["urgency"]),
            "token_length_percentiles": {str(q): float(np.percentile(lengths, q)) for q in (5, 25, 50, 75, 95)},
            "truncated_share": float((lengths >= base_cfg["max_length"]).mean()),
        },
    }
    (out / "config.json").write_text(json.dumps(cfg, indent=1, ensure_ascii=False))

    preds = {"served": served_test["queue_probs"].argmax(1), "heads_only": heads(e_te)["queue_probs"].argmax(1),
             "ngram": ng["test"][0].argmax(1), "before": before_test.argmax(1)}
    urg = {"served": served_test["urgency"], "ngram": ng["test"][1]}
    train_mean = float(np.nanmean(train.urgency))

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
        "head": {"queue_C": queue_c, "priority_C": pri_c},
        "temperature": temperature,
        "blend": blend,
        "alert": {"threshold": threshold},
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
