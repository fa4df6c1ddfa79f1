"""Benchmark: real labelled clips trained and tested with the cache at the source's rate (cap 30) vs at 8 fps.

The same clips, split (stratified, seed 0), preset, training seeds and protocol for both caches; only
cleaning's `cache.fps` differs. Prints ACC / WA-F1 / UAR on the test split and writes bench/out/model_real.json.

    python bench/bench_model_real.py [--clips DIR] [--config small] [--epochs 10] [--test-fraction 0.2] [--seeds 1 2 3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
DEFAULT_CLIPS = Path(__file__).resolve().parents[2] / "shared" / "data" / "music_video_train"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=Path, default=DEFAULT_CLIPS, help="folder with clips + labels.csv")
    parser.add_argument("--config", default="small")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--selection", default="last", choices=["last", "paper"])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="training seeds (split seed 0)")
    args = parser.parse_args()

    from model.config import load_config
    from model.synthdata import dataset_from_clips
    from model.trainer import train

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for max_fps in (30.0, 8.0):
            ds = Path(tmp) / f"fps{max_fps:g}"
            dataset_from_clips(args.clips, ds, test_fraction=args.test_fraction, seed=0, fps=max_fps)
            for seed in args.seeds:
                cfg = load_config(args.config).override("train", epochs=args.epochs, selection=args.selection,
                                                        seed=seed)
                cfg = cfg.override("data", num_workers=args.workers)
                t0 = time.perf_counter()
                result = train(cfg, ds, runs_dir=Path(tmp) / "runs", run_id=f"fps{max_fps:g}-seed{seed}",
                               device="auto", progress=False)
                m = result.metrics
                rows.append({"cache_max_fps": max_fps, "seed": seed, "config": args.config, "epochs": args.epochs,
                             "selection": args.selection, "n_test": m["n"], "acc": m["acc"], "wa_f1": m["wa_f1"],
                             "uar": m["uar"], "seconds": round(time.perf_counter() - t0, 1)})
                r = rows[-1]
                print(f"cache <= {max_fps:g} fps, seed {seed}: ACC {100 * r['acc']:.1f}  WA-F1 {100 * r['wa_f1']:.1f}"
                      f"  UAR {100 * r['uar']:.1f}  ({r['n_test']} test clips, {r['seconds']} s)", flush=True)
    for max_fps in (30.0, 8.0):
        mine = [r for r in rows if r["cache_max_fps"] == max_fps]
        means = {k: sum(r[k] for r in mine) / len(mine) for k in ("acc", "wa_f1", "uar")}
        print(f"cache <= {max_fps:g} fps, mean of {len(mine)} seeds: ACC {100 * means['acc']:.1f}  "
              f"WA-F1 {100 * means['wa_f1']:.1f}  UAR {100 * means['uar']:.1f}")
    OUT.mkdir(exist_ok=True)
    (OUT / "model_real.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
