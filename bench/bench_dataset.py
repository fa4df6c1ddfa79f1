"""Benchmark: building all three variants of a 27,996-sample dataset (manifests, splits, card; media hard-linked)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "out"
COUNTS = {"Excitation": 11739, "Fear": 954, "Neutral": 8795, "Relaxation": 2214, "Sadness": 2090, "Tension": 2204}
TARGET_S = 10.0


def _project(root: Path) -> tuple[Path, Path]:
    """A clean manifest with one small media file and one MFCC file per sample, and its labels."""
    import pandas as pd

    from core.manifest import write_shard

    rng = random.Random(0)
    rows, labels, i = [], [], 0
    for cat, n in COUNTS.items():
        for _ in range(n):
            sid = hashlib.sha256(f"bench-{i}".encode()).hexdigest()
            web, mfcc = f"web/{sid[:2]}/{sid}.mp4", f"mfcc/{sid[:2]}/{sid}.npy"
            for rel in (web, mfcc):
                path = root / "clean" / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(f"{rel}".encode())
            rows.append({"id": sid, "source_path": f"{i}.mp4", "status": "kept", "platform": ("douyin", "kuaishou",
                         "tiktok")[i % 3], "duration_s": round(rng.uniform(2.5, 160), 2), "fps": 30.0,
                         "web_mp4": web, "mfcc": mfcc})
            labels.append({"sample_id": sid, "category": cat, "status": "resolved", "decided_stage": "member"})
            i += 1
    write_shard(root / "clean", "clean", 0, rows, {})
    pd.DataFrame(labels).to_csv(root / "labels.csv", index=False)
    return root / "labels.csv", root / "clean"


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from dataset.build import build
    from dataset.recipe import load_recipe

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        labels, clean = _project(Path(tmp))
        setup_s = time.perf_counter() - start
        timings, cpu = {}, {}
        for media in ("none", "link"):
            start, start_cpu = time.perf_counter(), time.process_time()
            result = build(load_recipe(media=media), labels, clean, Path(tmp) / f"ds-{media}")
            timings[media] = time.perf_counter() - start
            cpu[media] = time.process_time() - start_cpu
    result_json = {
        "samples": sum(COUNTS.values()),
        "variants": {k: v["samples"] for k, v in result.variants.items()},
        "setup_s": round(setup_s, 2),
        "build_no_media_s": round(timings["none"], 2),
        "build_hard_links_s": round(timings["link"], 2),
        "build_no_media_cpu_s": round(cpu["none"], 2),
        "build_hard_links_cpu_s": round(cpu["link"], 2),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "target_s": TARGET_S,
    }
    print(f"{'measure':<34}{'value':>10}")
    print(f"{'samples (all / balanced / test)':<34}{'/'.join(str(v) for v in result_json['variants'].values()):>10}")
    print(f"{'build, no media':<34}{timings['none']:>9.2f}s  (CPU {cpu['none']:.2f} s)")
    print(f"{'build, media + MFCC hard-linked':<34}{timings['link']:>9.2f}s  (CPU {cpu['link']:.2f} s; "
          f"target < {TARGET_S:.0f} s)")
    print(f"{'load average (1 min)':<34}{os.getloadavg()[0]:>10.2f}")
    OUT.mkdir(exist_ok=True)
    (OUT / "dataset.json").write_text(json.dumps(result_json, indent=2))


if __name__ == "__main__":
    main()
