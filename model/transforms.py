"""Input transforms as pure functions: TSN frame sampling, square crop + resize, batched augmentation, MFCC fitting."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

CROP_POSITIONS = ("c", "tl", "tr", "bl", "br")


def sample_indices(n_frames: int, segments: int, frames: int, rng: np.random.Generator | None) -> np.ndarray:
    """Frame indices [segments * frames]: segment-wise TSN sampling of `frames` consecutive frames.

    Short videos are looped until at least segments * frames indices exist; each segment of length
    l = n // segments gets a random start in [0, l - frames] (rng given) or the centred one (rng None).
    """
    if n_frames <= 0:
        raise ValueError("no frames")
    need = segments * frames
    reps = max(1, math.ceil(need / n_frames))
    looped = np.arange(n_frames * reps) % n_frames
    seg_len = len(looped) // segments
    span = max(seg_len - frames, 0)
    starts = np.full(segments, span // 2) if rng is None else rng.integers(0, span + 1, size=segments)
    pos = np.arange(segments)[:, None] * seg_len + starts[:, None] + np.arange(frames)[None, :]
    return looped[np.minimum(pos, len(looped) - 1)].reshape(-1)


def crop_box(height: int, width: int, rng: np.random.Generator | None, mode: str) -> tuple[int, int, int]:
    """(top, left, side) of the square crop of the full short side.

    mode "code": one of five positions (centre or a corner; random in training, centre in evaluation);
    mode "paper": uniform random offset along the long side (= resize short side + random crop).
    """
    side = min(height, width)
    if rng is None:
        return (height - side) // 2, (width - side) // 2, side
    if mode == "paper":
        return int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1)), side
    pos = CROP_POSITIONS[int(rng.integers(0, len(CROP_POSITIONS)))]
    top = {"c": (height - side) // 2, "t": 0, "b": height - side}[pos[0] if pos != "c" else "c"]
    left = {"c": (width - side) // 2, "l": 0, "r": width - side}[pos[1] if pos != "c" else "c"]
    return top, left, side


def crop_resize(frames: np.ndarray, box: tuple[int, int, int], size: int) -> np.ndarray:
    """uint8 [N, H, W, C] -> uint8 [N, size, size, C]: square crop, then resize (area when shrinking a lot)."""
    import cv2

    top, left, side = box
    crop = frames[:, top:top + side, left:left + side]
    if side == size:
        return np.ascontiguousarray(crop)
    interp = cv2.INTER_AREA if side > 1.5 * size else cv2.INTER_LINEAR
    return np.stack([cv2.resize(np.ascontiguousarray(f), (size, size), interpolation=interp) for f in crop])


def decode_crop_resize(encoded: list[bytes], rng: np.random.Generator | None, mode: str, size: int) -> np.ndarray:
    """JPEG frames of one video -> RGB uint8 [N, size, size, 3] with one crop box for the whole video."""
    import cv2

    out = np.empty((len(encoded), size, size, 3), np.uint8)
    box = None
    interp = cv2.INTER_LINEAR
    for i, data in enumerate(encoded):
        try:
            img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        except cv2.error:
            img = None
        if img is None:
            raise ValueError(f"frame {i} does not decode")
        if box is None:
            box = crop_box(img.shape[0], img.shape[1], rng, mode)
            shape = img.shape
            interp = cv2.INTER_AREA if box[2] > 1.5 * size else cv2.INTER_LINEAR
        elif img.shape != shape:
            raise ValueError("frames differ in size")
        top, left, side = box
        crop = img[top:top + side, left:left + side]
        small = crop if side == size else cv2.resize(crop, (size, size), interpolation=interp)
        cv2.cvtColor(small, cv2.COLOR_BGR2RGB, dst=out[i])
    return out


def fit_mfcc(mfcc: np.ndarray, length: int, mode: str) -> np.ndarray:
    """[F, C] -> [length, C]. "tile": loop the sequence and truncate (VAANet); "center": centre-crop or zero-pad."""
    n, c = mfcc.shape
    if n == 0:
        return np.zeros((length, c), np.float32)
    if mode == "tile":
        reps = length // n + 1
        return np.tile(mfcc, (reps, 1))[:length].astype(np.float32)
    if n >= length:
        start = (n - length) // 2
        return mfcc[start:start + length].astype(np.float32)
    out = np.zeros((length, c), np.float32)
    out[:n] = mfcc
    return out


def to_model_layout(video: torch.Tensor) -> torch.Tensor:
    """Loader layout uint8 [B, s, T, H, W, 3] -> model layout float [B, s, 3, T, H, W] (values 0..255)."""
    return video.permute(0, 1, 5, 2, 3, 4).float()


def augment_batch(video: torch.Tensor, draws: torch.Tensor, *, mode: str = "code", p: float = 0.3,
                  rotate_deg: float = 20.0, brightness: tuple[float, float] = (0.5, 1.0)) -> torch.Tensor:
    """Per-video augmentation of float [B, s, 3, T, H, W] on its own device; one decision per video.

    `draws` [B, 3] are uniform numbers drawn per sample by the loader (so results depend neither on
    device nor on how samples are spread over processes). mode "code": with probability p exactly
    one of h-flip, rotation U(-deg, deg) (bilinear, black fill) or brightness x U(lo, hi).
    mode "paper": h-flip with probability 0.5.
    """
    b = video.shape[0]
    draw = draws.detach().float().cpu()
    if mode == "paper":
        flip, rot, bright = draw[:, 0] < 0.5, torch.zeros(b, dtype=torch.bool), torch.zeros(b, dtype=torch.bool)
        angle = factor = torch.zeros(b)
    else:
        apply = draw[:, 0] < p
        choice = (draw[:, 1] * 3).long().clamp_(max=2)
        flip, rot, bright = apply & (choice == 0), apply & (choice == 1), apply & (choice == 2)
        angle = (draw[:, 2] * 2 - 1) * rotate_deg
        factor = brightness[0] + draw[:, 2] * (brightness[1] - brightness[0])
    out = video
    if flip.any():
        idx = flip.nonzero().flatten().to(video.device)
        out = out.clone()
        out[idx] = out[idx].flip(-1)
    if rot.any():
        idx = rot.nonzero().flatten()
        sel = out[idx.to(video.device)]
        shape = sel.shape
        flat = sel.reshape(len(idx), -1, shape[-2], shape[-1])
        rad = angle[idx] * math.pi / 180
        cos, sin = torch.cos(rad), torch.sin(rad)
        theta = torch.stack([torch.stack([cos, -sin, torch.zeros_like(cos)], 1),
                             torch.stack([sin, cos, torch.zeros_like(cos)], 1)], 1).to(video.device, flat.dtype)
        grid = F.affine_grid(theta, list(flat.shape), align_corners=False)
        rotated = F.grid_sample(flat, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        out = out.clone() if out is video else out
        out[idx.to(video.device)] = rotated.reshape(shape)
    if bright.any():
        scale = torch.where(bright, factor, torch.ones(b)).to(video.device, video.dtype)
        out = (out * scale.view(b, *([1] * (video.dim() - 1)))).clamp(0, 255)
    return out
