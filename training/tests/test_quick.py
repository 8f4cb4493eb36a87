"""train --quick and compare on a tiny model: new heads on the frozen encoder, a new version, a verdict."""
import csv
import json

import numpy as np

from training.compare import compare
from training.data import load_files, split_per_file
from training.quick import main as quick
from training.quick import split_like_base

from .conftest import DATA
from .test_pipeline import run


def test_quick_retrain_learns_a_relabelling_and_compare_prefers_it(tiny_bert, tmp_path):
    base = tmp_path / "v1"
    run(tiny_bert, base, tmp_path / "work", rows=300)
    # Corrections that consistently move one kind of ticket (a made-up product) to one queue.
    corrections = tmp_path / "corrections.csv"
    with corrections.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["subject", "body", "queue", "priority", "language", "source"])
        for i in range(120):
            w.writerow([f"Zorbulator issue {i}", f"The zorbulator widget number {i} keeps blinking after the update.",
                        "Human Resources", "" if i % 2 else "low", "en", "feedback"])
    sample = tmp_path / "sample.csv"
    with DATA.open(newline="") as src, sample.open("w", newline="") as dst:
        rows = list(csv.DictReader(src))[:300]
        dict_writer = csv.DictWriter(dst, fieldnames=list(rows[0]))
        dict_writer.writeheader()
        dict_writer.writerows(rows)
    out = tmp_path / "v2"
    quick(["--data", str(sample), "--data", str(corrections), "--from", str(base), "--out", str(out),
           "--work-dir", str(tmp_path / "cache"), "--threads", "1"])

    cfg = json.loads((out / "config.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    assert cfg["model_version"].startswith("sha256:") and cfg["model_version"] != json.loads((base / "config.json").read_text())["model_version"]
    assert cfg["parent_version"] and cfg["trained_at"] and cfg["training_kind"] == "quick"
    assert set(cfg["drift_reference"]) >= {"predicted_queue_share", "urgency", "token_length_percentiles"}
    assert [f["path"] for f in metrics["files"]] == [str(sample), str(corrections)]
    feedback = metrics["files"][1]
    assert feedback["served"]["accuracy"] > 0.9 > feedback["before"]["accuracy"]
    assert (out / "MODEL_CARD.md").read_text().startswith("# Model card")
    assert (out / "heldback.csv").is_file()

    result = compare(out, base, [corrections], threads=1)
    final = result["sets"]["all rows"]
    assert final["candidate"]["accuracy"] > final["active"]["accuracy"]
    assert result["verdict"] == "better"
    assert compare(base, out, [corrections], threads=1)["verdict"] == "worse"
    # --rows: only the given rows (an evaluation set), not the candidate's held-back split.
    own = compare(out, base, [], threads=1, rows=[corrections])
    assert list(own["sets"]) == ["rows (corrections.csv)"] and own["sets"]["rows (corrections.csv)"]["candidate"]["rows"] == 120


def test_a_file_the_base_trained_on_keeps_the_base_held_back_rows(tmp_path):
    with DATA.open(newline="") as src:
        rows = list(csv.DictReader(src))
    paths = []
    for name, part in (("a.csv", rows[:200]), ("b.csv", rows[200:400])):
        path = tmp_path / name
        with path.open("w", newline="") as dst:
            w = csv.DictWriter(dst, fieldnames=list(part[0]))
            w.writeheader()
            w.writerows(part)
        paths.append(path)
    ds, files = load_files(paths)
    held = [0, 3, 7, 11, 150]
    base_metrics = {"data": {"files": [{"sha256": files[0].sha256, "split": {"test_rows": held}}]}}

    split = split_like_base(ds, files, base_metrics, seed=13)
    in_a = ds.source == 0
    assert sorted(ds.source_row[split.test[in_a[split.test]]].tolist()) == held
    # the other file is split on its own, exactly as without a base
    fresh = split_per_file(ds, seed=13)
    assert (split.test[~in_a[split.test]] == fresh.test[~in_a[fresh.test]]).all()
    parts = np.concatenate([split.train, split.val, split.test])
    assert len(parts) == len(ds) == len(set(parts.tolist()))
    assert len(split.val) > 0
