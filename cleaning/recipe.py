"""The cleaning recipe: which steps run, their thresholds and output formats (YAML, validated)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.errors import ConfigError
from core.recipes import read_yaml_mapping

DEFAULT_STEPS = ("probe", "duration", "resolution", "audio", "analyse", "black", "static", "silence", "normalise")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DurationRule(_Section):
    min_s: float = Field(2.0, ge=0, description="shortest kept video, seconds")
    max_s: float = Field(180.0, gt=0, description="longest kept video, seconds")


class ResolutionRule(_Section):
    min_short_side: int = Field(112, ge=1, description="smallest kept short side in pixels (the model crops 112)")


class AudioRule(_Section):
    required: bool = Field(True, description="reject videos without an audio stream")


class AnalyseRule(_Section):
    timeout_s: float = Field(600.0, gt=0, description="kill one video's decode pass after this long")
    min_decoded_fraction: float = Field(
        0.9, gt=0, le=1, description="decoded duration / probed duration below this means a truncated file"
    )
    threads: int | None = Field(
        None, ge=0,
        description="decoder threads per video (0: ffmpeg decides; default: cores / workers, at least 1,"
                    " and one for frames of at most 640x360 pixels)",
    )


class BlackRule(_Section):
    pixel_luma: int = Field(32, ge=1, le=255, description="a pixel is dark below this grey value (0-255)")
    min_dark_pixels: float = Field(0.98, gt=0, le=1, description="a frame is black when this share of pixels is dark")
    max_fraction: float = Field(0.8, gt=0, le=1, description="reject when more sampled frames are black")


class StaticRule(_Section):
    min_change: float = Field(0.3, ge=0, description="reject when pixels vary less than this (mean max-min grey)")


class SilenceRule(_Section):
    max_rms_dbfs: float = Field(-50.0, description="reject when the loudest 50 ms window is quieter")


class CacheRule(_Section):
    fps: float = Field(30.0, gt=0, le=60, description="most training frames per second: frames are cached at the "
                       "source's own rate up to this (the paper samples consecutive native frames); 8 gives a "
                       "3-4x smaller cache whose snippets span 1 s")
    short_side: int = Field(128, ge=16, description="training frames' short side in pixels")
    jpeg_quality: int = Field(90, ge=10, le=100)
    n_mfcc: int = Field(32, ge=1)
    sample_rate: int = Field(44_100, ge=8000)
    n_fft: int = Field(2048, ge=64)
    hop_length: int = Field(512, ge=16)


class WebRule(_Section):
    enabled: bool = Field(True, description="write the web MP4 and poster (off: only the training cache, as "
                          "`model predict` needs)")
    max_short_side: int = Field(720, ge=64, description="web MP4s are scaled down to this short side")
    max_fps: float = Field(30.0, gt=0)
    max_video_kbps: int = Field(2500, ge=100, description="sources above it are re-encoded")
    crf: int = Field(23, ge=0, le=51)
    preset: str = "veryfast"
    audio_kbps: int = Field(128, ge=32)
    poster_short_side: int = Field(360, ge=32)
    poster_at: float = Field(0.1, ge=0, le=1, description="poster time as a fraction of the duration")


class DedupeRule(_Section):
    exact: bool = True
    near: bool = True
    frames: int = Field(16, ge=2, le=64, description="frames hashed per video at fixed relative positions")
    max_bits: int = Field(10, ge=0, le=64, description="Hamming distance under which two frame hashes match")
    min_matching: float = Field(2 / 3, gt=0, le=1, description="fraction of aligned frames that must match")
    max_duration_diff: float = Field(0.1, ge=0, description="relative duration difference allowed")
    bands: int = Field(48, ge=1, le=512, description="banding tables used to find candidate pairs")
    band_frames: int = Field(2, ge=1, description="frames contributing bits to one band key")
    band_bits: int = Field(16, ge=4, le=64, description="bits taken from each of those frames")
    keep: str = Field("quality", description="which member of a group is kept: quality (the best original: never "
                      "an upscale of another member, then the higher bitrate, then the earliest crawled) or first")
    upscale_detail: float = Field(0.85, gt=0, le=1, description="a member with more pixels than another but less "
                                  "than this share of its detail (at their common size) is an upscale of it")
    min_detail: float = Field(20.0, ge=0, description="members flatter than this (Laplacian variance, grey "
                              "levels squared) are not compared for upscaling")
    detail_frames: int = Field(8, ge=1, le=64, description="frames per member measured for detail")


class Recipe(_Section):
    """Everything one cleaning run needs beyond the environment; written resolved next to the output."""

    steps: tuple[str, ...] = DEFAULT_STEPS
    shard_size: int = Field(1000, ge=1, description="videos per manifest shard (the unit of resume)")
    workers: int | None = Field(None, ge=1, description="local processes (default: all cores)")
    duration: DurationRule = DurationRule()
    resolution: ResolutionRule = ResolutionRule()
    audio: AudioRule = AudioRule()
    analyse: AnalyseRule = AnalyseRule()
    black: BlackRule = BlackRule()
    static: StaticRule = StaticRule()
    silence: SilenceRule = SilenceRule()
    cache: CacheRule = CacheRule()
    web: WebRule = WebRule()
    dedupe: DedupeRule = DedupeRule()

    @model_validator(mode="after")
    def _known_steps(self) -> Recipe:
        from cleaning.steps import STEP_TYPES

        unknown = [s for s in self.steps if s not in STEP_TYPES]
        if unknown:
            raise ValueError(f"unknown step(s) {unknown}; known: {sorted(STEP_TYPES)}")
        if self.duration.min_s >= self.duration.max_s:
            raise ValueError("duration.min_s must be below duration.max_s")
        if self.dedupe.keep not in ("quality", "first"):
            raise ValueError("dedupe.keep must be 'quality' or 'first'")
        return self

    def digest(self) -> str:
        """A short hash of every setting that changes per-video results."""
        body = self.model_dump(mode="json", exclude={"workers"})
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def load_recipe(path: Path | str | None = None, *, cache_fps: float | None = None, **overrides: object) -> Recipe:
    """The recipe from a YAML file (missing keys take defaults); ConfigError names the bad key.

    `cache_fps` overrides `cache.fps` (the training cache's most frames per second)."""
    data: dict = read_yaml_mapping(path, "cleaning recipe") if path is not None else {}
    data.update({k: v for k, v in overrides.items() if v is not None})
    if cache_fps is not None:
        data["cache"] = {**(data.get("cache") or {}), "fps": cache_fps}
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'recipe'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid cleaning recipe: {problems}", remedy="fix the recipe YAML") from None
