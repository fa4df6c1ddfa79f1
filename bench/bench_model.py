"""Benchmark: model-stage throughput (loader per worker, model step, full pipeline), FLOPs per clip, parameters."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def main() -> None:
    from model.config import preset
    from model.networks import build_model, count_parameters
    from model.profile import forward_flops, run_profile
    from model.trainer import pick_device

    dev = pick_device("auto")
    model_cfg = preset("paper" if dev.type == "cuda" else "small")
    if dev.type != "cuda":
        model_cfg = model_cfg.override("data", num_workers=1)
    with tempfile.TemporaryDirectory() as tmp:
        result = run_profile(preset("paper"), model_cfg, "av_canet", dev, Path(tmp), steps=3)
    paper = preset("paper")
    result["paper_params_m"] = count_parameters(build_model("av_canet", paper.net, load_pretrained=False)) / 1e6
    result["paper_forward_gflops_per_clip"] = forward_flops(paper, "av_canet") / 1e9
    width = max(map(len, result))
    for key, value in result.items():
        print(f"{key:<{width}}  {value:.3f}" if isinstance(value, float) else f"{key:<{width}}  {value}")
    OUT.mkdir(exist_ok=True)
    (OUT / "model.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    sys.exit(main())
