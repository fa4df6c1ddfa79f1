"""Run under torchrun (gloo): one tiny epoch of every registered architecture in both loss settings.

Usage: torchrun --nproc-per-node 2 tests/model/ddp_every_arch.py DATASET RUNS_DIR OUT_JSON
"""

from __future__ import annotations

import json
import math
import sys

import torch
import torch.distributed as dist

from model.config import preset
from model.networks import ARCHITECTURES
from model.trainer import train

SETTINGS = ({"multitask": False, "loss": "ce"}, {"multitask": True, "loss": "epce"})


def main(dataset: str, runs: str, out: str) -> None:
    torch.set_num_threads(1)
    done = {}
    for arch in ARCHITECTURES:
        for setting in SETTINGS:
            cfg = preset("tiny").override("train", arch=arch, epochs=1, batch_size=2, **setting)
            name = f"{arch}-{'multitask' if setting['multitask'] else 'single'}"
            result = train(cfg, dataset, runs_dir=runs, run_id=name, device="cpu", progress=False)
            losses = [s["loss"] for s in result.history["steps"]]
            done[name] = {"steps": len(losses), "finite": all(math.isfinite(v) for v in losses),
                          "n_test": result.metrics.get("n")}
    if dist.get_rank() == 0:
        with open(out, "w", encoding="utf-8") as handle:
            json.dump(done, handle)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:4])
