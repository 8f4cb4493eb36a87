"""The held-back figures a card reports, for the union of a run's files and for each file's own share."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from .data import URGENCY_MAPPING, DataFile, Dataset
from .metrics import alert_quality, classification, coverage, ece, nll, regression

# The alert target: of the tickets that alert, this share must truly be high priority.
ALERT_MIN_PRECISION = 0.8
LENGTH_PERCENTILES = (5, 25, 50, 75, 95)


def per_language(ds: Dataset, pred: np.ndarray) -> dict[str, dict[str, float]]:
    langs = np.array(ds.languages)
    return {lang: {"n": int((langs == lang).sum()), "accuracy": float((pred[langs == lang] == ds.queues[langs == lang]).mean())}
            for lang in sorted(set(ds.languages))}


def distribution(values: np.ndarray, bins: int = 10) -> dict[str, list[float]]:
    hist, edges = np.histogram(values, bins=bins, range=(0.0, 1.0))
    return {"edges": [float(e) for e in edges], "share": [float(h) / max(len(values), 1) for h in hist]}


def token_length_reference(lengths: np.ndarray, max_length: int) -> dict:
    """The drift reference for input length in tokens (after truncation). Percentile bins alone tie when many texts
    reach `max_length`, so the histogram's edges are the distinct percentiles below `max_length`, then a bin of its
    own for truncated texts ([max_length, max_length]); shares follow the service's histogram rule (a value falls in
    the last bin whose lower edge it reaches; the last bin includes its upper edge)."""
    lengths = np.asarray(lengths)
    percentiles = {str(q): float(np.percentile(lengths, q)) for q in LENGTH_PERCENTILES}
    edges = [0.0, *sorted({c for c in percentiles.values() if 0 < c < max_length}), float(max_length), float(max_length)]
    inner = np.searchsorted(np.array(edges[1:-1]), lengths, side="right")  # bins below max_length: 0 … len(edges) - 3
    share = np.bincount(np.minimum(inner, len(edges) - 2), minlength=len(edges) - 1) / max(len(lengths), 1)
    return {
        "token_length_percentiles": percentiles,
        "token_length": {"edges": edges, "share": [float(x) for x in share]},
        "truncated_share": float((lengths >= max_length).mean()),
    }


def high_vs_low_auc(ds: Dataset, score: np.ndarray) -> float | None:
    """ROC AUC of the urgency score separating the top priority level from the bottom one (middle levels
    and rows without a priority left out)."""
    levels = sorted({p for p in ds.priorities if p}, key=lambda p: URGENCY_MAPPING[p])
    if len(levels) < 2:
        return None
    pri = np.array(ds.priorities)
    m = (pri == levels[0]) | (pri == levels[-1])
    y = pri[m] == levels[-1]
    return float(roc_auc_score(y, score[m])) if 0 < y.sum() < len(y) else None


def is_high(ds: Dataset) -> np.ndarray:
    return np.nan_to_num(ds.urgency, nan=0.0) >= URGENCY_MAPPING["high"]


def urgency_report(ds: Dataset, scores: dict[str, np.ndarray], served: np.ndarray, threshold: float,
                   train_mean: float) -> dict:
    """Urgency figures over the rows that have a priority (the others have no truth to compare with)."""
    has = ds.has_priority
    if not has.any():
        return {"rows_with_priority": 0}
    sub = ds.subset(np.flatnonzero(has))
    s = served[has]
    pri = np.array(sub.priorities)
    return {
        "rows_with_priority": int(has.sum()),
        **{name: regression(sub.urgency, v[has]) for name, v in scores.items()},
        "constant_mean": regression(sub.urgency, np.full(len(sub), train_mean)),
        "auc_high_vs_low": {name: high_vs_low_auc(sub, v[has]) for name, v in scores.items()},
        "distribution": distribution(s),
        "percentiles": {str(q): float(np.percentile(s, q)) for q in (5, 25, 50, 75, 95)},
        "by_priority": {p: float(s[pri == p].mean()) for p in sorted(set(pri), key=lambda p: URGENCY_MAPPING[p])},
        "alert": {**alert_quality(s, is_high(sub), threshold), "base_rate": float(is_high(sub).mean())},
    }


def queue_report(ds: Dataset, preds: dict[str, np.ndarray], served_probs: np.ndarray) -> dict:
    pred = served_probs.argmax(1)
    return {
        "rows": len(ds),
        "comparison": {name: classification(ds.queues, p, ds.labels) for name, p in preds.items()},
        "served": {**classification(ds.queues, pred, ds.labels), "nll": nll(served_probs, ds.queues),
                   "ece": ece(served_probs, ds.queues), "coverage": coverage(served_probs, ds.queues),
                   "per_language": per_language(ds, pred)},
        "per_language": {name: per_language(ds, p) for name, p in preds.items()},
    }


def file_reports(test: Dataset, files: list[DataFile], split_sizes: list[dict], preds: dict[str, np.ndarray],
                 served_probs: np.ndarray, urgency: dict[str, np.ndarray], served_urgency: np.ndarray,
                 threshold: float, train_mean: float) -> list[dict]:
    """One entry per input file: its split sizes, test rows and every figure on its own held-back share."""
    out = []
    for i, f in enumerate(files):
        m = test.source == i
        idx = np.flatnonzero(m)
        sub = test.subset(idx)
        out.append({
            "path": f.path, "sha256": f.sha256, "rows": f.rows,
            "split": {**split_sizes[i], "test_rows": [int(r) for r in test.source_row[idx]]},
            **queue_report(sub, {k: v[idx] for k, v in preds.items()}, served_probs[idx]),
            "urgency": urgency_report(sub, {k: v[idx] for k, v in urgency.items()}, served_urgency[idx], threshold,
                                      train_mean),
        })
    return out
