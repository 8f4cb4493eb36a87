"""train --quick and compare on a tiny model: new heads on the frozen encoder, a new version, a verdict."""
import csv
import json

from training.compare import compare
from training.quick import main as quick

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
