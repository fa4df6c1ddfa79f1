"""Benchmark a built dataset: train + evaluate every (variant, architecture) pair, write a Table IV-style comparison."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from core.manifest import atomic_write_json, atomic_write_text
from model.config import Config
from model.trainer import train

ABBREVIATIONS = {"Excitation": "EX", "Fear": "FR", "Neutral": "NU", "Relaxation": "RE", "Sadness": "SD",
                 "Tension": "TN"}


def modality(arch: str) -> str:
    return {"visual_only": "V", "audio_only": "A"}.get(arch, "A+V")


def run_benchmark(dataset: str | Path, cfg: Config, *, variants: Sequence[str], archs: Sequence[str],
                  out_dir: str | Path, device: str = "auto", progress: bool = True,
                  on_result: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Train and evaluate each pair; results go to out_dir/{benchmark.md, benchmark.csv, benchmark.png, runs/}."""
    out = Path(out_dir)
    rows: list[dict[str, Any]] = []
    for variant in variants:
        for arch in archs:
            run_cfg = cfg.override("train", arch=arch).override("data", variant=variant)
            result = train(run_cfg, dataset, runs_dir=out / "runs", run_id=f"{variant}-{arch}", device=device,
                           progress=progress)
            m = result.metrics
            row = {"variant": variant, "arch": arch, "modality": modality(arch), "acc": m["acc"],
                   "wa_f1": m["wa_f1"], "uar": m["uar"], "per_class_acc": m["per_class_acc"], "n_test": m["n"],
                   "run": str(result.run_dir)}
            rows.append(row)
            if on_result is not None:
                on_result(row)
    write_tables(rows, out, variants, archs)
    return rows


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}"


def write_tables(rows: list[dict[str, Any]], out: Path, variants: Sequence[str], archs: Sequence[str]) -> None:
    """Markdown (values per cell as variant1 / variant2 / …, in %), CSV (one row per pair) and a bar chart."""
    out.mkdir(parents=True, exist_ok=True)
    lookup = {(r["variant"], r["arch"]): r for r in rows}
    classes = list(rows[0]["per_class_acc"]) if rows else []
    heads = [ABBREVIATIONS.get(c, c) for c in classes]

    def cell(arch: str, get: Callable[[dict[str, Any]], float]) -> str:
        return " / ".join(_pct(get(lookup[(v, arch)])) if (v, arch) in lookup else "–" for v in variants)

    lines = [f"Values in %, per cell: {' / '.join(variants)}.", "",
             "| method | mod | ACC | WA-F1 | UAR |", "|---|---|---|---|---|"]
    for arch in archs:
        lines.append(f"| {arch} | {modality(arch)} | {cell(arch, lambda r: r['acc'])} | "
                     f"{cell(arch, lambda r: r['wa_f1'])} | {cell(arch, lambda r: r['uar'])} |")
    lines += ["", "Per-class accuracy (recall):", "", "| method | " + " | ".join(heads) + " |",
              "|---|" + "---|" * len(heads)]
    for arch in archs:
        cells = [cell(arch, lambda r, c=c: r["per_class_acc"][c]) for c in classes]
        lines.append(f"| {arch} | " + " | ".join(cells) + " |")
    atomic_write_text(out / "benchmark.md", "\n".join(lines) + "\n")
    with (out / "benchmark.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["variant", "arch", "modality", "acc", "wa_f1", "uar", *[f"acc_{h}" for h in heads], "n_test"])
        for r in rows:
            writer.writerow([r["variant"], r["arch"], r["modality"], f"{r['acc']:.4f}", f"{r['wa_f1']:.4f}",
                             f"{r['uar']:.4f}", *[f"{r['per_class_acc'][c]:.4f}" for c in classes], r["n_test"]])
    atomic_write_json(out / "benchmark.json", rows)
    _figure(rows, out / "benchmark.png", variants, archs)


def _figure(rows: list[dict[str, Any]], path: Path, variants: Sequence[str], archs: Sequence[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    lookup = {(r["variant"], r["arch"]): r for r in rows}
    metrics = ("acc", "wa_f1", "uar")
    fig, axes = plt.subplots(1, len(variants), figsize=(4 + 2.5 * len(archs) * len(variants) / 2, 3.6), squeeze=False)
    width = 0.8 / max(len(archs), 1)
    for ax, variant in zip(axes[0], variants, strict=True):
        for k, arch in enumerate(archs):
            r = lookup.get((variant, arch))
            values = [100 * r[m] if r else 0.0 for m in metrics]
            ax.bar(np.arange(len(metrics)) + k * width, values, width, label=arch)
        ax.set_xticks(np.arange(len(metrics)) + width * (len(archs) - 1) / 2, ["ACC", "WA-F1", "UAR"])
        ax.set_ylim(0, 100)
        ax.set_title(variant)
    axes[0][0].set_ylabel("%")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
