"""PNG figures for QA reports (matplotlib, Agg backend): heatmaps, bar charts and histograms as bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=110)
    _plt().close(fig)
    return buffer.getvalue()


def heatmap(values: np.ndarray, rows: Sequence[str], cols: Sequence[str], title: str, *, fmt: str = "{:.2f}",
            vmin: float | None = None, vmax: float | None = None, cmap: str = "viridis") -> bytes:
    """A labelled heatmap with the value written in each cell (blank for NaN)."""
    plt = _plt()
    values = np.asarray(values, dtype=float)
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(cols), 1.0 + 0.45 * len(rows)))
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(len(cols)), labels=list(cols), rotation=35, ha="right")
    ax.set_yticks(range(len(rows)), labels=list(rows))
    finite = values[np.isfinite(values)]
    lo = vmin if vmin is not None else (finite.min() if finite.size else 0)
    hi = vmax if vmax is not None else (finite.max() if finite.size else 1)
    middle = (lo + hi) / 2
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            if np.isfinite(values[i, j]):
                ax.text(j, i, fmt.format(values[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if values[i, j] < middle else "black")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, shrink=0.8)
    return _png(fig)


def bars(labels: Sequence[str], values: Sequence[float], title: str, *, ylabel: str = "",
         low: Sequence[float] | None = None, high: Sequence[float] | None = None,
         ylim: tuple[float, float] | None = None) -> bytes:
    """A bar chart, with error bars from `low`..`high` when given, and the value above each bar."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(labels) + 1.5), 3.4))
    vals = np.asarray(values, dtype=float)
    err = None
    if low is not None and high is not None:
        err = np.vstack([vals - np.asarray(low, dtype=float), np.asarray(high, dtype=float) - vals])
        err = np.where(np.isfinite(err), err, 0)
    ax.bar(range(len(labels)), vals, yerr=err, capsize=4, color="#4c72b0")
    ax.set_xticks(range(len(labels)), labels=list(labels), rotation=20 if len(labels) > 4 else 0)
    tops = vals if err is None else vals + err[1]
    for x, (v, top) in enumerate(zip(vals, tops, strict=True)):
        ax.annotate(f"{v:.2f}", (x, top), textcoords="offset points", xytext=(0, 4), ha="center", fontsize=8)
    if ylim:
        ax.set_ylim(*ylim)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return _png(fig)


def histogram(values: Sequence[float], title: str, *, bins=10, xlabel: str = "", value_range=None) -> bytes:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.hist(np.asarray(values, dtype=float), bins=bins, range=value_range, color="#55a868", edgecolor="white")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.set_title(title)
    return _png(fig)


def stacked_votes(datasets: Sequence[str], histograms: Sequence[Sequence[int]], title: str) -> bytes:
    """Share of votes 1..5 per dataset as horizontal stacked bars."""
    plt = _plt()
    counts = np.asarray(histograms, dtype=float)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(7, 1.0 + 0.5 * len(datasets)))
    left = np.zeros(len(datasets))
    colours = ["#c44e52", "#dd8452", "#cccccc", "#8fbc8f", "#4c72b0"]
    for k in range(5):
        ax.barh(range(len(datasets)), shares[:, k], left=left, color=colours[k], label=str(k + 1))
        left += shares[:, k]
    ax.set_yticks(range(len(datasets)), labels=list(datasets))
    ax.set_xlim(0, 1)
    ax.legend(title="rating", fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_xlabel("share of votes")
    ax.set_title(title)
    return _png(fig)
