"""Multi-task fine-tuning with per-epoch checkpoints, resume and early stopping on validation macro-F1."""
from __future__ import annotations

import json
import math
import random
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm
from transformers import get_linear_schedule_with_warmup

from .data import Dataset
from .metrics import classification, regression, softmax
from .model import TicketModel


@dataclass
class FinetuneConfig:
    epochs: int = 6
    batch_size: int = 16
    lr: float = 6e-5
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: float = 0.06
    patience: int = 2
    class_weight_power: float = 0.5
    aux_weight: float = 0.3
    urgency_mse_weight: float = 1.0
    max_tags: int = 64
    seed: int = 13
    # The queue labels are synthetic and noisy: a little smoothing keeps the encoder from memorising them.
    label_smoothing: float = 0.1


@dataclass
class EpochResult:
    epoch: int
    train_loss: float
    val_accuracy: float
    val_macro_f1: float
    val_urgency_rmse: float
    seconds: float


@dataclass
class FinetuneState:
    history: list[EpochResult] = field(default_factory=list)
    best_epoch: int = -1
    best_macro_f1: float = -1.0
    early_stopped: bool = False


def encode_texts(tokenizer, texts: list[str], max_length: int) -> list[list[int]]:
    return tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]


def collate(batch_ids: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(x) for x in batch_ids)
    ids = torch.full((len(batch_ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch_ids), width), dtype=torch.long)
    for i, x in enumerate(batch_ids):
        ids[i, : len(x)] = torch.tensor(x)
        mask[i, : len(x)] = 1
    return ids, mask


def by_length(ids_list: list[list[int]], batch_size: int) -> list[list[int]]:
    """Index batches of similar length, shortest first: inference pads little and scatters back by index."""
    order = sorted(range(len(ids_list)), key=lambda i: len(ids_list[i]))
    return [order[b : b + batch_size] for b in range(0, len(order), batch_size)]


def length_bucketed_batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Batches of similar length (little padding on 2 CPU cores), in random order."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], rng.random()))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def class_weights(y: np.ndarray, n: int, power: float) -> torch.Tensor:
    counts = np.bincount(y, minlength=n).astype(np.float64)
    w = np.where(counts > 0, (counts.sum() / np.maximum(counts, 1) / n) ** power, 0.0)
    w = w / (w[counts > 0].mean() if (counts > 0).any() else 1.0)
    return torch.tensor(w, dtype=torch.float32)


def tag_vocabulary(tags: list[list[str]], max_tags: int) -> list[str]:
    counts = Counter(t for row in tags for t in row)
    return [t for t, c in counts.most_common(max_tags) if c >= 5]


class Finetuner:
    def __init__(self, model: TicketModel, tokenizer, train: Dataset, val: Dataset, priority_levels: list[str],
                 priority_scores: list[float], tag_labels: list[str], cfg: FinetuneConfig, max_length: int,
                 work_dir: Path) -> None:
        self.model, self.tokenizer, self.train, self.val, self.cfg = model, tokenizer, train, val, cfg
        self.work_dir = work_dir
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.train_ids = encode_texts(tokenizer, train.texts, max_length)
        self.val_ids = encode_texts(tokenizer, val.texts, max_length)
        level = {p: i for i, p in enumerate(priority_levels)}
        # -1 = no priority: the row trains the queue (and the auxiliary heads it has labels for), not the urgency.
        self.train_prio = torch.tensor([level.get(p, -1) for p in train.priorities])
        self.priority_scores = torch.tensor(priority_scores, dtype=torch.float32)
        tag_index = {t: i for i, t in enumerate(tag_labels)}
        self.train_tags = torch.zeros((len(train), max(len(tag_labels), 1)))
        for r, row in enumerate(train.tags):
            for t in row:
                if t in tag_index:
                    self.train_tags[r, tag_index[t]] = 1.0
        self.has_tags = bool(tag_labels)
        self.tagged = torch.tensor([bool(row) for row in train.tags])  # rows whose file carries tags
        self.queue_loss = nn.CrossEntropyLoss(weight=class_weights(train.queues, len(train.labels), cfg.class_weight_power),
                                              label_smoothing=cfg.label_smoothing)
        labelled = self.train_prio.numpy()[self.train_prio.numpy() >= 0]
        self.prio_loss = nn.CrossEntropyLoss(weight=class_weights(labelled, len(priority_levels), cfg.class_weight_power))
        self.steps_per_epoch = math.ceil(len(train) / cfg.batch_size)
        self.optimizer = torch.optim.AdamW(self._param_groups(), lr=cfg.lr)
        total = self.steps_per_epoch * cfg.epochs
        self.scheduler = get_linear_schedule_with_warmup(self.optimizer, int(cfg.warmup * total), total)
        self.state = FinetuneState()

    def _param_groups(self) -> list[dict]:
        decay, no_decay, heads = [], [], []
        for name, p in self.model.named_parameters():
            if not name.startswith("encoder."):
                heads.append(p)
            # Embeddings get no decay: rows a batch never touches must stay exactly pretrained
            # (vocab-trimming cost is measured against that counterfactual).
            elif p.ndim < 2 or "LayerNorm" in name or "layer_norm" in name or "embeddings" in name:
                no_decay.append(p)
            else:
                decay.append(p)
        return [
            {"params": decay, "weight_decay": self.cfg.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
            {"params": heads, "weight_decay": self.cfg.weight_decay, "lr": self.cfg.head_lr},
        ]

    # -- checkpoints -------------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.work_dir / "checkpoint.pt"

    @property
    def best_path(self) -> Path:
        return self.work_dir / "best.pt"

    def save_checkpoint(self) -> None:
        tmp = self.checkpoint_path.with_suffix(".tmp")
        torch.save({
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "state": asdict(self.state),
            "rng": {"torch": torch.get_rng_state(), "python": random.getstate()},
        }, tmp)
        tmp.replace(self.checkpoint_path)

    def load_checkpoint(self) -> bool:
        if not self.checkpoint_path.is_file():
            return False
        ck = torch.load(self.checkpoint_path, weights_only=False)
        self.model.load_state_dict(ck["model"])
        self.optimizer.load_state_dict(ck["optimizer"])
        self.scheduler.load_state_dict(ck["scheduler"])
        s = ck["state"]
        self.state = FinetuneState([EpochResult(**h) for h in s["history"]], s["best_epoch"], s["best_macro_f1"], s["early_stopped"])
        torch.set_rng_state(ck["rng"]["torch"])
        random.setstate(ck["rng"]["python"])
        return True

    # -- loop ----------------------------------------------------------------------------------
    def _loss(self, out: dict[str, torch.Tensor], idx: list[int]) -> torch.Tensor:
        t = torch.tensor(idx)
        loss = self.queue_loss(out["queue"], torch.as_tensor(self.train.queues[idx]))
        prio = self.train_prio[t]
        has = prio >= 0
        if has.any():  # a batch of rows without priority teaches the queue only
            loss = loss + self.prio_loss(out["priority"][has], prio[has])
            expected = torch.softmax(out["priority"][has], dim=-1) @ self.priority_scores
            target = torch.as_tensor(self.train.urgency[idx])[has]
            loss = loss + self.cfg.urgency_mse_weight * nn.functional.mse_loss(expected, target)
        types = torch.as_tensor(self.train.types[idx])
        if (types >= 0).any():
            loss = loss + self.cfg.aux_weight * nn.functional.cross_entropy(out["type"], types, ignore_index=-1)
        tagged = self.tagged[t]
        if self.has_tags and tagged.any():
            loss = loss + self.cfg.aux_weight * nn.functional.binary_cross_entropy_with_logits(
                out["tags"][tagged], self.train_tags[t][tagged])
        return loss

    @property
    def finished(self) -> bool:
        return self.state.early_stopped or len(self.state.history) >= self.cfg.epochs

    def run(self, log, stop_after: int = 0) -> FinetuneState:
        """Trains the remaining epochs; `stop_after` > 0 returns after that many epochs in total (the
        checkpoint holds the rest of the state, so a --resume continues exactly where this stopped)."""
        start_epoch = len(self.state.history)
        if start_epoch == 0:
            # Only a fresh run seeds: a resumed one continues from the RNG state its checkpoint restored.
            torch.manual_seed(self.cfg.seed)
        for epoch in range(start_epoch, self.cfg.epochs):
            if self.state.early_stopped or (stop_after and epoch >= stop_after):
                break
            t0 = time.time()
            self.model.train()
            lengths = [len(x) for x in self.train_ids]
            batches = length_bucketed_batches(lengths, self.cfg.batch_size, random.Random(self.cfg.seed * 1000 + epoch))
            running = 0.0
            bar = tqdm(batches, desc=f"epoch {epoch + 1}/{self.cfg.epochs}", unit="batch", mininterval=10)
            for step, idx in enumerate(bar, start=1):
                ids, mask = collate([self.train_ids[i] for i in idx], self.pad_id)
                loss = self._loss(self.model(ids, mask), idx)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
                self.optimizer.step()
                self.scheduler.step()
                running += loss.item()
                bar.set_postfix(loss=f"{running / step:.3f}", refresh=False)
            val = self.evaluate_val()
            result = EpochResult(epoch + 1, running / max(len(batches), 1), val["accuracy"], val["macro_f1"],
                                 val["urgency_rmse"], time.time() - t0)
            self.state.history.append(result)
            improved = result.val_macro_f1 > self.state.best_macro_f1
            if improved:
                self.state.best_epoch, self.state.best_macro_f1 = result.epoch, result.val_macro_f1
                torch.save(self.model.state_dict(), self.best_path)
            log(f"epoch {result.epoch}: loss {result.train_loss:.4f} val acc {result.val_accuracy:.4f} "
                f"macro-F1 {result.val_macro_f1:.4f} urgency RMSE {result.val_urgency_rmse:.4f} "
                f"({result.seconds:.0f}s){' *best*' if improved else ''}")
            if result.epoch - self.state.best_epoch >= self.cfg.patience:
                log(f"early stop: no macro-F1 gain for {self.cfg.patience} epochs")
                self.state.early_stopped = True
            self.save_checkpoint()
        if self.finished:
            self.model.load_state_dict(torch.load(self.best_path))
        return self.state

    @torch.no_grad()
    def predict(self, ids_list: list[list[int]], batch_size: int = 32) -> dict[str, np.ndarray]:
        self.model.eval()
        queue: list[Any] = [None] * len(ids_list)
        prio: list[Any] = [None] * len(ids_list)
        pooled: list[Any] = [None] * len(ids_list)
        for idx in by_length(ids_list, batch_size):
            ids, mask = collate([ids_list[i] for i in idx], self.pad_id)
            out = self.model(ids, mask)
            for j, i in enumerate(idx):
                queue[i], prio[i], pooled[i] = out["queue"][j].numpy(), out["priority"][j].numpy(), out["pooled"][j].numpy()
        urgency = softmax(np.stack(prio)) @ self.priority_scores.numpy()
        return {"queue_logits": np.stack(queue), "urgency": urgency, "pooled": np.stack(pooled)}

    def evaluate_val(self) -> dict[str, float]:
        out = self.predict(self.val_ids)
        cls = classification(self.val.queues, out["queue_logits"].argmax(1), self.val.labels)
        has = self.val.has_priority
        rmse = regression(self.val.urgency[has], out["urgency"][has])["rmse"] if has.any() else float("nan")
        return {"accuracy": cls["accuracy"], "macro_f1": cls["macro_f1"], "urgency_rmse": rmse}


def write_history(state: FinetuneState, path: Path) -> None:
    path.write_text(json.dumps(asdict(state), indent=2))
