"""Prediction on raw video files: the clean stage caches them, then the evaluation dataset and loop score them."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from model.checkpoint import model_from_checkpoint
from model.data import LEGACY_CACHE_FPS, CacheDataset, Item, ShardSampler, make_loader
from model.evaluate import run_inference
from model.prepare import cache_videos
from model.trainer import pick_device


def predict_videos(checkpoint: str | Path, videos: list[str | Path], device: str = "auto", *,
                   work: str | Path | None = None) -> list[dict[str, Any]]:
    """Per video: {"video", "prediction", "probabilities": {class: p}} or {"video", "error"}.

    The videos go through cleaning's cache steps with the checkpoint's cache settings into `work` (a
    temporary folder by default), then through the same dataset, transforms and inference as `model eval`.
    """
    model, cfg, vocab, _ = model_from_checkpoint(checkpoint)
    dev = pick_device(device)
    with tempfile.TemporaryDirectory(prefix="emotions-predict-") as tmp:
        cached = cache_videos(videos, Path(work or tmp), max_fps=cfg.data.cache_fps or LEGACY_CACHE_FPS,
                              short_side=cfg.data.cache_short_side or 128, n_mfcc=cfg.net.n_mfcc)
        ok = [c for c in cached if c.error is None]
        items = [Item(c.video, 0, "predict", c.frames, c.mfcc) for c in ok]
        result = None
        if items:
            loader = make_loader(CacheDataset(items, cfg.net, cfg.data, train=False),
                                 ShardSampler(len(items), cfg.train.batch_size), cfg.data,
                                 cuda=dev.type == "cuda", workers=0)
            result = run_inference(model.to(dev), loader, dev, cfg.train.amp)
    scored: dict[str, dict[str, Any]] = {}
    if result is not None:
        for row, index in enumerate(result["index"]):
            item = items[index]
            if not result["valid"][row]:
                scored[item.sample_id] = {"error": "cached files unreadable"}
                continue
            probs = [float(p) for p in result["prob"][row]]
            scored[item.sample_id] = {"prediction": vocab.classes[int(result["pred"][row])],
                                      "probabilities": dict(zip(vocab.classes, probs, strict=True))}
    return [{"video": c.video, **({"error": c.error} if c.error is not None else scored[c.video])} for c in cached]
