"""Writes the held-back test split of the run that produced <model_dir>/metrics.json as JSON rows.

Usage: python3 tests/support/held-back-split.py <model_dir> <out.json>   (run from the repo root)
Takes the exact CSV rows the run held back (metrics.json → data.split.test_rows), after checking that
the CSV is the one the model was trained on (sha256).
"""
import json
import sys
from pathlib import Path

from training.data import load_csv

model_dir, out = Path(sys.argv[1]), Path(sys.argv[2])
data = json.loads((model_dir / "metrics.json").read_text())["data"]
ds = load_csv(data["path"])
if ds.sha256 != data["sha256"]:
    sys.exit(f"{data['path']} differs from the CSV the model was trained on (sha256 {ds.sha256} != {data['sha256']})")
rows = [{"text": ds.texts[i], "queue": ds.labels[ds.queues[i]], "urgency": float(ds.urgency[i])}
        for i in data["split"]["test_rows"]]
out.write_text(json.dumps(rows))
