"""Writes the held-back test split of the run that produced <model_dir>/metrics.json as JSON rows.

Usage: python3 tests/support/held-back-split.py <model_dir> <out.json>   (run from the repo root)
Takes the exact CSV rows the run held back (metrics.json → data.files[].split.test_rows, or data.split.test_rows
for a one-file run), after checking that each CSV is the one the model was trained on (sha256). A row without a
priority has urgency null (the card's urgency figures leave it out too).
"""
import json
import math
import sys
from pathlib import Path

from training.data import load_csv

model_dir, out = Path(sys.argv[1]), Path(sys.argv[2])
data = json.loads((model_dir / "metrics.json").read_text())["data"]
rows = []
for f in data.get("files") or [data]:
    ds = load_csv(f["path"])
    if ds.sha256 != f["sha256"]:
        sys.exit(f"{f['path']} differs from the CSV the model was trained on (sha256 {ds.sha256} != {f['sha256']})")
    rows += [{"text": ds.texts[i], "queue": ds.labels[ds.queues[i]],
              "urgency": None if math.isnan(ds.urgency[i]) else float(ds.urgency[i])} for i in f["split"]["test_rows"]]
out.write_text(json.dumps(rows))
