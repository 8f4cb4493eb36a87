"""``python -m training repack --model DIR``: rewrites a model directory's ONNX graph in the layout
`onnx_files.save_model` writes (large initializers in a page-aligned `.data` file that onnxruntime maps),
for a directory written before that layout existed. The weights and every output stay the same; the
content hash, and so `model_version`, changes with the files, and the card is rendered again."""
from __future__ import annotations

import argparse
import json
import logging
import shutil
from pathlib import Path

import onnx

from .card import write_card
from .evaluate import content_hash
from .onnx_files import save_model, served_files
from .pipeline import replace_dir

log = logging.getLogger("training.repack")


def repack(model_dir: Path) -> str:
    """Returns the new model version. Works in a staging copy swapped in with renames, as training does."""
    staging = model_dir.parent / f".{model_dir.name}.repack"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(model_dir, staging)
    config = json.loads((staging / "config.json").read_text())
    metrics = json.loads((staging / "metrics.json").read_text())
    graph = staging / config["onnx_file"]
    save_model(onnx.load(str(graph)), graph)
    files = served_files(staging, graph)
    old_version, config["model_version"] = config["model_version"], content_hash(files)
    if "size_bytes" in metrics:
        metrics["size_bytes"] = {p.name: p.stat().st_size for p in files}
    (staging / "config.json").write_text(json.dumps(config, indent=1, ensure_ascii=False))
    (staging / "metrics.json").write_text(json.dumps(metrics, indent=1))
    card = staging / "MODEL_CARD.md"
    if metrics.get("kind") == "quick":  # its card has its own renderer and no file sizes
        card.write_text(card.read_text().replace(old_version, config["model_version"]))
    elif card.is_file():
        write_card(staging)
    replace_dir(staging, model_dir)
    return str(config["model_version"])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m training repack", description=__doc__)
    p.add_argument("--model", type=Path, default=Path("models/triage"), help="exported model directory")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    log.info("repacked %s as %s", args.model, repack(args.model))
