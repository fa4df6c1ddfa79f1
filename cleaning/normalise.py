"""Normalise step: turns the decode pass's scratch outputs into content-addressed derived files."""

from __future__ import annotations

import shutil
from typing import Any

from cleaning.audio import mfcc_from_samples, mfcc_matrix, npy_bytes
from cleaning.steps import Video, requires
from cleaning.store import store_bytes, store_file
from core.records import Skip


class NormaliseStep:
    """Stores the web MP4, poster, mono WAV, JPEG frame pack and MFCC matrix of a video that passed."""

    name = "normalise"

    def __init__(self, recipe: Any) -> None:
        self.cache = recipe.cache

    def __call__(self, video: Video) -> Skip | None:
        requires(video, "analysis", self.name)
        a, out = video.analysis, video.out
        derived = video.derived
        derived["frames"] = store_bytes(out, "frames", a.frame_pack(), ".frames")
        if a.wav is not None and a.wav.exists():
            c = self.cache
            if a.mfcc is not None:
                mfcc = a.mfcc
            elif a.samples is not None and a.sample_rate == c.sample_rate:
                mfcc = mfcc_from_samples(a.samples, c.sample_rate, c.n_mfcc, c.n_fft, c.hop_length)
            else:
                mfcc = mfcc_matrix(a.wav, c)
            derived["mfcc"] = store_bytes(out, "mfcc", npy_bytes(mfcc), ".npy")
            derived["wav"] = store_file(out, "wav", a.wav, ".wav")
        if a.web is not None and a.web.exists():
            derived["web_mp4"] = store_file(out, "web", a.web, ".mp4")
        if a.poster is not None and a.poster.exists() and a.poster.stat().st_size > 0:
            derived["poster"] = store_file(out, "poster", a.poster, ".jpg")
        # what the model checks a cache against: the rate the frames were taken at, the recipe's cap, the short side
        video.fields.update(cache_frames=len(a.jpegs), cache_fps=a.fps, cache_max_fps=self.cache.fps,
                            cache_short_side=self.cache.short_side)
        shutil.rmtree(video.scratch, ignore_errors=True)
        return None
