"""`python -m training latency`: int8 latency per ticket of a model directory, as the worker runs it
(one ticket per run, its own length, one intra-op thread), on the held-back test split's tickets."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from tokenizers import Tokenizer

from .data import load_csv, stratified_split
from .export import OnnxPredictor


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m training latency", description=__doc__)
    p.add_argument("--model", type=Path, default=Path("models/triage"))
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    config = json.loads((args.model / "config.json").read_text())
    tok = Tokenizer.from_file(str(args.model / "tokenizer.json"))
    tok.enable_truncation(config["max_length"])
    ds = load_csv(args.data)
    texts = [ds.texts[i] for i in stratified_split(ds).test[: args.n]]
    ids = [e.ids for e in tok.encode_batch(texts)]
    predictor = OnnxPredictor(args.model / config["onnx_file"], config["model_inputs"], config["pad_token_id"], args.threads)
    print(json.dumps(predictor.latency_ms(ids)))


if __name__ == "__main__":
    main()
