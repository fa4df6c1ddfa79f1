"""Benchmark: the training cache at the source's frame rate (cap 30 fps, the paper's sampling) vs the 8 fps cap.

For real clips (default: the labelled music-video clips beside the checkout) it cleans each with the clean
stage's cache steps at both caps and reports: cache size per minute of video (frames and MFCC), frames per
second actually cached, and loader clips/s of one worker at the paper's sampling (16 snippets x 8 consecutive
frames, 112 x 112 crops, 4096 MFCC rows, training augmentation draws), wall and CPU time.

It also times the alternative of no cache: decoding the same 16 x 8 frames from the source MP4 at train time
(PyAV, one thread, a seek per snippet, frames scaled to short side 128 and cropped to 112), frames only: the
MFCC would come on top.

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


def measure_decode(videos: list[Path], loads: int, segments: int = 16, snippet: int = 8) -> dict:
    """Clips/s of one worker decoding the paper's frame sample straight from the source files."""
    import random

    import av
    import cv2

    rng = random.Random(0)

    def sample(path: Path) -> int:
        frames = 0
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "SLICE"  # one core per loader worker, as the cache measurement
            duration = float(stream.duration * stream.time_base) if stream.duration else float(container.duration) / 1e6
            rate = float(stream.average_rate or 25)
            span = snippet / rate
            for k in range(segments):
                start = (duration - span) * (k + rng.random()) / segments
                container.seek(int(start / stream.time_base), stream=stream, backward=True)
                taken = 0
                for frame in container.decode(stream):
                    if frame.time is None or frame.time < start:
                        continue
                    rgb = frame.to_ndarray(format="rgb24")
                    h, w = rgb.shape[:2]
                    scale = 128 / min(h, w)
                    small = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
                    y, x = (small.shape[0] - 112) // 2, (small.shape[1] - 112) // 2
                    _ = small[y:y + 112, x:x + 112]
                    taken += 1
                    if taken == snippet:
                        break
                frames += taken
        return frames

    sample(videos[0])  # warm-up
    w0, c0 = time.perf_counter(), time.process_time()
    frames = sum(sample(videos[i % len(videos)]) for i in range(loads))
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    return {"decode_clips_per_s_per_worker": round(loads / wall, 1), "decode_clips_per_cpu_s": round(loads / cpu, 1),
            "frames_per_clip": round(frames / loads, 1)}


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
    decode = measure_decode(videos, args.loads)
    for key, value in decode.items():
        print(f"{'no cache: ' + key:<{width}}  {value:>12}")
    OUT.mkdir(exist_ok=True)
    (OUT / "model_cache.json").write_text(json.dumps({"clips": str(args.clips), "results": results,
                                                      "decode_from_mp4": decode}, indent=2))


if __name__ == "__main__":
    main()
