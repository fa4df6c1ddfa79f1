"""Probe step: what a file holds (container, codecs, duration, fps, size, rotation, audio), read in-process
with PyAV and, for files PyAV cannot read, with ffprobe."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from cleaning import ffmpeg, libav, sniff
from cleaning.steps import Video
from core.errors import MediaError
from core.records import Skip

# Demuxers that ffprobe uses for single pictures: a still image named .mp4 is not a video.
_IMAGE_FORMATS = ("image2", "_pipe", "gif", "webp", "apng")
_IMAGE_CODECS = {"png", "mjpeg", "bmp", "gif", "webp", "tiff", "jpeg2000", "apng", "pam", "ppm", "pgm"}


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """The facts cleaning needs from ffprobe; sizes are display sizes (rotation applied)."""

    container: str
    duration_s: float
    video_s: float  # the video stream's own duration (the container's when the stream has none)
    video_codec: str | None
    pix_fmt: str | None
    width: int
    height: int
    rotation: int
    fps: float
    vfr: bool
    video_kbps: float | None
    audio_codec: str | None
    audio_streams: int
    sample_rate: int | None
    channels: int | None

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None

    @property
    def has_audio(self) -> bool:
        return self.audio_streams > 0


def _rate(text: str | None) -> float:
    try:
        value = Fraction(text or "0")
    except (ValueError, ZeroDivisionError):
        return 0.0
    return float(value) if value > 0 else 0.0


def _float(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if out == out and out >= 0 else None  # drops NaN and negatives


def _rotation(stream: dict[str, Any]) -> int:
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            return round(float(side["rotation"])) % 360
    rotate = (stream.get("tags") or {}).get("rotate")
    return int(float(rotate)) % 360 if rotate else 0


def parse_probe(data: dict[str, Any]) -> MediaInfo:
    """MediaInfo from ffprobe's JSON; raises MediaError when no duration can be established."""
    fmt = data.get("format") or {}
    streams = data.get("streams") or []
    videos = [s for s in streams if s.get("codec_type") == "video"
              and not (s.get("disposition") or {}).get("attached_pic")]
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    video = videos[0] if videos else {}
    audio = audios[0] if audios else {}
    duration = _float(fmt.get("duration")) or _float(video.get("duration")) or _float(audio.get("duration"))
    if duration is None:
        raise MediaError("no duration in the container or its streams")
    rotation = _rotation(video) if video else 0
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if rotation in (90, 270):
        width, height = height, width
    real, avg = _rate(video.get("r_frame_rate")), _rate(video.get("avg_frame_rate"))
    fps = avg or real
    bit_rate = _float(video.get("bit_rate")) or _float(fmt.get("bit_rate"))
    return MediaInfo(
        container=str(fmt.get("format_name") or ""),
        duration_s=duration,
        video_s=_float(video.get("duration")) or duration,
        video_codec=video.get("codec_name") if video else None,
        pix_fmt=video.get("pix_fmt"),
        width=width,
        height=height,
        rotation=rotation,
        fps=round(fps, 3),
        vfr=bool(real and avg and abs(real - avg) / real > 0.01),
        video_kbps=round(bit_rate / 1000, 1) if bit_rate else None,
        audio_codec=audio.get("codec_name") if audio else None,
        audio_streams=len(audios),
        sample_rate=int(audio["sample_rate"]) if audio.get("sample_rate") else None,
        channels=audio.get("channels"),
    )


def _is_still_image(data: dict[str, Any]) -> bool:
    fmt = str((data.get("format") or {}).get("format_name") or "")
    codecs = {s.get("codec_name") for s in data.get("streams") or [] if s.get("codec_type") == "video"}
    return any(tag in fmt for tag in _IMAGE_FORMATS) or (bool(codecs) and codecs <= _IMAGE_CODECS)


def _unreadable(video: Video, why: str) -> Skip:
    """A file the probe could not use: `corrupt` when its bytes are media (a container or stream signature,
    or MP4/Matroska structure), `not_a_video` when they are not media at all (text, a picture, random data)."""
    try:
        found = sniff.sniff_file(video.path)
    except OSError as exc:
        return Skip(reason="unreadable", detail=exc.strerror or str(exc))
    if found.is_media:
        return Skip(reason="corrupt", detail=why)
    return Skip(reason="not_a_video", detail=f"{sniff.describe(found)}; {why}")


class ProbeStep:
    """Rejects what is not a usable video container: empty, unreadable, not media, corrupt header, image,
    audio only."""

    name = "probe"

    def __init__(self, recipe: Any) -> None:
        self.timeout = min(60.0, recipe.analyse.timeout_s)

    def __call__(self, video: Video) -> Skip | None:
        try:
            size = video.path.stat().st_size
        except OSError as exc:
            return Skip(reason="unreadable", detail=exc.strerror or str(exc))
        if size == 0:
            return Skip(reason="empty_file", detail="0 bytes")
        try:
            try:
                data = libav.probe(video.path, timeout=self.timeout)
            except libav.Unreadable:  # damaged or unusual: ffprobe's verdict and message are the reference
                data = ffmpeg.probe(video.path, timeout=self.timeout)
        except ffmpeg.MediaTimeout as exc:
            return Skip(reason="timeout", detail=exc.message)
        except MediaError as exc:
            return _unreadable(video, f"container: {exc.message}")
        if _is_still_image(data):
            return Skip(reason="not_a_video", detail=f"still image ({(data.get('format') or {}).get('format_name')})")
        try:
            info = parse_probe(data)
        except MediaError as exc:
            return Skip(reason="corrupt", detail=f"container: {exc.message}")
        video.info = info
        video.fields.update(container=info.container, rotation=info.rotation, vfr=info.vfr,
                            video_codec=info.video_codec, video_kbps=info.video_kbps, audio_codec=info.audio_codec,
                            audio_streams=info.audio_streams, audio_channels=info.channels, bytes=size)
        claimed = video.meta.get("raw_duration_s")  # what the platform said, when the crawler recorded it
        if isinstance(claimed, int | float) and claimed > 0:
            video.fields["duration_mismatch"] = abs(claimed - info.duration_s) > max(1.0, 0.1 * claimed)
        if not info.has_video and info.audio_codec is None:  # e.g. a file cut off after its first box
            return _unreadable(video, "no decodable stream")
        if not info.has_video:
            return Skip(reason="no_video_stream", detail=f"audio only ({info.audio_codec})")
        if info.width <= 0 or info.height <= 0:
            return Skip(reason="corrupt", detail="video stream without a frame size")
        return None
