"""Outputs of an exported model directory (int8 ONNX + tokenizer.json) over texts, cached on disk."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from transformers import PreTrainedTokenizerFast

from .export import OnnxPredictor


def model_tokenizer(model_dir: Path) -> PreTrainedTokenizerFast:
    return PreTrainedTokenizerFast(tokenizer_file=str(model_dir / "tokenizer.json"))


def encode_with_model(model_dir: Path, texts: Sequence[str], threads: int = 1) -> list[list[int]]:
    """Token ids the way the service makes them: each text to its own length, at most config.max_length."""
    config = json.loads((model_dir / "config.json").read_text())
    tok = model_tokenizer(model_dir)
    return tok(list(texts), truncation=True, max_length=config["max_length"])["input_ids"]


def frozen_outputs(model_dir: Path, texts: Sequence[str], cache: Path | None = None, threads: int = 1,
                   log=print) -> dict[str, np.ndarray]:
    """queue_probs, urgency and embedding of the served int8 graph for every text (cached by content)."""
    config = json.loads((model_dir / "config.json").read_text())
    onnx_path = model_dir / config["onnx_file"]
    # max_length decides the token ids, so two truncations of one graph are two cache entries
    key = hashlib.sha256(onnx_path.read_bytes() + f"{config['max_length']}\x00".encode() + "\x00".join(texts).encode()).hexdigest()[:16]
    if cache is not None:
        path = cache / f"frozen-{key}.npz"
        if path.is_file():
            with np.load(path) as z:
                return {k: z[k] for k in z.files}
    ids = encode_with_model(model_dir, texts)
    predictor = OnnxPredictor(onnx_path, config["model_inputs"], config["pad_token_id"], threads=threads)
    out: dict[str, list[np.ndarray]] = {}
    step = 256
    for start in range(0, len(ids), step):
        part = predictor.predict(ids[start:start + step])
        for k, v in part.items():
            out.setdefault(k, []).append(v)
        log(f"frozen encoder: {min(start + step, len(ids))}/{len(ids)} texts")
    result = {k: np.concatenate(v) for k, v in out.items()}
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(cache / f"frozen-{key}.npz", **result)  # type: ignore[arg-type]  # numpy stubs type **kwds as the allow_pickle flag
    return result
