"""Writes the held-back test split of the run that produced <model_dir>/metrics.json as JSON rows.

Usage: python3 tests/support/held-back-split.py <model_dir> <out.json>   (run from the repo root)
Reproduces training's split exactly: same CSV (checked by sha256), same --limit-rows, same seed.
"""
import json
import sys
from pathlib import Path

import numpy as np

from training.data import load_csv, stratified_split

model_dir, out = Path(sys.argv[1]), Path(sys.argv[2])
data = json.loads((model_dir / "metrics.json").read_text())["data"]
ds = load_csv(data["path"])
if ds.sha256 != data["sha256"]:
    sys.exit(f"{data['path']} differs from the CSV the model was trained on (sha256 {ds.sha256} != {data['sha256']})")
if data["rows"] < len(ds):
    # as training's --limit-rows: first N rows, labels renumbered to those still present
    ds = ds.subset(np.arange(data["rows"]))
    present = sorted(set(ds.queues.tolist()))
    remap = {old: new for new, old in enumerate(present)}
    ds.labels = [ds.labels[i] for i in present]
    ds.queues = np.array([remap[q] for q in ds.queues.tolist()], dtype=np.int64)
split = stratified_split(ds, seed=data["split"]["seed"])
if len(split.test) != data["split"]["test"]:
    sys.exit(f"reproduced test split has {len(split.test)} rows, metrics.json says {data['split']['test']}")
rows = [{"text": ds.texts[i], "queue": ds.labels[ds.queues[i]], "urgency": float(ds.urgency[i])} for i in split.test]
out.write_text(json.dumps(rows))
