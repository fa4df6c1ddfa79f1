"""Filter steps: pure predicates over probe and decode results, each returning a reason or None."""

from __future__ import annotations

from typing import Any

from cleaning.steps import Video, requires
from core.records import Skip


class DurationFilter:
    """Keeps durations inside the recipe's window (default 2-180 s)."""

    name = "duration"

    def __init__(self, recipe: Any) -> None:
        self.rule = recipe.duration

    def __call__(self, video: Video) -> Skip | None:
        requires(video, "info", self.name)
        secs = video.info.duration_s
        if secs < self.rule.min_s:
            return Skip(reason="too_short", detail=f"{secs:.2f} s < {self.rule.min_s:g} s")
        if secs > self.rule.max_s:
            return Skip(reason="too_long", detail=f"{secs:.2f} s > {self.rule.max_s:g} s")
        return None


class ResolutionFilter:
    """Rejects pictures whose short side is below the minimum."""

    name = "resolution"

    def __init__(self, recipe: Any) -> None:
        self.rule = recipe.resolution

    def __call__(self, video: Video) -> Skip | None:
        requires(video, "info", self.name)
        short = min(video.info.width, video.info.height)
        if short < self.rule.min_short_side:
            size = f"{video.info.width}x{video.info.height}"
            return Skip(reason="low_resolution", detail=f"{size}: short side {short} < {self.rule.min_short_side}")
        return None


class AudioFilter:
    """Rejects videos without an audio stream when the recipe requires audio (the default)."""

    name = "audio"

    def __init__(self, recipe: Any) -> None:
        self.rule = recipe.audio

    def __call__(self, video: Video) -> Skip | None:
        requires(video, "info", self.name)
        if self.rule.required and not video.info.has_audio:
            return Skip(reason="no_audio_stream", detail="the file has no audio stream")
        return None


class BlackFilter:
    """Rejects videos whose sampled frames are mostly black."""

    name = "black"

    def __init__(self, recipe: Any) -> None:
        self.rule = recipe.black

    def __call__(self, video: Video) -> Skip | None:
        requires(video, "analysis", self.name)
        fraction = video.analysis.black_fraction(self.rule.min_dark_pixels)
        if fraction > self.rule.max_fraction:
            return Skip(reason="black_video", detail=f"{fraction:.0%} of sampled frames are black")
        return None


class StaticFilter:
    """Rejects frozen or still-picture videos (almost no change between sampled frames)."""

    name = "static"

    def __init__(self, recipe: Any) -> None:
        self.rule = recipe.static

    def __call__(self, video: Video) -> Skip | None:
        requires(video, "analysis", self.name)
        change = video.analysis.change_range()
        if change < self.rule.min_change:
            return Skip(reason="static_video", detail=f"pixels vary by {change:.2f} grey levels over the whole video")
        return None


class SilenceFilter:
    """Rejects videos whose audio never rises above the silence threshold."""

    name = "silence"

    def __init__(self, recipe: Any) -> None:
        self.rule = recipe.silence

    def __call__(self, video: Video) -> Skip | None:
        requires(video, "analysis", self.name)
        loudest = video.analysis.max_rms_dbfs
        if loudest is not None and loudest < self.rule.max_rms_dbfs:
            return Skip(reason="silent_audio", detail=f"loudest 50 ms at {loudest:.1f} dBFS")
        return None
