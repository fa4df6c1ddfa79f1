"""Benchmark: wall time of `emotions --help` (start-up cost) and of synthesising fixture clips."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def _time_help(runs: int = 15) -> list[float]:
    exe = Path(sys.executable).with_name("emotions")
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([str(exe), "--help"], check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return samples


def _time_synth(per_class: int = 2) -> tuple[float, int]:
    from cleaning.synth import synthesize

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        clips = synthesize(tmp, per_class=per_class, seed=0)
        return time.perf_counter() - start, len(clips)


def main() -> None:
    help_s = _time_help()
    synth_s, n_clips = _time_synth()
    result = {
        "help_median_s": statistics.median(help_s),
        "help_max_s": max(help_s),
        "help_runs": len(help_s),
        "synth_clips": n_clips,
        "synth_total_s": synth_s,
        "synth_per_clip_s": synth_s / n_clips,
    }
    print(f"{'measure':<22}{'value':>10}")
    print(f"{'emotions --help p50':<22}{result['help_median_s']:>9.3f}s")
    print(f"{'emotions --help max':<22}{result['help_max_s']:>9.3f}s")
    print(f"{'synth per clip':<22}{result['synth_per_clip_s']:>9.3f}s  ({n_clips} clips, 320x240)")
    OUT.mkdir(exist_ok=True)
    (OUT / "cli.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
