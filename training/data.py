"""Labelled-ticket CSV loading, validation and the stratified split."""
from __future__ import annotations

import csv
import hashlib
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

REQUIRED_COLUMNS = ("body", "queue")
# A row may lack a priority (some public copies of the data merged subject into body and dropped the
# rest): it still teaches the queue, and the urgency loss skips it; nothing invents a priority.
OPTIONAL_COLUMNS = ("subject", "priority", "type", "language", "tags")

# Priority → urgency target. Names cover both shipped taxonomies (low/medium/high and
# very_low … critical); the gaps keep "high" well above a 0.8-ish alert threshold and "medium"
# in the middle, so the regressor's score reads like the priority scale.
URGENCY_MAPPING: dict[str, float] = {
    "very_low": 0.0,
    "low": 0.15,
    "medium": 0.5,
    "high": 0.9,
    "critical": 1.0,
}


class DataError(ValueError):
    """A CSV the pipeline cannot train on; the message names the column or row."""


@dataclass
class DataFile:
    """One input CSV of a run: the card reports every figure on each file's held-back split."""
    path: str
    sha256: str
    rows: int


@dataclass
class Dataset:
    texts: list[str]
    queues: np.ndarray  # int ids into labels
    labels: list[str]
    priorities: list[str]  # "" when the row has no priority
    urgency: np.ndarray  # float32 targets from URGENCY_MAPPING, NaN when the row has no priority
    types: np.ndarray  # int ids into type_labels, -1 when absent
    type_labels: list[str]
    tags: list[list[str]]
    languages: list[str]
    sha256: str
    source: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # index into the run's files
    source_row: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # 0-based data row in that file

    def __post_init__(self) -> None:
        if len(self.source) != len(self.texts):
            self.source = np.zeros(len(self.texts), dtype=np.int64)
            self.source_row = np.arange(len(self.texts), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def has_priority(self) -> np.ndarray:
        return np.isfinite(self.urgency)

    def subset(self, idx: np.ndarray) -> Dataset:
        pick = lambda xs: [xs[i] for i in idx]  # noqa: E731
        return Dataset(
            texts=pick(self.texts), queues=self.queues[idx], labels=self.labels,
            priorities=pick(self.priorities), urgency=self.urgency[idx], types=self.types[idx],
            type_labels=self.type_labels, tags=pick(self.tags), languages=pick(self.languages),
            sha256=self.sha256, source=self.source[idx], source_row=self.source_row[idx],
        )


def ticket_text(subject: str, body: str) -> str:
    """The text the model sees; the service's `ticketText` does the same join."""
    subject = subject.strip()
    return f"{subject}\n{body}" if subject else body


def _unescape(value: str) -> str:
    # The published CSVs store newlines as the two characters "\n".
    return value.replace("\\r\\n", "\n").replace("\\n", "\n")


def load_csv(path: str | Path) -> Dataset:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    raw = path.read_bytes()
    csv.field_size_limit(sys.maxsize)
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or []
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise DataError(f"{path}: missing column(s) {', '.join(missing)} (found: {', '.join(columns) or 'none'})")
        rows = list(reader)
    if not rows:
        raise DataError(f"{path}: no data rows")

    texts, queues, priorities, types, tags, languages = [], [], [], [], [], []
    for line, row in enumerate(rows, start=2):
        body = _unescape(row.get("body") or "").strip()
        queue = (row.get("queue") or "").strip()
        priority = (row.get("priority") or "").strip().lower()
        if not body:
            raise DataError(f"{path}: row {line}: empty body")
        if not queue:
            raise DataError(f"{path}: row {line}: empty queue")
        if priority and priority not in URGENCY_MAPPING:
            raise DataError(f"{path}: row {line}: unknown priority {priority!r} (expected one of {', '.join(URGENCY_MAPPING)})")
        texts.append(ticket_text(_unescape(row.get("subject") or ""), body))
        queues.append(queue)
        priorities.append(priority)
        types.append((row.get("type") or "").strip())
        tags.append([t.strip() for t in (row.get("tags") or "").split("|") if t.strip()])
        languages.append((row.get("language") or "unknown").strip() or "unknown")

    labels = sorted(set(queues))
    type_labels = sorted({t for t in types if t})
    label_id = {q: i for i, q in enumerate(labels)}
    type_id = {t: i for i, t in enumerate(type_labels)}
    return Dataset(
        texts=texts,
        queues=np.array([label_id[q] for q in queues], dtype=np.int64),
        labels=labels,
        priorities=priorities,
        urgency=np.array([URGENCY_MAPPING.get(p, np.nan) for p in priorities], dtype=np.float32),
        types=np.array([type_id.get(t, -1) for t in types], dtype=np.int64),
        type_labels=type_labels,
        tags=tags,
        languages=languages,
        sha256=hashlib.sha256(raw).hexdigest(),
    )


def load_files(paths: list[Path]) -> tuple[Dataset, list[DataFile]]:
    """Several CSVs as one data set: queue and type labels are the union, each row remembers its file."""
    parts = [load_csv(p) for p in paths]
    labels = sorted({q for d in parts for q in d.labels})
    type_labels = sorted({t for d in parts for t in d.type_labels})
    queues, types = [], []
    for d in parts:
        queues.append(np.array([labels.index(d.labels[q]) for q in d.queues], dtype=np.int64))
        types.append(np.array([type_labels.index(d.type_labels[t]) if t >= 0 else -1 for t in d.types], dtype=np.int64))
    files = [DataFile(str(p), d.sha256, len(d)) for p, d in zip(paths, parts, strict=True)]
    ds = Dataset(
        texts=[t for d in parts for t in d.texts], queues=np.concatenate(queues), labels=labels,
        priorities=[p for d in parts for p in d.priorities], urgency=np.concatenate([d.urgency for d in parts]),
        types=np.concatenate(types), type_labels=type_labels, tags=[t for d in parts for t in d.tags],
        languages=[lang for d in parts for lang in d.languages],
        sha256=parts[0].sha256 if len(parts) == 1 else hashlib.sha256("".join(d.sha256 for d in parts).encode()).hexdigest(),
        source=np.concatenate([np.full(len(d), i, dtype=np.int64) for i, d in enumerate(parts)]),
        source_row=np.concatenate([np.arange(len(d), dtype=np.int64) for d in parts]),
    )
    return ds, files


@dataclass
class Split:
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def split_per_file(ds: Dataset, *, seed: int = 13) -> Split:
    """Each file split on its own (stratified, seeded), so every file has a held-back share whose rows no
    choice of the run ever saw; a file's split does not depend on which other files join the run."""
    parts = []
    for f in np.unique(ds.source):
        rows = np.flatnonzero(ds.source == f)
        s = stratified_split(ds.subset(rows), seed=seed)
        parts.append((rows[s.train], rows[s.val], rows[s.test]))
    return Split(*(np.sort(np.concatenate([p[k] for p in parts])) for k in range(3)))


def stratified_split(ds: Dataset, *, val: float = 0.1, test: float = 0.15, seed: int = 13) -> Split:
    """Stratified on queue × priority (no priority is a stratum of its own) where every stratum has enough
    rows, else on queue alone."""
    idx = np.arange(len(ds))
    pairs = np.array([f"{q}|{p}" for q, p in zip(ds.queues, ds.priorities, strict=True)])
    _, counts = np.unique(pairs, return_counts=True)
    strata = pairs if counts.min() >= 4 else _rare_merged(ds.queues.astype(str))
    train_val, test_idx = train_test_split(idx, test_size=test, random_state=seed, stratify=strata)
    rel_val = val / (1.0 - test)
    sub = None if strata is None else _rare_merged(strata[train_val])
    train_idx, val_idx = train_test_split(train_val, test_size=rel_val, random_state=seed, stratify=sub)
    return Split(np.sort(train_idx), np.sort(val_idx), np.sort(test_idx))


def _rare_merged(strata: np.ndarray) -> np.ndarray | None:
    """Classes with fewer than 2 rows cannot be stratified; fold them into one bucket."""
    values, counts = np.unique(strata, return_counts=True)
    rare = set(values[counts < 2])
    merged = np.array(["__rare__" if s in rare else s for s in strata])
    _, counts = np.unique(merged, return_counts=True)
    return merged if counts.min() >= 2 else None
