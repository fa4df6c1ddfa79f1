"""Benchmark: the training cache at the source's frame rate (cap 30 fps, the paper's sampling) vs the 8 fps cap.

For real clips (default: the labelled music-video clips beside the checkout) it cleans each with the clean
stage's cache steps at both caps and reports: cache size per minute of video (frames and MFCC), frames per
second actually cached, and loader clips/s of one worker at the paper's sampling (16 snippets x 8 consecutive
frames, 112 x 112 crops, 4096 MFCC rows, training augmentation draws), wall and CPU time.

    python bench/bench_model_cache.py [--clips DIR] [--videos 8] [--loads 48]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
DEFAULT_CLIPS = Path(__file__).resolve().parents[2] / "shared" / "data" / "music_video_train"


def measure(videos: list[Path], max_fps: float, work: Path, loads: int) -> dict:
    from model.config import preset
    from model.data import CacheDataset, Item
    from model.prepare import cache_recipe, run_clean_stage

    t0 = time.perf_counter()
    rows = run_clean_stage(videos, work, cache_recipe(max_fps, 128, 32))
    clean_s = time.perf_counter() - t0
    kept = [r for r in rows.values() if r["status"] == "kept"]
    root = Path(kept[0]["_root"])
    minutes = sum(r["duration_s"] for r in kept) / 60
    frame_bytes = sum((root / r["frames"]).stat().st_size for r in kept)
    mfcc_bytes = sum((root / r["mfcc"]).stat().st_size for r in kept)
    paper = preset("paper")
    items = [Item(str(i), 0, "train", root / r["frames"], root / r["mfcc"]) for i, r in enumerate(kept)]
    ds = CacheDataset(items, paper.net, paper.data, train=True)
    ds[0]  # warm-up: imports, first JPEG decoder
    w0, c0 = time.perf_counter(), time.process_time()
    for i in range(loads):
        ds[(i % len(ds), 1 + i // len(ds))]
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    return {"max_fps": max_fps, "videos": len(kept), "video_minutes": round(minutes, 3),
            "cached_fps_mean": round(sum(r["cache_fps"] for r in kept) / len(kept), 3),
            "frames_mb_per_video_minute": round(frame_bytes / 2**20 / minutes, 2),
            "mfcc_mb_per_video_minute": round(mfcc_bytes / 2**20 / minutes, 3),
            "cache_mb_per_video_minute": round((frame_bytes + mfcc_bytes) / 2**20 / minutes, 2),
            "loader_clips_per_s_per_worker": round(loads / wall, 1),
            "loader_clips_per_cpu_s": round(loads / cpu, 1),
            "clean_s_per_video_minute": round(clean_s / minutes, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=Path, default=DEFAULT_CLIPS, help="folder with clips (+ labels.csv)")
    parser.add_argument("--videos", type=int, default=8, help="clips used (first N of labels.csv / name order)")
    parser.add_argument("--loads", type=int, default=48, help="clips loaded per measurement")
    args = parser.parse_args()
    labels = args.clips / "labels.csv"
    if labels.exists():
        with labels.open(encoding="utf-8") as handle:
            videos = [args.clips / r["file"] for r in csv.DictReader(handle)][: args.videos]
    else:
        videos = sorted(args.clips.glob("*.mp4"))[: args.videos]
    if not videos:
        sys.exit(f"no clips in {args.clips}")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for max_fps in (30.0, 8.0):
            results.append(measure(videos, max_fps, Path(tmp) / f"fps{max_fps:g}", args.loads))
    keys = list(results[0])
    width = max(map(len, keys))
    print(f"{'':<{width}}  " + "  ".join(f"cap {r['max_fps']:g} fps".rjust(12) for r in results))
    for key in keys[1:]:
        print(f"{key:<{width}}  " + "  ".join(f"{r[key]:>12}" for r in results))
    OUT.mkdir(exist_ok=True)
    (OUT / "model_cache.json").write_text(json.dumps({"clips": str(args.clips), "results": results}, indent=2))


if __name__ == "__main__":
    main()
