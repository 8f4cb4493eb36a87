"""`python -m training compare --candidate DIR --active DIR [--extra corrections.csv]`.

Scores two model directories side by side, the way the service serves them (int8 ONNX + n-gram blend),
on the same rows: the candidate's held-back split (heldback.csv, or the CSV rows metrics.json names)
plus any extra labelled rows (the corrections gathered since the active model was trained). Prints a
table and a verdict; `--json` writes both for the promotion CLI.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .data import DataError, Dataset, load_csv
from .evaluate import serve
from .frozen import frozen_outputs
from .metrics import alert_quality, classification
from .ngram import NgramModel
from .report import is_high


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m training compare", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--candidate", type=Path, required=True)
    p.add_argument("--active", type=Path, required=True)
    p.add_argument("--extra", type=Path, action="append", default=[], help="more labelled rows (e.g. exported corrections)")
    p.add_argument("--rows", type=Path, action="append", default=[],
                   help="score on these labelled rows instead of the candidate's held-back split (e.g. an evaluation set "
                        "neither model was trained on, when the candidate's split holds rows the active model saw)")
    p.add_argument("--json", type=Path, help="write the comparison here")
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args(argv)


def heldback_rows(model_dir: Path) -> Dataset:
    """The model's held-back test rows: heldback.csv (quick retrains), else metrics.json's data file + test_rows."""
    own = model_dir / "heldback.csv"
    if own.is_file():
        return load_csv(own)
    data = json.loads((model_dir / "metrics.json").read_text())["data"]
    path = Path(data["path"])
    ds = load_csv(path if path.is_file() else Path(data["path"]).name)
    return ds.subset(np.array(data["split"]["test_rows"], dtype=np.int64))


def served(model_dir: Path, texts: list[str], threads: int) -> dict:
    """Queue probabilities (in the model's label order), urgency and the model's alert threshold."""
    cfg = json.loads((model_dir / "config.json").read_text())
    enc = frozen_outputs(model_dir, texts, threads=threads, log=lambda *_: None)
    ngram = NgramModel.from_json(json.loads((model_dir / "ngram.json").read_text()))
    ng_p = ngram.predict_proba(texts)[:, [ngram.labels.index(label) for label in cfg["labels"]]]
    out = serve(enc, ng_p, ngram.predict_urgency(texts), cfg.get("blend"))
    return {"labels": cfg["labels"], "probs": out["queue_probs"], "urgency": out["urgency"],
            "threshold": float(cfg["alert_threshold"]), "version": cfg["model_version"]}


def score(ds: Dataset, model: dict) -> dict:
    pred_labels = [model["labels"][k] for k in model["probs"].argmax(1)]
    # Predictions outside the rows' labels count as wrong: map them to an extra id.
    label_id = {label: i for i, label in enumerate(ds.labels)}
    pred = np.array([label_id.get(p, len(ds.labels)) for p in pred_labels])
    c = classification(ds.queues, pred, ds.labels)
    has = ds.has_priority
    alert = alert_quality(model["urgency"][has], is_high(ds)[has], model["threshold"]) if has.any() else None
    return {"version": model["version"], "rows": len(ds), "accuracy": c["accuracy"], "macro_f1": c["macro_f1"],
            "per_queue": {q: r["f1"] for q, r in c["per_class"].items() if r["support"] > 0},
            "support": {q: r["support"] for q, r in c["per_class"].items() if r["support"] > 0}, "alert": alert}


def verdict(cand: dict, act: dict) -> str:
    """Better or worse on accuracy + macro-F1 over all compared rows (ties: not better)."""
    delta = (cand["accuracy"] + cand["macro_f1"]) - (act["accuracy"] + act["macro_f1"])
    return "better" if delta > 1e-9 else "worse" if delta < -1e-9 else "same"


def compare(candidate: Path, active: Path, extra: list[Path], threads: int = 2, rows: list[Path] | None = None) -> dict:
    sets: list[tuple[str, Dataset]] = [(f"rows ({p.name})", load_csv(p)) for p in rows] if rows else [("held-back split", heldback_rows(candidate))]
    for path in extra:
        try:
            sets.append((f"corrections ({path.name})", load_csv(path)))
        except DataError as err:
            if "no data rows" not in str(err):
                raise
    texts = [t for _, ds in sets for t in ds.texts]
    slices, start = [], 0
    for _, ds in sets:
        slices.append(slice(start, start + len(ds)))
        start += len(ds)
    if len(sets) > 1:
        sets.append(("all rows", load_csv(_tmp_union(sets))))
        slices.append(slice(0, start))
    models = {"candidate": served(candidate, texts, threads), "active": served(active, texts, threads)}
    out: dict = {"candidate": str(candidate), "active": str(active), "sets": {}}
    for (name, ds), idx in zip(sets, slices, strict=False):
        out["sets"][name] = {k: score(ds, {**m, "probs": m["probs"][idx], "urgency": m["urgency"][idx]}) for k, m in models.items()}
    final = out["sets"][sets[-1][0]]
    out["verdict"] = verdict(final["candidate"], final["active"])
    return out


def _tmp_union(sets: list[tuple[str, Dataset]]) -> Path:
    """The compared rows as one CSV, so their labels share one id space."""
    import csv
    import tempfile

    fh = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, newline="", encoding="utf-8")
    with fh:
        w = csv.writer(fh)
        w.writerow(["subject", "body", "queue", "priority"])
        for _, ds in sets:
            for i in range(len(ds)):
                w.writerow(["", ds.texts[i].replace("\n", "\\n"), ds.labels[ds.queues[i]], ds.priorities[i]])
    return Path(fh.name)


def table(result: dict) -> str:
    lines = [f"candidate {result['candidate']} vs active {result['active']}"]
    for name, s in result["sets"].items():
        c, a = s["candidate"], s["active"]
        lines += ["", f"{name} ({c['rows']} rows)", f"{'':34} {'active':>10} {'candidate':>10}",
                  f"{'model version':34} {a['version'][-10:]:>10} {c['version'][-10:]:>10}",
                  f"{'accuracy':34} {a['accuracy']:>10.3f} {c['accuracy']:>10.3f}",
                  f"{'macro-F1':34} {a['macro_f1']:>10.3f} {c['macro_f1']:>10.3f}"]
        if a["alert"] and c["alert"]:
            lines += [f"{'alert threshold':34} {a['alert']['threshold']:>10.2f} {c['alert']['threshold']:>10.2f}",
                      f"{'alert precision':34} {a['alert']['precision']:>10.3f} {c['alert']['precision']:>10.3f}",
                      f"{'alert recall':34} {a['alert']['recall']:>10.3f} {c['alert']['recall']:>10.3f}"]
        for q in sorted(set(a["per_queue"]) | set(c["per_queue"])):
            lines.append(f"{'  F1 ' + q[:26] + ' (n=' + str(c['support'].get(q, 0)) + ')':34} {a['per_queue'].get(q, 0):>10.3f} {c['per_queue'].get(q, 0):>10.3f}")
    lines += ["", f"verdict: the candidate is {result['verdict'].upper()} than the active model (accuracy + macro-F1 over all compared rows)"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = compare(args.candidate, args.active, args.extra, args.threads, args.rows)
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    sys.stdout.flush()
