"""Vocabulary trimming for Unigram (SentencePiece) encoders (Ushio et al., 2023).

Keeps every piece the training text uses — so the training text tokenises exactly as before — plus
the highest-scoring pieces of the unigram model up to a target size, so that words the training
text never showed re-segment into known pieces instead of becoming ``<unk>``. The embedding rows
are gathered in the original id order; ``trim.json`` records the kept original ids.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer
from transformers import AutoTokenizer

from .model import load_encoder

TRIM_FILE = "trim.json"


def is_unigram(base: str | Path) -> bool:
    path = Path(base) / "tokenizer.json"
    return path.is_file() and json.loads(path.read_text())["model"]["type"] == "Unigram"


def select_pieces(tokenizer_json: dict, used: set[int], target_size: int) -> list[int]:
    vocab = tokenizer_json["model"]["vocab"]
    special = {t["id"] for t in tokenizer_json.get("added_tokens", [])} | {tokenizer_json["model"]["unk_id"]}
    keep = set(used) | special
    by_score = sorted((i for i in range(len(vocab)) if i not in keep), key=lambda i: -vocab[i][1])
    keep.update(by_score[: max(0, target_size - len(keep))])
    return sorted(keep)


def _remap_tokenizer(tokenizer_json: dict, keep: list[int]) -> dict:
    new_id = {old: new for new, old in enumerate(keep)}
    out = json.loads(json.dumps(tokenizer_json))
    out["model"]["vocab"] = [tokenizer_json["model"]["vocab"][i] for i in keep]
    out["model"]["unk_id"] = new_id[tokenizer_json["model"]["unk_id"]]
    for token in out.get("added_tokens", []):
        token["id"] = new_id[token["id"]]
    post = out.get("post_processor") or {}
    for spec in (post.get("special_tokens") or {}).values():
        spec["ids"] = [new_id[i] for i in spec["ids"]]
    return out


def trim_base(base: str | Path, texts: Sequence[str], out: str | Path, target_size: int) -> Path:
    base, out = Path(base), Path(out)
    tokenizer_json = json.loads((base / "tokenizer.json").read_text())
    tok = Tokenizer.from_str(json.dumps(tokenizer_json))
    used = {i for enc in tok.encode_batch(list(texts)) for i in enc.ids}
    keep = select_pieces(tokenizer_json, used, target_size)

    encoder = load_encoder(base)
    old = encoder.get_input_embeddings().weight.data
    emb = torch.nn.Embedding(len(keep), old.shape[1])
    emb.weight.data.copy_(old[torch.tensor(keep)])
    encoder.set_input_embeddings(emb)
    encoder.config.vocab_size = len(keep)
    out.mkdir(parents=True, exist_ok=True)
    encoder.save_pretrained(out)

    hf_tok = AutoTokenizer.from_pretrained(base, local_files_only=True)
    hf_tok.save_pretrained(out)  # tokenizer_config + specials; tokenizer.json replaced next
    (out / "tokenizer.json").write_text(json.dumps(_remap_tokenizer(tokenizer_json, keep), ensure_ascii=False))
    (out / TRIM_FILE).write_text(json.dumps({
        "source": str(base), "source_vocab_size": len(tokenizer_json["model"]["vocab"]),
        "kept": len(keep), "seen_in_training_text": len(used), "kept_ids": keep,
    }))
    return out


def untrimmed_embeddings(trimmed_weight: torch.Tensor, source_weight: torch.Tensor, kept_ids: Sequence[int]) -> torch.Tensor:
    """The full-vocabulary matrix that full-vocabulary fine-tuning would have produced: rows the
    training text never used get no gradient (and no weight decay here), so they keep their
    pretrained values; the kept rows carry the fine-tuned values."""
    full = source_weight.clone()
    full[torch.as_tensor(np.asarray(kept_ids))] = trimmed_weight
    return full
