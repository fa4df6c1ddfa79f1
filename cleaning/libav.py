"""In-process probing with PyAV (FFmpeg's libavformat/libavcodec): ffprobe's facts without its process.

`probe(path)` returns the part of `ffprobe -show_format -show_streams -of json` that cleaning reads,
under ffprobe's own keys and in its string formats, so `cleaning.probe.parse_probe` reads either.
Starting an ffprobe process costs 60-90 ms, as much as the whole decode pass of a short 240p clip;
PyAV reads the same headers in about 2 ms. The display rotation lives in stream side data that
PyAV does not expose, so it is read from the first decoded frame (one frame, one thread).

Whatever PyAV cannot open or read raises `Unreadable`; the caller then asks ffprobe, whose verdict
and message stay the reference for damaged or unusual files.
"""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Any

from cleaning.ffmpeg import media_arg


class Unreadable(Exception):
    """PyAV could not read the file (or its name); ffprobe should judge it."""


def _ratio(value: Fraction | None) -> str:
    return f"{value.numerator}/{value.denominator}" if value else "0/0"


def _seconds(ticks: int | None, time_base: Fraction | None) -> str | None:
    if ticks is None or time_base is None:
        return None
    return f"{float(ticks * time_base):.6f}"


def _stream(stream: Any, attached_pic: int) -> dict[str, Any]:
    ctx = stream.codec_context
    codec = ctx.codec if ctx is not None else None
    out: dict[str, Any] = {
        "index": stream.index,
        "codec_type": stream.type,
        "codec_name": codec.canonical_name if codec is not None else None,
        "disposition": {"attached_pic": int(bool(int(stream.disposition) & attached_pic))},
        "tags": dict(stream.metadata),
    }
    duration = _seconds(stream.duration, stream.time_base)
    if duration is not None:
        out["duration"] = duration
    bit_rate = getattr(stream, "bit_rate", None) or (ctx.bit_rate if ctx is not None else None)
    if bit_rate:
        out["bit_rate"] = str(bit_rate)
    if stream.type == "video":
        out.update(width=ctx.width, height=ctx.height, pix_fmt=ctx.pix_fmt,
                   r_frame_rate=_ratio(stream.base_rate), avg_frame_rate=_ratio(stream.average_rate))
    elif stream.type == "audio":
        out.update(sample_rate=str(ctx.sample_rate), channels=ctx.layout.nb_channels)
    return out


def _first_frame_rotation(container: Any, stream: Any) -> int:
    """Rotation (degrees) of the video's first frame, 0 when none decodes."""
    stream.codec_context.thread_count = 1  # frame threading would hold the first frame back
    for frame in container.decode(stream):
        return int(frame.rotation or 0)
    return 0


def probe(path: str | os.PathLike[str], *, timeout: float = 60.0) -> dict[str, Any]:
    """ffprobe-shaped {"format": ..., "streams": [...]} for one file; raises Unreadable when PyAV fails."""
    try:
        import av
        from av.stream import Disposition
    except ModuleNotFoundError as exc:  # pragma: no cover - PyAV comes with the clean extra
        raise Unreadable("PyAV is not installed") from exc
    name = media_arg(path)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise Unreadable("file name is not UTF-8") from None
    try:
        with av.open(name, timeout=timeout) as container:
            chosen = [s for s in container.streams if s.type in ("video", "audio")]
            streams = [_stream(s, int(Disposition.attached_pic)) for s in chosen]
            picture = next(((data, s) for data, s in zip(streams, chosen, strict=True)
                            if data["codec_type"] == "video" and not data["disposition"]["attached_pic"]), None)
            if picture is not None:
                rotation = _first_frame_rotation(container, picture[1])
                if rotation:
                    picture[0]["side_data_list"] = [{"side_data_type": "Display Matrix", "rotation": rotation}]
            fmt = {"format_name": container.format.name,
                   "duration": f"{container.duration / 1_000_000:.6f}" if container.duration else None,
                   "bit_rate": str(container.bit_rate) if container.bit_rate else None}
    except (av.error.FFmpegError, OSError, ValueError, AttributeError) as exc:
        raise Unreadable(f"{type(exc).__name__}: {exc}") from None
    return {"format": {k: v for k, v in fmt.items() if v is not None}, "streams": streams}
