"""Benchmark: `emotions qa kappa` and `emotions qa consistency` end to end on 1,000,000 votes (333,334 x 3)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "out"
NAMES = ["Excitation", "Fear", "Neutral", "Relaxation", "Sadness", "Tension"]
SHARE = np.array([11739, 954, 8795, 2214, 2090, 2204]) / 27996


def _labels(rng: np.random.Generator, truth: np.ndarray, raters: int, skill: float = 0.7) -> np.ndarray:
    noise = rng.integers(0, 6, size=(len(truth), raters))
    keep = rng.random((len(truth), raters)) < skill
    return np.where(keep, truth[:, None], noise)


def write_inputs(folder: Path, n_items: int = 333_334, seed: int = 0) -> tuple[Path, Path]:
    """votes.csv (item,rater,category: n_items x 3 rows) and relabels.csv (the same volume in sets of 100)."""
    rng = np.random.default_rng(seed)
    names = np.array(NAMES)
    truth = rng.choice(6, size=n_items, p=SHARE)
    group = np.array(["A", "B", "C"])[np.arange(n_items) % 3]
    labels = _labels(rng, truth, 3)
    item = np.repeat(np.char.add("s", np.arange(n_items).astype(str)), 3)
    rater = np.char.add(np.repeat(np.char.lower(group), 3), np.tile(np.array(["1", "2", "3"]), n_items))
    votes = pd.DataFrame({"item": item, "rater": rater, "category": names[labels.ravel()]})
    votes_path = folder / "votes.csv"
    votes.to_csv(votes_path, index=False)
    set_no = np.arange(n_items) // 100
    stage = np.where(set_no % 2 == 0, "sA", "sB")
    relabels = pd.DataFrame({
        "stage": np.repeat(stage, 3), "group": np.repeat(group[set_no % 3], 3),
        "set_id": np.repeat(np.char.add("set", set_no.astype(str)), 3),
        "set_category": np.repeat(names[truth], 3), "item": item, "previous_label": np.repeat(names[truth], 3),
        "rater": rater, "label": names[labels.ravel()],
    })
    # one category per set: the set's category is its first sample's label
    first = relabels.groupby("set_id")["set_category"].transform("first")
    relabels["set_category"] = first
    relabels["previous_label"] = first
    relabels_path = folder / "relabels.csv"
    relabels.to_csv(relabels_path, index=False)
    return votes_path, relabels_path


def _time(argv: list[str], runs: int) -> list[float]:
    exe = Path(sys.executable).with_name("emotions")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([str(exe), *argv], check=True, capture_output=True, env=env)
        samples.append(time.perf_counter() - start)
    return samples


def main(runs: int = 3) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        votes, relabels = write_inputs(Path(tmp))
        n_votes = sum(1 for _ in votes.open()) - 1
        kappa = _time(["qa", "kappa", "--votes", str(votes), "--json"], runs)
        consistency = _time(["qa", "consistency", "--relabels", str(relabels), "--json"], runs)
    result = {"votes": n_votes, "runs": runs, "kappa_median_s": statistics.median(kappa), "kappa_max_s": max(kappa),
              "consistency_median_s": statistics.median(consistency), "consistency_max_s": max(consistency)}
    print(f"{'command':<28}{'median':>9}{'max':>9}   ({n_votes:,} votes, {runs} runs, start-up included)")
    print(f"{'emotions qa kappa':<28}{result['kappa_median_s']:>8.2f}s{result['kappa_max_s']:>8.2f}s")
    print(f"{'emotions qa consistency':<28}{result['consistency_median_s']:>8.2f}s{result['consistency_max_s']:>8.2f}s")
    OUT.mkdir(exist_ok=True)
    (OUT / "qa.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
