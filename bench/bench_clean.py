"""Benchmark: cleaning cost per video against one plain ffmpeg decode, and near-duplicate grouping at 1M.

Usage: python bench/bench_clean.py [--clips DIR] [--limit N] [--hashes N]
Per video, the plain decode (`ffmpeg -i X -f null -`) and the full step list run back to back, so
both see the same machine load; the pool run compares throughput with every core busy.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "out"
CLIPS = Path(__file__).resolve().parents[2] / "shared" / "data" / "music_video_train"


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _plain_decode(path: Path) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-f", "null", "-"], check=True)


def per_video(files: list[Path]) -> dict:
    """Sequential, one process: plain decode vs probe + sha256 + all steps, interleaved per file."""
    from cleaning.recipe import load_recipe
    from cleaning.worker import clean_one
    from core.manifest import file_sha256

    recipe = load_recipe(None, workers=1).model_dump(mode="json")  # one video at a time: a one-worker run
    with tempfile.TemporaryDirectory() as tmp:
        def clean(index: int, path: Path) -> dict:
            task = {"index": index, "path": str(path), "source_path": str(path), "sha256": file_sha256(path)}
            return clean_one(task, recipe, tmp)

        clean(0, files[0])  # warm-up: imports and librosa's first-call compilation, paid once per worker
        wall = {"decode": 0.0, "clean": 0.0}
        cpu = {"decode": 0.0, "clean": 0.0}
        for i, path in enumerate(files):
            for kind, job in (("decode", lambda p=path: _plain_decode(p)), ("clean", lambda i=i, p=path: clean(i, p))):
                c0, t0 = _cpu(), time.perf_counter()
                row = job()
                wall[kind] += time.perf_counter() - t0
                cpu[kind] += _cpu() - c0
                if kind == "clean" and row["status"] != "kept":
                    raise SystemExit(f"{path} was not kept: {row['reason']} {row['detail']}")
    n = len(files)
    return {"videos": n, "decode_wall_s": wall["decode"] / n, "clean_wall_s": wall["clean"] / n,
            "decode_cpu_s": cpu["decode"] / n, "clean_cpu_s": cpu["clean"] / n,
            "wall_ratio": wall["clean"] / wall["decode"], "cpu_ratio": cpu["clean"] / cpu["decode"]}


def hd_clips(folder: Path, count: int, seconds: int = 25) -> list[Path]:
    """Portrait 720x1280 30 fps H.264/AAC clips of eMotions' mean length, like platform downloads."""
    from cleaning.ffmpeg import run_ffmpeg

    clips = []
    for i in range(count):
        path = folder / f"hd_{i}.mp4"
        run_ffmpeg(["-y", "-f", "lavfi", "-i", f"testsrc2=s=720x1280:r=30:d={seconds},hue=h={40 * i}",
                    "-f", "lavfi", "-i", f"sine=f={300 + 50 * i}:d={seconds}", "-c:v", "libx264",
                    "-preset", "veryfast", "-b:v", "1500k", "-c:a", "aac", "-b:a", "128k", "-ac", "2",
                    "-movflags", "+faststart", str(path)], timeout=600)
        clips.append(path)
    return clips


def pooled(files: list[Path], workers: int) -> dict:
    """Throughput with all cores: `workers` parallel plain decodes vs a full `run_clean` with the local pool."""
    from concurrent.futures import ThreadPoolExecutor

    from cleaning.executors import LocalExecutor
    from cleaning.pipeline import run_clean
    from cleaning.recipe import load_recipe

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for path in files:
            os.symlink(path, src / path.name)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(_plain_decode, files))
        decode = time.perf_counter() - t0
        t0 = time.perf_counter()
        summary = run_clean(src, Path(tmp) / "out", load_recipe(None, workers=workers),
                            executor=LocalExecutor(workers))
        clean = time.perf_counter() - t0
        shutil.rmtree(Path(tmp) / "out")
    return {"workers": workers, "decode_s": decode, "clean_s": clean, "ratio": clean / decode,
            "kept": summary["status"].get("kept", 0)}


def grouping(n: int, planted: int | None = None, seed: int = 0) -> dict:
    """Near-duplicate grouping of `n` random 16-frame signatures with `planted` (default 1 %) re-encode-like copies."""
    from cleaning.dedupe import near_duplicate_groups
    from cleaning.recipe import DedupeRule

    planted = planted if planted is not None else max(1, n // 100)
    rng = np.random.default_rng(seed)
    sigs = rng.integers(0, 2**64, size=(n, 16), dtype=np.uint64)
    durations = rng.uniform(2, 180, n)
    chosen = rng.choice(n, size=(planted, 2), replace=False)
    flips = rng.integers(0, 5, size=(planted, 16))
    for (a, b), counts in zip(chosen, flips, strict=True):
        copy = sigs[a].copy()
        for f, count in enumerate(counts):
            for bit in rng.choice(64, count, replace=False):
                copy[f] ^= np.uint64(1) << np.uint64(bit)
        sigs[b], durations[b] = copy, durations[a] * rng.uniform(0.97, 1.03)
    truth = {tuple(sorted(map(int, p))) for p in chosen}
    t0 = time.perf_counter()
    groups = near_duplicate_groups(sigs, durations, DedupeRule())
    seconds = time.perf_counter() - t0
    found = {tuple(g) for g in groups if len(g) == 2}
    return {"hashes": n, "planted_pairs": planted, "seconds": seconds, "recall": len(found & truth) / planted,
            "false_groups": len([g for g in groups if tuple(g) not in truth])}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=Path, default=CLIPS)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N clips")
    parser.add_argument("--hashes", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--hd", type=int, default=3, help="also measure N synthetic 720x1280 25 s clips")
    args = parser.parse_args(argv)
    files = sorted(args.clips.glob("*.mp4"))[: args.limit or None]
    if not files:
        raise SystemExit(f"no clips in {args.clips}")
    seq, pool, dedupe = per_video(files), pooled(files, args.workers), grouping(args.hashes)
    result = {"per_video": seq, "pool": pool, "grouping": dedupe}
    if args.hd:
        with tempfile.TemporaryDirectory() as tmp:
            result["per_video_hd"] = hd = per_video(hd_clips(Path(tmp), args.hd))
    print(f"{'measure':<44}{'value':>12}")
    print(f"{'videos (real clips)':<44}{seq['videos']:>12}")
    print(f"{'plain decode, wall per video':<44}{seq['decode_wall_s']:>11.3f}s")
    print(f"{'full step list, wall per video':<44}{seq['clean_wall_s']:>11.3f}s")
    print(f"{'ratio wall (target <= 1.5)':<44}{seq['wall_ratio']:>12.2f}")
    print(f"{'ratio CPU time':<44}{seq['cpu_ratio']:>12.2f}")
    print(f"{'pool of ' + str(pool['workers']) + ': plain decodes, all clips':<44}{pool['decode_s']:>11.2f}s")
    print(f"{'pool of ' + str(pool['workers']) + ': emotions clean, all clips':<44}{pool['clean_s']:>11.2f}s")
    print(f"{'ratio pool':<44}{pool['ratio']:>12.2f}")
    if "per_video_hd" in result:
        print(f"{'720x1280 25 s clips: plain decode / video':<44}{hd['decode_wall_s']:>11.3f}s")
        print(f"{'720x1280 25 s clips: full steps / video':<44}{hd['clean_wall_s']:>11.3f}s")
        print(f"{'720x1280 ratio wall / CPU':<44}{hd['wall_ratio']:>7.2f} / {hd['cpu_ratio']:.2f}")
    print(f"{'near-dup grouping of ' + format(dedupe['hashes'], ',') + ' (target < 60 s)':<44}"
          f"{dedupe['seconds']:>11.2f}s")
    print(f"{'  recall of planted pairs / false groups':<44}{dedupe['recall']:>8.3f} / {dedupe['false_groups']}")
    OUT.mkdir(exist_ok=True)
    (OUT / "clean.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    sys.exit(main())
