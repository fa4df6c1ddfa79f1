"""Evaluation: one pass over a split, the paper's metrics, and run outputs (metrics.json, confusion, t-SNE)."""

from __future__ import annotations

import csv
import logging
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from core.manifest import atomic_write_json
from model.metrics import accuracy, evaluate_predictions
from model.transforms import to_model_layout

log = logging.getLogger(__name__)


def autocast(device: torch.device, enabled: bool):
    """bf16 autocast on CUDA when enabled; a no-op elsewhere."""
    if device.type == "cuda" and enabled:
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return nullcontext()


@torch.no_grad()
def run_inference(model: nn.Module, loader: DataLoader, device: torch.device, amp: bool = True) -> dict[str, Any]:
    """Predictions of every sample of `loader`: labels, preds, probs, unimodal preds, embeddings, validity."""
    model.eval()
    keys = ("label", "pred", "pred_v", "pred_a", "index", "valid")
    acc: dict[str, list] = {k: [] for k in (*keys, "prob", "embedding")}
    for batch in loader:
        video = to_model_layout(batch["video"].to(device, non_blocking=True))
        mfcc = batch["mfcc"].to(device, non_blocking=True)
        with autocast(device, amp):
            out = model(video, mfcc)
        logits = out["logits"].float()
        acc["label"].append(batch["label"])
        acc["pred"].append(logits.argmax(-1).cpu())
        acc["prob"].append(torch.softmax(logits, -1).cpu())
        for key, name in (("pred_v", "logits_v"), ("pred_a", "logits_a")):
            acc[key].append(out[name].float().argmax(-1).cpu() if name in out else torch.full_like(batch["label"], -1))
        acc["embedding"].append(out["embedding"].float().cpu())
        acc["index"].append(batch["index"])
        acc["valid"].append(batch["valid"])
    if not acc["label"]:
        return {k: np.zeros(0) for k in acc}
    return {k: torch.cat(v).numpy() for k, v in acc.items()}


def split_metrics(result: dict[str, Any], classes: Sequence[str]) -> dict[str, Any]:
    """The paper's metrics over valid samples plus unimodal accuracies and the count of failed samples."""
    valid = result["valid"].astype(bool) if len(result["valid"]) else np.zeros(0, bool)
    y, p = result["label"][valid], result["pred"][valid]
    metrics = evaluate_predictions(y, p, classes)
    for key, name in (("pred_v", "visual_acc"), ("pred_a", "audio_acc")):
        pv = result[key][valid]
        if len(pv) and (pv >= 0).all():
            metrics[name] = accuracy(y, pv)
    metrics["n_failed"] = int((~valid).sum())
    return metrics


def save_confusion_png(confusion: Sequence[Sequence[int]], classes: Sequence[str], path: Path, title: str) -> None:
    """Row-normalised confusion matrix with counts, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(confusion, dtype=float)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1.1 * len(classes) + 2, 1.0 * len(classes) + 1.5))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, f"{norm[i, j]:.2f}\n({int(cm[i, j])})", ha="center", va="center", fontsize=7,
                    color="white" if norm[i, j] > 0.5 else "black")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def save_tsne_png(embedding: np.ndarray, labels: np.ndarray, classes: Sequence[str], path: Path, *,
                  max_points: int = 2000, seed: int = 0) -> bool:
    """2-D t-SNE of the fused embeddings coloured by true class; False when there are too few points."""
    if len(embedding) < 5:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    rng = np.random.default_rng(seed)
    keep = rng.permutation(len(embedding))[:max_points]
    emb, lab = embedding[keep], labels[keep]
    points = TSNE(n_components=2, perplexity=min(30.0, (len(emb) - 1) / 3), init="pca", random_state=seed,
                  ).fit_transform(emb.astype(np.float32))
    fig, ax = plt.subplots(figsize=(6, 5))
    cmap = plt.get_cmap("tab10")
    for c, name in enumerate(classes):
        sel = lab == c
        if sel.any():
            ax.scatter(points[sel, 0], points[sel, 1], s=8, color=cmap(c % 10), label=name)
    ax.legend(fontsize=7, markerscale=2)
    ax.set_title("t-SNE of fused embeddings")
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def write_outputs(out_dir: Path, split: str, result: dict[str, Any], classes: Sequence[str],
                  sample_ids: Sequence[str], extra: dict[str, Any] | None = None, *, tsne_max_points: int = 2000,
                  seed: int = 0) -> dict[str, Any]:
    """metrics.json (top-level acc, wa_f1, uar, per_class_acc, confusion for `split`), PNGs, predictions.csv."""
    metrics = {"split": split, **split_metrics(result, classes), "classes": list(classes), **(extra or {})}
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out_dir / "metrics.json", metrics)
    save_confusion_png(metrics["confusion"], classes, out_dir / "confusion.png",
                       f"{split}: ACC {metrics['acc']:.3f}  WA-F1 {metrics['wa_f1']:.3f}  UAR {metrics['uar']:.3f}")
    valid = result["valid"].astype(bool)
    save_tsne_png(result["embedding"][valid], result["label"][valid], classes, out_dir / "tsne.png",
                  max_points=tsne_max_points, seed=seed)
    with (out_dir / "predictions.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sample_id", "label", "pred", "valid", *[f"p_{c}" for c in classes]])
        for i, idx in enumerate(result["index"]):
            writer.writerow([sample_ids[idx], classes[result["label"][i]], classes[result["pred"][i]],
                             bool(result["valid"][i]), *[f"{v:.5f}" for v in result["prob"][i]]])
    return metrics
