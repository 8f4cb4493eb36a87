"""`python -m training train`: data → split → vocab trim → fine-tune → calibrate → export → evaluate → card."""
from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import AutoTokenizer

from .bases import DEFAULT_BASE, DEFAULT_MINILM, resolve_base
from .card import write_card
from .data import URGENCY_MAPPING, DataError, DataFile, Dataset, Split, load_files, split_per_file
from .evaluate import finalize
from .finetune import FinetuneConfig, Finetuner, tag_vocabulary, write_history
from .model import TicketModel, load_encoder
from .vocab_trim import is_unigram, trim_base

log = logging.getLogger("training")


@dataclass
class Prepared:
    ds: Dataset  # every input file's rows; ds.source / ds.source_row say where each row came from
    files: list[DataFile]
    split: Split
    base: Path  # the (possibly trimmed) encoder the run fine-tunes
    source_base: Path
    priority_levels: list[str]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m training train", description=__doc__)
    p.add_argument("--data", type=Path, required=True, action="append",
                   help="labelled tickets CSV (body, queue[, subject, priority, type, language, tags]); repeat for several "
                        "files: each is split on its own and reported on its own held-back share")
    p.add_argument("--base", type=Path, default=DEFAULT_BASE, help="local Hugging Face encoder directory (default: imported multilingual-e5-small)")
    p.add_argument("--out", type=Path, default=Path("models/triage"))
    p.add_argument("--work-dir", type=Path, default=Path(".cache/runs/triage"), help="checkpoints, trimmed base, full-precision export")
    p.add_argument("--resume", action="store_true", help="continue from the work dir's last checkpoint")
    p.add_argument("--stop-after", type=int, default=0,
                   help="end this invocation after N fine-tuning epochs in total (checkpoint kept; --resume continues)")
    p.add_argument("--label-smoothing", type=float, default=FinetuneConfig.label_smoothing)
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
    ds, files = load_files(args.data)
    if args.limit_rows:
        rng = np.random.default_rng(args.seed)
        rows = np.sort(rng.choice(len(ds), size=min(args.limit_rows, len(ds)), replace=False))
        ds = _relabel(ds.subset(rows))
    if not ds.has_priority.any():
        raise DataError(f"{', '.join(map(str, args.data))}: no row has a priority (the urgency head needs some)")
    split = split_per_file(ds, seed=args.seed)
    for i, f in enumerate(files):
        n = [int((ds.source[part] == i).sum()) for part in (split.train, split.val, split.test)]
        log.info("data %s: %d rows (%d with a priority), split train %d / val %d / test %d", f.path,
                 int((ds.source == i).sum()), int(ds.has_priority[ds.source == i].sum()), *n)
    log.info("%d queues; union split train %d / val %d / test %d", len(ds.labels), len(split.train), len(split.val),
             len(split.test))
    base = resolve_base(args.base)
    vocab = json.loads((base / "config.json").read_text()).get("vocab_size", 0)
    if is_unigram(base) and vocab > args.vocab_size:
        trimmed = args.work_dir / "base-trimmed"
        if not (trimmed / "trim.json").is_file():
            log.info("trimming vocabulary %d → %d pieces", vocab, args.vocab_size)
            trim_base(base, [ds.texts[i] for i in split.train], trimmed, args.vocab_size)
        base = trimmed
    levels = sorted({p for p in ds.priorities if p}, key=lambda p: URGENCY_MAPPING[p])
    return Prepared(ds, files, split, base, args.base, levels)


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
    cfg = FinetuneConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, patience=args.patience, seed=args.seed,
                         label_smoothing=args.label_smoothing)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    ft = Finetuner(model, tokenizer, train, val, prep.priority_levels,
                   [URGENCY_MAPPING[p] for p in prep.priority_levels], tags, cfg, args.max_length, args.work_dir)
    if args.resume and ft.load_checkpoint():
        log.info("resumed after epoch %d (best %d, macro-F1 %.4f)", len(ft.state.history), ft.state.best_epoch,
                 ft.state.best_macro_f1)
    elif ft.checkpoint_path.exists():
        ft.checkpoint_path.unlink()
    state = ft.run(log.info, stop_after=args.stop_after)
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
    if not ft.finished:
        log.info("stopped after epoch %d of %d in %.0fs; continue with --resume", len(ft.state.history), args.epochs,
                 time.time() - t0)
        return
    log.info("fine-tuning done in %.0fs (best epoch %d)", time.time() - t0, ft.state.best_epoch)
    final: Path = args.out
    # Everything is written into a sibling directory and renamed into place at the end: a crash never
    # leaves a new ONNX beside an old config.json.
    staging = final.parent / f".{final.name}.staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        args.out = staging
        finalize(args, prep, ft, log.info)
        write_card(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        args.out = final
    replace_dir(staging, final)
    log.info("wrote %s in %.0fs", final, time.time() - t0)


def replace_dir(new: Path, target: Path) -> None:
    """Swap `new` in for `target` with renames only: readers see the old or the new directory, never a mix."""
    old = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)
