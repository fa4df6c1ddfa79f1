"""A built-dataset folder (manifest.csv + training cache) from a folder of labelled clips, for tests and profiling."""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from model.cache import build_cache


def dataset_from_clips(clips_dir: str | Path, out_dir: str | Path, *, test_fraction: float = 0.2, seed: int = 0,
                       fps: float | None = None, short_side: int = 128, workers: int = 2,
                       audio_only_label: bool = False) -> Path:
    """Cache every clip listed in `labels.csv` (file, category) and write `manifest.csv` with a stratified split.

    With `audio_only_label` each sample gets the frames of a random clip, so only its audio carries the label.
    Returns the manifest path. Columns: sample_id, category, split, frames, mfcc (paths relative to the manifest).
    """
    src, out = Path(clips_dir), Path(out_dir)
    cache = out / "cache"
    with (src / "labels.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("kind", "normal") == "normal"]

    def one(row: dict[str, str]) -> tuple[str, str, Path, Path | None]:
        frames, mfcc = build_cache(src / row["file"], cache, fps=fps, short_side=short_side)
        return Path(row["file"]).stem, row["category"], frames, mfcc

    with ThreadPoolExecutor(max_workers=workers) as pool:
        built = list(pool.map(one, rows))
    rng = random.Random(seed)
    by_class: dict[str, list[int]] = defaultdict(list)
    for i, (_, cat, _, _) in enumerate(built):
        by_class[cat].append(i)
    split = ["train"] * len(built)
    for members in by_class.values():
        rng.shuffle(members)
        for i in members[: max(1, round(len(members) * test_fraction))]:
            split[i] = "test"
    frame_sources = [b[2] for b in built]
    if audio_only_label:
        rng.shuffle(frame_sources)
    manifest = out / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sample_id", "category", "split", "frames", "mfcc"])
        for (sid, cat, _, mfcc), frames, sp in zip(built, frame_sources, split, strict=True):
            writer.writerow([sid, cat, sp, frames.relative_to(out).as_posix(),
                             mfcc.relative_to(out).as_posix() if mfcc else ""])
    return manifest
