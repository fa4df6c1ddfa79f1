"""Evaluation metrics of the paper (ACC, WA-F1, UAR, per-class accuracy) and the confusion matrix, in numpy."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int) -> np.ndarray:
    """[C, C] counts, rows = true class, columns = predicted class."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return cm


def metrics_from_confusion(cm: np.ndarray, class_names: Sequence[str]) -> dict:
    """ACC (= WAR), WA-F1 (support-weighted F1), UAR (mean recall, empty classes count 0), per-class recall."""
    cm = np.asarray(cm, dtype=np.float64)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    tp = np.diag(cm)
    total = support.sum()
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return {
        "acc": float(tp.sum() / total) if total else 0.0,
        "wa_f1": float((f1 * support).sum() / total) if total else 0.0,
        "uar": float(recall.mean()) if len(recall) else 0.0,
        "per_class_acc": {name: float(r) for name, r in zip(class_names, recall, strict=True)},
        "confusion": cm.astype(np.int64).tolist(),
        "n": int(total),
    }


def evaluate_predictions(y_true: Sequence[int], y_pred: Sequence[int], class_names: Sequence[str]) -> dict:
    """All metrics for one split; see metrics_from_confusion."""
    return metrics_from_confusion(confusion_matrix(y_true, y_pred, len(class_names)), class_names)


def accuracy(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    t, p = np.asarray(y_true), np.asarray(y_pred)
    return float((t == p).mean()) if len(t) else 0.0
