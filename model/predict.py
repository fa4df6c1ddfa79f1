"""Prediction on raw video files: decode and normalise on the fly like the training cache, six probabilities."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from model.cache import CacheError, compute_mfcc, decode_video
from model.checkpoint import model_from_checkpoint
from model.evaluate import autocast
from model.trainer import pick_device
from model.transforms import crop_box, crop_resize, fit_mfcc, sample_indices, to_model_layout


def video_to_inputs(path: str | Path, cfg) -> tuple[torch.Tensor, torch.Tensor]:
    """One file -> (uint8 [1, s, T, S, S, 3], float [1, q, n_mfcc]) with evaluation sampling (centred)."""
    net, data = cfg.net, cfg.data
    frames, audio = decode_video(path, fps=data.cache_fps, short_side=data.cache_short_side)
    if not frames:
        raise CacheError(f"{Path(path).name}: no decodable frames")
    idx = sample_indices(len(frames), net.segments, net.frames, None)
    unique, inverse = np.unique(idx, return_inverse=True)
    stack = np.stack([frames[i] for i in unique])
    box = crop_box(stack.shape[1], stack.shape[2], None, data.crop)
    clip = crop_resize(stack, box, net.image_size)[inverse.reshape(-1)]
    video = torch.from_numpy(np.ascontiguousarray(clip)).view(
        1, net.segments, net.frames, net.image_size, net.image_size, 3)
    mfcc = compute_mfcc(audio, n_mfcc=net.n_mfcc)
    return video, torch.from_numpy(fit_mfcc(mfcc, net.mfcc_len, data.audio_length_mode))[None]


@torch.no_grad()
def predict_videos(checkpoint: str | Path, videos: list[str | Path], device: str = "auto") -> list[dict[str, Any]]:
    """Per video: {"video", "prediction", "probabilities": {class: p}} or {"video", "error"}."""
    model, cfg, vocab, _ = model_from_checkpoint(checkpoint)
    dev = pick_device(device)
    model.to(dev)
    results: list[dict[str, Any]] = []
    for path in videos:
        try:
            video, mfcc = video_to_inputs(path, cfg)
        except (CacheError, OSError, ValueError) as exc:
            results.append({"video": str(path), "error": str(exc)})
            continue
        with autocast(dev, cfg.train.amp):
            logits = model(to_model_layout(video.to(dev)), mfcc.to(dev))["logits"].float()
        probs = torch.softmax(logits, -1)[0].cpu().tolist()
        results.append({"video": str(path), "prediction": vocab.classes[int(np.argmax(probs))],
                        "probabilities": dict(zip(vocab.classes, probs, strict=True))})
    return results
