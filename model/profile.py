"""Throughput profile: input pipeline alone, model step alone on synthetic tensors, the full pipeline, FLOPs, MFU."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from model.config import Config
from model.data import CacheDataset, RankBatchSampler, load_items, make_loader
from model.evaluate import autocast
from model.losses import build_loss, multitask_loss
from model.networks import build_model
from model.transforms import augment_batch, to_model_layout

# Dense BF16 tensor-core peaks (vendor datasheets), matched against torch.cuda.get_device_name in this order:
# the first key found in the name wins, so the specific forms come before the family name.
PEAK_BF16_TFLOPS = (("H100 PCIe", 756.0), ("H100 NVL", 835.0), ("H100", 989.0), ("H200", 989.0),
                    ("GH200", 989.0), ("B200", 2250.0), ("A100", 312.0), ("L40S", 362.0), ("L4", 121.0),
                    ("A10", 125.0), ("4090", 165.0))


def _jpeg_stream(frames: list[np.ndarray]) -> bytes:
    """Synthetic RGB frames as concatenated JPEGs (a container the cache reader accepts); profiling only."""
    import cv2

    return b"".join(cv2.imencode(".jpg", np.ascontiguousarray(f[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 90])[1]
                    .tobytes() for f in frames)


def synthetic_cache(out_dir: str | Path, *, videos: int = 6, n_frames: int = 200, height: int = 228,
                    width: int = 128, mfcc_frames: int = 2150, seed: int = 0) -> Path:
    """Portrait clips at the cache's short side 128 (moving gradients + grain, ~25 s at ~10 fps) and MFCCs."""
    out = Path(out_dir)
    cache = out / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    rows = []
    for v in range(videos):
        frames = []
        for t in range(n_frames):
            base = np.stack([(xx * 2 + t * 3 + 40 * c + v * 17) % 256 for c in range(3)], -1)
            base += (yy[..., None] / height) * 60 + rng.normal(0, 3, (height, width, 3))
            frames.append(np.clip(base, 0, 255).astype(np.uint8))
        (cache / f"v{v}.frames").write_bytes(_jpeg_stream(frames))
        np.save(cache / f"v{v}.mfcc.npy", (rng.normal(0, 30, (mfcc_frames, 32))).astype(np.float16))
        rows.append([f"v{v}", "Neutral", "train", f"cache/v{v}.frames", f"cache/v{v}.mfcc.npy"])
    with (out / "manifest.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sample_id", "category", "split", "frames", "mfcc"])
        writer.writerows(rows)
    return out / "manifest.csv"


def loader_clips_per_s(cfg: Config, manifest: Path, *, clips: int = 48) -> tuple[float, float]:
    """One worker's throughput (decode + sample + crop + MFCC), measured in-process.

    Returns (clips per wall second, clips per CPU second); the second is what one dedicated core gives
    and is the fairer number on a shared machine.
    """
    items, _, _ = load_items(manifest)
    ds = CacheDataset(items, cfg.net, cfg.data, train=True)
    ds[0]  # warm-up (imports, caches)
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(clips):
        ds.set_epoch(i // len(ds) + 1)
        ds[i % len(ds)]
    return clips / (time.perf_counter() - t0), clips / max(time.process_time() - c0, 1e-9)


def forward_flops(cfg: Config, arch: str) -> float:
    """Forward FLOPs of one clip (2 x MACs), counted on meta tensors (no real compute)."""
    from torch.utils.flop_counter import FlopCounterMode

    net = cfg.net
    with torch.device("meta"):
        model = build_model(arch, net, load_pretrained=False)
        video = torch.zeros(1, net.segments, 3, net.frames, net.image_size, net.image_size)
        mfcc = torch.zeros(1, net.mfcc_len, net.n_mfcc)
    model.eval()
    counter = FlopCounterMode(display=False)
    with counter:
        model(video, mfcc)
    return float(counter.get_total_flops())


def _step_fn(cfg: Config, arch: str, dev: torch.device):
    model = build_model(arch, cfg.net, load_pretrained=False).to(dev).train()
    net = torch.compile(model) if cfg.train.compile and dev.type == "cuda" else model
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.train.lr)
    polarity = [0, 2, 1, 0, 2, 2] if cfg.net.num_classes == 6 else [1] * cfg.net.num_classes
    crit = build_loss("epce", polarity, cfg.train.gamma).to(dev)
    d = cfg.data

    def step(video_u8: torch.Tensor, mfcc: torch.Tensor, label: torch.Tensor, draws: torch.Tensor) -> None:
        video = augment_batch(to_model_layout(video_u8.to(dev, non_blocking=True)), draws, mode=d.crop, p=d.augment_p)
        with autocast(dev, cfg.train.amp):
            out = net(video, mfcc.to(dev, non_blocking=True))
        multitask_loss(crit, out, label.to(dev)).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    return step


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


def model_clips_per_s(cfg: Config, arch: str, dev: torch.device, *, steps: int = 5, warmup: int = 2) -> float:
    """Training steps (forward, backward, AdamW) on synthetic uint8 tensors already in memory."""
    net, b = cfg.net, cfg.train.batch_size
    step = _step_fn(cfg, arch, dev)
    video = torch.randint(0, 256, (b, net.segments, net.frames, net.image_size, net.image_size, 3), dtype=torch.uint8)
    mfcc = torch.randn(b, net.mfcc_len, net.n_mfcc) * 30
    label, draws = torch.randint(0, net.num_classes, (b,)), torch.rand(b, 3)
    if dev.type == "cuda":
        video, mfcc = video.to(dev), mfcc.to(dev)
    for _ in range(warmup):
        step(video, mfcc, label, draws)
    _sync(dev)
    t0 = time.perf_counter()
    for _ in range(steps):
        step(video, mfcc, label, draws)
    _sync(dev)
    return steps * b / (time.perf_counter() - t0)


def pipeline_clips_per_s(cfg: Config, arch: str, dev: torch.device, manifest: Path, *, steps: int = 5
                         ) -> tuple[float, float, float]:
    """Loader (with cfg.data's workers) feeding training steps, end to end: (clips/s, seconds per step, share of
    the step time spent waiting for the next batch)."""
    items, _, _ = load_items(manifest)
    items = items * max(1, (steps + 2) * cfg.train.batch_size // len(items) + 1)
    ds = CacheDataset(items, cfg.net, cfg.data, train=True)
    loader = make_loader(ds, RankBatchSampler(len(ds), cfg.train.batch_size), cfg.data, cuda=dev.type == "cuda")
    step = _step_fn(cfg, arch, dev)
    it = iter(loader)
    for _ in range(2):
        b = next(it)
        step(b["video"], b["mfcc"], b["label"], b["draws"])
    _sync(dev)
    t0 = time.perf_counter()
    n, waited = 0, 0.0
    for _ in range(steps):
        w0 = time.perf_counter()
        b = next(it)
        waited += time.perf_counter() - w0
        step(b["video"], b["mfcc"], b["label"], b["draws"])
        n += len(b["label"])
    _sync(dev)
    total = time.perf_counter() - t0
    return n / total, total / steps, waited / total


def _workers(cfg: Config) -> int:
    from model.data import default_workers

    return cfg.data.num_workers if cfg.data.num_workers is not None else default_workers()


def peak_flops(dev: torch.device) -> float | None:
    if dev.type != "cuda":
        return None
    tflops = peak_bf16_tflops(torch.cuda.get_device_name(dev))
    return None if tflops is None else tflops * 1e12


def peak_bf16_tflops(device_name: str) -> float | None:
    """Dense BF16 peak of a card from its CUDA name (e.g. 'NVIDIA H100 PCIe' -> 756), None when unknown."""
    return next((tflops for key, tflops in PEAK_BF16_TFLOPS if key in device_name), None)


def run_profile(loader_cfg: Config, model_cfg: Config, arch: str, dev: torch.device, work_dir: Path, *,
                loader_clips: int = 48, steps: int = 5) -> dict[str, Any]:
    """All measurements; `loader_cfg` fixes the sampling (paper: 16 x 8 x 112^2), `model_cfg` the model size."""
    manifest = synthetic_cache(work_dir)
    result: dict[str, Any] = {"device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
                              "arch": arch, "threads": torch.get_num_threads()}
    wall, cpu = loader_clips_per_s(loader_cfg, manifest, clips=loader_clips)
    result["loader_clips_per_s_per_worker"] = wall
    result["loader_clips_per_cpu_s"] = cpu
    frames_file = next((work_dir / "cache").glob("*.frames"))
    result["cache_kb_per_frame"] = frames_file.stat().st_size / 1024 / 200
    fwd = forward_flops(model_cfg, arch)
    result["forward_gflops_per_clip"] = fwd / 1e9
    result["train_gflops_per_clip"] = 3 * fwd / 1e9
    result["model_clips_per_s"] = model_clips_per_s(model_cfg, arch, dev, steps=steps)
    rate, step_s, wait = pipeline_clips_per_s(model_cfg, arch, dev, manifest, steps=steps)
    result["pipeline_clips_per_s"], result["step_time_s"], result["input_wait_share"] = rate, step_s, wait
    result["pipeline_over_model"] = result["pipeline_clips_per_s"] / result["model_clips_per_s"]
    result["achieved_tflops"] = 3 * fwd * result["model_clips_per_s"] / 1e12
    peak = peak_flops(dev)
    if peak:
        result["peak_bf16_tflops"] = peak / 1e12
        result["mfu"] = 3 * fwd * result["model_clips_per_s"] / peak
    result["model_sampling"] = (f"{model_cfg.net.segments}x{model_cfg.net.frames}x{model_cfg.net.image_size}^2, "
                                f"batch {model_cfg.train.batch_size}, workers {_workers(model_cfg)}")
    return result
