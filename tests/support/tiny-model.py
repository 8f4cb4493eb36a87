"""The tiny model pytest trains, as a served model directory, for the jest learning-loop test.

Usage: PYTHONPATH=<repo> python3 tests/support/tiny-model.py <model_dir> <work_dir> <rows>
Writes the first <rows> rows of ../shared/data/tickets.csv to <work_dir>/sample.csv and trains the real pipeline
(one epoch) on them on a random-init 2-layer BERT: sample.csv is that model's data, and <work_dir>/train-rows.csv
the rows of its training split (those its drift reference was computed on).
"""
import csv
import sys
from pathlib import Path

from training.data import load_files, split_per_file
from training.tests.conftest import DATA, save_tiny_bert
from training.tests.test_pipeline import run

model_dir, work, rows = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
sample = work / "sample.csv"
csv.field_size_limit(sys.maxsize)
with DATA.open(newline="", encoding="utf-8") as src:
    reader = csv.DictReader(src)
    fields, head = list(reader.fieldnames or []), [row for _, row in zip(range(rows), reader, strict=False)]


def write(path: Path, picked: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as dst:
        writer = csv.DictWriter(dst, fieldnames=fields)
        writer.writeheader()
        writer.writerows(picked)


write(sample, head)
# The pipeline's own split (same loader, same default seed).
ds, _ = load_files([sample])
write(work / "train-rows.csv", [head[int(i)] for i in ds.source_row[split_per_file(ds).train]])
# rows=0: no --limit-rows sampling, the whole sample file. 512 tokens: with the tiny vocabulary every ticket would
# be cut at pytest's 64, and the drift test needs token lengths that vary.
run(save_tiny_bert(work / "base"), model_dir, work / "cache", data=sample, rows=0, extra=("--max-length", "512"))
