"""Builders of synthetic dataset-stage inputs: a clean manifest shard, a labels file, optional media files."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd
import pytest

from core.manifest import write_shard

PAPER_COUNTS = {"Excitation": 11739, "Fear": 954, "Neutral": 8795, "Relaxation": 2214, "Sadness": 2090,
                "Tension": 2204}
PLATFORMS = ("douyin", "kuaishou", "tiktok")


def sample_id(i: int) -> str:
    return hashlib.sha256(f"sample-{i}".encode()).hexdigest()


def write_project(
    root: Path,
    counts: Mapping[str, int],
    *,
    media: bool = False,
    seed: int = 7,
    extra_clean: list[dict] | None = None,
    extra_labels: list[dict] | None = None,
    row_hook: Callable[[int, dict, dict], None] | None = None,
) -> tuple[Path, Path]:
    """Write root/clean (one complete shard) and root/labels.csv; returns (labels, clean).

    `row_hook(i, clean_row, label_row)` may edit the rows in place (e.g. to add duplicate links).
    """
    rng = random.Random(seed)
    clean_rows, label_rows = [], []
    i = 0
    for cat, n in counts.items():
        for _ in range(n):
            sid = sample_id(i)
            row = {"id": sid, "source_path": f"in/{i}.mp4", "status": "kept", "platform": PLATFORMS[i % 3],
                   "duration_s": round(rng.uniform(2.5, 160.0), 2), "fps": 30.0, "sha256": sid,
                   "page_url": f"https://example.org/v/{i}"}
            if media:
                rel = f"web/{sid[:2]}/{sid}.mp4"
                path = root / "clean" / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(f"video {i}".encode())
                mfcc = root / "clean" / "mfcc" / f"{sid}.npy"
                mfcc.parent.mkdir(parents=True, exist_ok=True)
                mfcc.write_bytes(f"mfcc {i}".encode())
                row["web_mp4"], row["mfcc"] = rel, f"mfcc/{sid}.npy"
            label = {"sample_id": sid, "status": "resolved", "final_category": cat, "decided_stage": "member",
                     "note": f"n{i}"}
            if row_hook is not None:
                row_hook(i, row, label)
            clean_rows.append(row)
            label_rows.append(label)
            i += 1
    clean_rows += extra_clean or []
    label_rows += extra_labels or []
    clean = root / "clean"
    write_shard(clean, "clean", 0, clean_rows, {})
    labels = root / "labels.csv"
    pd.DataFrame(label_rows).to_csv(labels, index=False)
    return labels, clean


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., tuple[Path, Path]]:
    """Factory: project(counts, **kwargs) -> (labels.csv, clean folder) under a fresh tmp folder."""

    def make(counts: Mapping[str, int], **kwargs) -> tuple[Path, Path]:
        return write_project(tmp_path, counts, **kwargs)

    return make


def tree_digest(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under `root`."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}
