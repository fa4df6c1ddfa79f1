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


def gather_results(result: dict[str, Any], world: int) -> dict[str, Any]:
    """Every rank's share of an evaluation, joined on every rank in sample-index order (identity for one process)."""
    if world == 1:
        return result
    import torch.distributed as dist

    parts: list[Any] = [None] * world
    dist.all_gather_object(parts, result)
    parts = [p for p in parts if len(p["index"])]
    if not parts:
        return result
    joined = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.argsort(joined["index"], kind="stable")
    return {k: v[order] for k, v in joined.items()}


def evaluate_checkpoint(checkpoint: str | Path, dataset: str | Path, split: str = "test", variant: str = "all",
                        device: str = "auto") -> tuple[dict[str, Any], Any, list, Path]:
    """Inference of a checkpoint on one split of a built dataset: (result, vocabulary, items, manifest).

    Refuses a dataset whose classes or training cache (frame rate, short side) differ from the checkpoint's."""
    from core.errors import ConfigError
    from model.checkpoint import model_from_checkpoint
    from model.data import CacheDataset, ShardSampler, check_policy, dataset_policy, load_items, make_loader
    from model.trainer import pick_device

    net, cfg, vocab, _ = model_from_checkpoint(checkpoint)
    items, data_vocab, manifest = load_items(dataset, variant)
    if list(data_vocab.classes) != list(vocab.classes):
        raise ConfigError(f"the dataset's classes {list(data_vocab.classes)} differ from the checkpoint's "
                          f"{list(vocab.classes)}")
    chosen = items if split == "all" else [i for i in items if i.split == split]
    if not chosen:
        raise ConfigError(f"no rows with split {split!r} in {manifest}")
    check_policy(cfg.data, dataset_policy(chosen), f"evaluating {Path(checkpoint).name}")
    dev = pick_device(device)
    loader = make_loader(CacheDataset(chosen, cfg.net, cfg.data, train=False),
                         ShardSampler(len(chosen), cfg.train.batch_size), cfg.data, cuda=dev.type == "cuda")
    return run_inference(net.to(dev), loader, dev, cfg.train.amp), vocab, chosen, manifest


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


def write_run_card(out_dir: Path, metrics: dict[str, Any], selection: str, best_epoch: int, arch: str,
                   dataset: str) -> Path:
    """card.md: what was trained, how the checkpoint was chosen (the paper's protocol flagged optimistic)."""
    chosen = {"val": f"best epoch on the val split (epoch {best_epoch}); the test split was not looked at to choose",
              "paper": f"best epoch on the test split (epoch {best_epoch}), the paper's protocol. **Optimistic**: "
                       "the split that reports the figures also chose the checkpoint, so they are not a held-out "
                       "estimate; use `--selection val` for one",
              "last": "the last epoch"}[selection]
    lines = [f"# Run card: {arch}", "", f"- dataset: `{dataset}`", f"- checkpoint selection: {chosen}",
             f"- reported split: {metrics['split']} ({metrics['n']} videos, {metrics.get('n_failed', 0)} failed)",
             f"- ACC {100 * metrics['acc']:.2f}  WA-F1 {100 * metrics['wa_f1']:.2f}  UAR {100 * metrics['uar']:.2f}",
             ""]
    path = out_dir / "card.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


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
