"""DDP under torchrun (2 gloo processes): every registered architecture, with and without the multi-task loss."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from model.networks import ARCHITECTURES

SCRIPT = Path(__file__).with_name("ddp_every_arch.py")


@pytest.mark.timeout(300)
def test_every_architecture_trains_under_torchrun(synth_dataset, tmp_path):
    out = tmp_path / "ddp.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                           str(SCRIPT), str(synth_dataset), str(tmp_path / "runs"), str(out)],
                          env=env, capture_output=True, text=True, timeout=280)
    assert proc.returncode == 0, proc.stderr[-3000:]
    done = json.loads(out.read_text())
    assert set(done) == {f"{a}-{m}" for a in ARCHITECTURES for m in ("single", "multitask")}
    for name, run in done.items():
        # 12 train clips, micro-batch 2 per process: 3 optimizer steps; the 6 test clips scored once over both ranks
        assert run == {"steps": 3, "finite": True, "n_test": 6}, name
