"""`python -m training train`: data → split → vocab trim → fine-tune → calibrate → export → evaluate → card."""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import AutoTokenizer

from .bases import DEFAULT_BASE, DEFAULT_MINILM, resolve_base
from .card import write_card
from .data import URGENCY_MAPPING, Dataset, Split, load_csv, stratified_split
from .evaluate import finalize
from .finetune import FinetuneConfig, Finetuner, tag_vocabulary, write_history
from .model import TicketModel, load_encoder
from .vocab_trim import is_unigram, trim_base


log = logging.getLogger("training")


@dataclass
class Prepared:
    ds: Dataset
    split: Split
    base: Path  # the (possibly trimmed) encoder the run fine-tunes
    source_base: Path
    priority_levels: list[str]
    source_rows: np.ndarray  # the CSV data row (0-based) behind each of ds's rows


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m training train", description=__doc__)
    p.add_argument("--data", type=Path, required=True, help="labelled tickets CSV (subject, body, queue, priority[, type, language, tags])")
    p.add_argument("--base", type=Path, default=DEFAULT_BASE, help="local Hugging Face encoder directory (default: imported multilingual-e5-small)")
    p.add_argument("--out", type=Path, default=Path("models/triage"))
    p.add_argument("--work-dir", type=Path, default=Path(".cache/runs/triage"), help="checkpoints, trimmed base, full-precision export")
    p.add_argument("--resume", action="store_true", help="continue from the work dir's last checkpoint")
    p.add_argument("--epochs", type=int, default=FinetuneConfig.epochs)
    p.add_argument("--batch-size", type=int, default=FinetuneConfig.batch_size)
    p.add_argument("--lr", type=float, default=FinetuneConfig.lr)
    p.add_argument("--patience", type=int, default=FinetuneConfig.patience)
    p.add_argument("--max-length", type=int, default=256)
    # 8 of multilingual-e5-small's 12 layers: as accurate on validation as all 12, a third faster.
    p.add_argument("--layers", type=int, default=8, help="keep at most the base encoder's first N layers (0 = all)")
    p.add_argument("--vocab-size", type=int, default=40000, help="pieces kept by vocabulary trimming (Unigram tokenizers)")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--threads", type=int, default=max(1, torch.get_num_threads()))
    p.add_argument("--limit-rows", type=int, default=0, help="use a seeded random sample of N rows (smoke tests)")
    p.add_argument("--minilm", type=Path, default=DEFAULT_MINILM, help="English MiniLM directory for the comparison row")
    p.add_argument("--no-minilm", action="store_true", help="skip the MiniLM comparison")
    return p.parse_args(argv)


def prepare(args: argparse.Namespace) -> Prepared:
    ds = load_csv(args.data)
    rows = np.arange(len(ds))
    if args.limit_rows:
        rng = np.random.default_rng(args.seed)
        rows = np.sort(rng.choice(len(ds), size=min(args.limit_rows, len(ds)), replace=False))
        ds = _relabel(ds.subset(rows))
    split = stratified_split(ds, seed=args.seed)
    log.info("data %s: %d rows, %d queues, split train %d / val %d / test %d", args.data, len(ds), len(ds.labels),
             len(split.train), len(split.val), len(split.test))
    base = resolve_base(args.base)
    vocab = json.loads((base / "config.json").read_text()).get("vocab_size", 0)
    if is_unigram(base) and vocab > args.vocab_size:
        trimmed = args.work_dir / "base-trimmed"
        if not (trimmed / "trim.json").is_file():
            log.info("trimming vocabulary %d → %d pieces", vocab, args.vocab_size)
            trim_base(base, [ds.texts[i] for i in split.train], trimmed, args.vocab_size)
        base = trimmed
    levels = sorted({p for p in ds.priorities}, key=lambda p: URGENCY_MAPPING[p])
    return Prepared(ds, split, base, args.base, levels, rows)


def _relabel(ds: Dataset) -> Dataset:
    """After --limit-rows, keep only the labels that still occur (the heads size to the data)."""
    present = sorted(set(ds.queues.tolist()))
    remap = {old: new for new, old in enumerate(present)}
    ds.labels = [ds.labels[i] for i in present]
    ds.queues = np.array([remap[q] for q in ds.queues.tolist()], dtype=np.int64)
    return ds


def finetune(args: argparse.Namespace, prep: Prepared) -> tuple[Finetuner, list[str]]:
    ds, split = prep.ds, prep.split
    train, val = ds.subset(split.train), ds.subset(split.val)
    tags = tag_vocabulary(train.tags, FinetuneConfig.max_tags)
    tokenizer = AutoTokenizer.from_pretrained(prep.base, local_files_only=True)
    model = TicketModel(load_encoder(prep.base, args.layers), len(ds.labels), len(prep.priority_levels), len(ds.type_labels), len(tags))
    cfg = FinetuneConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, patience=args.patience, seed=args.seed)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    ft = Finetuner(model, tokenizer, train, val, prep.priority_levels,
                   [URGENCY_MAPPING[p] for p in prep.priority_levels], tags, cfg, args.max_length, args.work_dir)
    if args.resume and ft.load_checkpoint():
        log.info("resumed after epoch %d (best %d, macro-F1 %.4f)", len(ft.state.history), ft.state.best_epoch,
                 ft.state.best_macro_f1)
    elif ft.checkpoint_path.exists():
        ft.checkpoint_path.unlink()
    state = ft.run(log.info)
    write_history(state, args.work_dir / "history.json")
    return ft, tags


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    t0 = time.time()
    prep = prepare(args)
    ft, _ = finetune(args, prep)
    log.info("fine-tuning done in %.0fs (best epoch %d)", time.time() - t0, ft.state.best_epoch)
    finalize(args, prep, ft, log.info)
    card = write_card(args.out)
    log.info("wrote %s and %s in %.0fs", args.out, card, time.time() - t0)
