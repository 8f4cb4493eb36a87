"""Metrics shared by the pipeline and the model card."""
from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(probs: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0))))


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """Temperature scaling (Guo et al., 2017): the T minimising validation NLL."""
    res = minimize_scalar(lambda t: nll(softmax(logits, t), y), bounds=(0.05, 20.0), method="bounded")
    return float(res.x)


def power_calibrate(probs: np.ndarray, t: float) -> np.ndarray:
    p = np.power(np.clip(probs, 1e-12, 1.0), 1.0 / t)
    return p / p.sum(axis=1, keepdims=True)


def fit_power_temperature(probs: np.ndarray, y: np.ndarray) -> float:
    res = minimize_scalar(lambda t: nll(power_calibrate(probs, t), y), bounds=(0.05, 20.0), method="bounded")
    return float(res.x)


def fit_confidence_map(probs: np.ndarray, y: np.ndarray) -> dict[str, list[float]]:
    """Isotonic regression of top-1 correctness on top-1 confidence, as the knots of a non-decreasing piecewise-
    linear map. A power temperature rescales every confidence alike; a retrieval vote makes some predictions
    much surer than others (a near-duplicate found or not), which only a monotone map of the confidence fixes."""
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip", increasing=True)
    iso.fit(probs.max(axis=1), (probs.argmax(axis=1) == y).astype(np.float64))
    return {"x": [float(a) for a in iso.X_thresholds_], "y": [float(b) for b in iso.y_thresholds_]}


def apply_confidence_map(probs: np.ndarray, cmap: dict[str, list[float]] | None) -> np.ndarray:
    """The top class's probability becomes map(confidence); the others keep their ratios and share the rest. The
    top class never drops below the runner-up, so the ranking is unchanged (as in the worker's blend.ts)."""
    if not cmap:
        return probs
    out = probs.astype(np.float64, copy=True)
    rows = np.arange(len(out))
    top = out.argmax(axis=1)
    p1 = out[rows, top]
    p2 = np.sort(out, axis=1)[:, -2] if out.shape[1] > 1 else np.zeros(len(out))
    rest = 1.0 - p1
    ok = rest > 1e-12
    g = np.interp(p1, cmap["x"], cmap["y"])
    floor = np.minimum(p1, p2 / np.where(ok, rest + p2, 1.0) + 1e-9)
    g = np.maximum(g, floor)
    scale = np.where(ok, (1.0 - g) / np.where(ok, rest, 1.0), 1.0)
    out *= scale[:, None]
    out[rows, top] = np.where(ok, g, p1)
    return out


def ece(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error of the top-1 confidence, equal-width bins."""
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for lo, hi in itertools.pairwise(edges):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            total += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(total)


def classification(y: np.ndarray, pred: np.ndarray, labels: list[str]) -> dict:
    ids = list(range(len(labels)))
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=ids, zero_division=0)
    wp, wr, wf, _ = precision_recall_fscore_support(y, pred, labels=ids, average="weighted", zero_division=0)
    return {
        "weighted_avg": {"precision": float(wp), "recall": float(wr), "f1": float(wf)},
        "accuracy": float(accuracy_score(y, pred)),
        "macro_f1": float(f1_score(y, pred, labels=ids, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(y, pred, labels=ids, average="weighted", zero_division=0)),
        "per_class": {
            labels[i]: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i in ids
        },
        "confusion": confusion_matrix(y, pred, labels=ids).tolist(),
    }


def regression(target: np.ndarray, score: np.ndarray) -> dict:
    err = score - target
    return {"rmse": float(np.sqrt(np.mean(err**2))), "mae": float(np.mean(np.abs(err)))}


def alert_quality(score: np.ndarray, is_high: np.ndarray, threshold: float) -> dict:
    alert = score >= threshold
    tp = int((alert & is_high).sum())
    return {
        "threshold": float(threshold),
        "alerts": int(alert.sum()),
        "precision": float(tp / alert.sum()) if alert.any() else 0.0,
        "recall": float(tp / is_high.sum()) if is_high.any() else 0.0,
    }


def pick_alert_threshold(score: np.ndarray, is_high: np.ndarray, min_precision: float = 0.6,
                         min_alerts: int = 10) -> float:
    """The lowest threshold (most recall) whose validation precision for truly-high tickets is at
    least `min_precision`, judged only where at least `min_alerts` tickets would alert."""
    candidates = np.round(np.arange(0.30, 0.991, 0.01), 2)
    feasible = [t for t in candidates
                if (score >= t).sum() >= min_alerts and alert_quality(score, is_high, t)["precision"] >= min_precision]
    return float(min(feasible)) if feasible else float(candidates[-1])


def coverage(probs: np.ndarray, y: np.ndarray, cutoffs: tuple[float, ...] = (0.5, 0.7, 0.85, 0.95)) -> list[dict]:
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    rows = []
    for c in cutoffs:
        m = conf >= c
        rows.append({"min_confidence": c, "share": float(m.mean()),
                     "accuracy": float(correct[m].mean()) if m.any() else None})
    return rows
