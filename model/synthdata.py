"""A built-dataset folder (manifest.csv + training cache made by the clean stage) from labelled clips, for tests."""

from __future__ import annotations

import csv
import os
import random
from collections import defaultdict
from pathlib import Path

from model.prepare import cache_videos

POLICY_COLUMNS = ("cache_fps", "cache_max_fps", "cache_short_side")


def dataset_from_clips(clips_dir: str | Path, out_dir: str | Path, *, test_fraction: float = 0.2, seed: int = 0,
                       fps: float = 30.0, short_side: int = 128, n_mfcc: int = 32, workers: int = 2,
                       audio_only_label: bool = False, files: list[str] | None = None) -> Path:
    """Clean every clip listed in `labels.csv` (file, category) into the training cache and write `manifest.csv`.

    The split is stratified; with `audio_only_label` each sample gets the frames of a random clip, so only its
    audio carries the label. `files` limits the clips used. Returns the manifest path. Columns: sample_id,
    category, split, frames, mfcc (relative to the manifest), cache_fps, cache_max_fps, cache_short_side.
    """
    src, out = Path(clips_dir), Path(out_dir)
    with (src / "labels.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("kind", "normal") == "normal"
                and (files is None or r["file"] in files)]
    cached = cache_videos([src / r["file"] for r in rows], out / "work", max_fps=fps, short_side=short_side,
                          n_mfcc=n_mfcc, workers=workers)
    failed = [c for c in cached if c.error]
    if failed:
        raise RuntimeError(f"{failed[0].video}: {failed[0].error}")
    rng = random.Random(seed)
    by_class: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_class[row["category"]].append(i)
    split = ["train"] * len(rows)
    for members in by_class.values():
        rng.shuffle(members)
        for i in members[: max(1, round(len(members) * test_fraction))]:
            split[i] = "test"
    frame_sources = [c.frames for c in cached]
    if audio_only_label:
        rng.shuffle(frame_sources)
    manifest = out / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sample_id", "category", "split", "frames", "mfcc", *POLICY_COLUMNS])
        for row, c, frames, sp in zip(rows, cached, frame_sources, split, strict=True):
            writer.writerow([Path(row["file"]).stem, row["category"], sp, os.path.relpath(frames, out),
                             os.path.relpath(c.mfcc, out) if c.mfcc else "", c.fps, fps, short_side])
    return manifest
