"""The keep rule of a duplicate group: the best original is kept, never an upscale of another member.

1. **Never an upscale.** A member with more pixels than another, but with less detail than it once both
   are brought to their smallest common frame size, is an upscale of it and cannot be kept. Detail is the
   variance of the Laplacian of grey frames taken at the same relative times and scaled (bicubic) to that
   size; "less" means below `upscale_detail` (0.85) times the other's. Upscaling invents no detail and
   re-encoding loses some: real 240p clips upscaled 1.5-3x at CRF 18-35 keep 0.46-0.76 of their source's
   detail, while a genuine larger original shows 0.99-1.3 times the detail of its own downscaled copies.
   Each pair is compared at its own common size, not at the group's smallest: brought down to a much
   smaller copy's size, an upscale and its source look alike again (a 320x180 original and its 640x360
   upscale, both seen at 160x90). Members flatter than `min_detail` judge nothing. Pixel count and bitrate
   are no evidence here: an upscale has more pixels, and at CRF 35 it may spend more bits per frame than
   a low-bitrate source (30 vs 25 kbps for a real 426x240 clip), so bits per pixel would not tell either.
2. Among the members left: the **higher source video bitrate**.
3. Then the **earliest crawled** (the crawler's `crawled_at`; members without one come after), then the
   earliest input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from cleaning import ffmpeg

_INPUT = "input-placeholder"  # swapped for the real path after compiling (names need not be UTF-8)


@dataclass(frozen=True, slots=True)
class Member:
    """What the keep rule knows of one member of a group: `order` is its position among the inputs, `path`
    the file to read and `name` its path as the manifest shows it."""

    order: int
    path: str
    name: str
    width: int
    height: int
    duration_s: float
    kbps: float | None = None
    crawled_at: datetime | None = None

    @property
    def pixels(self) -> int:
        return self.width * self.height


def crawl_time(value: Any) -> datetime | None:
    """The crawler's `crawled_at` (ISO 8601 text; no zone means UTC) as an aware datetime, else None."""
    if isinstance(value, datetime):
        stamp = value
    elif isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


Size = tuple[int, int]  # (width, height) in display pixels


def _by_size(members: Sequence[Member]) -> dict[Size, list[int]]:
    """Member positions by frame size, smallest (fewest pixels) first."""
    groups: dict[Size, list[int]] = {}
    for i, m in enumerate(members):
        groups.setdefault((m.width, m.height), []).append(i)
    return dict(sorted(groups.items(), key=lambda item: (item[0][0] * item[0][1], item[0])))


def measurements(members: Sequence[Member]) -> list[tuple[int, Size]]:
    """The (member position, frame size) detail measurements rule 1 needs: both members of every pair with
    different pixel counts, at the pair's common size (the smaller width and the smaller height)."""
    needed: dict[tuple[int, Size], None] = {}
    by_size = _by_size(members)
    for i, member in enumerate(members):
        for small, same in by_size.items():
            if small[0] * small[1] >= member.pixels:
                break
            size = (min(member.width, small[0]), min(member.height, small[1]))
            needed[(i, size)] = None
            needed.update(dict.fromkeys((j, size) for j in same))
    return list(needed)


def frame_detail(path: str, size: Size, duration_s: float, frames: int, timeout: float) -> float | None:
    """Mean variance of the Laplacian of `frames` grey frames at evenly spaced times, each scaled to `size`.

    None when the file yields no frame (it has gone, or no longer decodes).
    """
    import cv2
    import ffmpeg as fp

    w, h = size
    rate = f"{frames}/{max(duration_s, 1e-3):.6f}"
    graph = (fp.input(_INPUT)["v:0"].filter("fps", fps=rate).filter("scale", w, h, flags="bicubic")
             .output("pipe:", format="rawvideo", pix_fmt="gray", **{"frames:v": frames}))
    cmd = ffmpeg.compile_graph(graph, {_INPUT: ffmpeg.media_arg(path)})
    values: list[float] = []

    def on_frame(chunk: bytes) -> None:
        grey = np.frombuffer(chunk, np.uint8).reshape(h, w)
        values.append(float(cv2.Laplacian(grey, cv2.CV_64F).var()))

    result = ffmpeg.stream_graph(cmd, w * h, on_frame, timeout=timeout)
    if result.timed_out or not values:
        return None
    return float(np.mean(values))


Details = Mapping[tuple[int, Size], float | None]  # (member position, frame size) -> detail at that size


def upscales(members: Sequence[Member], details: Details, ratio: float, floor: float) -> dict[int, tuple[int, Size]]:
    """member -> (the member it is an upscale of, their common size), per rule 1 of the module docstring.

    Each member is compared, size by size, with the most detailed member of each smaller frame size (those
    flatter than `floor`, or not measured, judge nothing): O(members x sizes) for a group.
    """
    by_size = _by_size(members)
    found: dict[int, tuple[int, Size]] = {}
    for i, member in enumerate(members):
        for small, same in by_size.items():
            if small[0] * small[1] >= member.pixels:
                break
            size = (min(member.width, small[0]), min(member.height, small[1]))
            judged = [j for j in same if (d := details.get((j, size))) is not None and d >= floor]
            mine = details.get((i, size))
            if not judged or mine is None:
                continue
            best = max(judged, key=lambda j: (details[(j, size)], -j))
            if mine < ratio * details[(best, size)]:  # type: ignore[operator]
                found[i] = (best, size)
                break
    return found


def _rank(member: Member) -> tuple:
    """Sort key of the members left by rule 1: higher bitrate, then earliest crawled, then earliest input."""
    crawled = member.crawled_at.timestamp() if member.crawled_at is not None else float("inf")
    return (-(member.kbps or 0.0), crawled, member.order)


def choose(members: Sequence[Member], details: Details, ratio: float, floor: float) -> tuple[int, dict[int, str]]:
    """(position of the kept member, position -> why that member was not kept) for one group."""
    upscaled = upscales(members, details, ratio, floor)
    kept = min((i for i in range(len(members)) if i not in upscaled), key=lambda i: _rank(members[i]))
    why: dict[int, str] = {}
    for i, member in enumerate(members):
        if i == kept:
            continue
        if i in upscaled:
            source, (w, h) = upscaled[i]
            share = details[(i, (w, h))] / details[(source, (w, h))]  # type: ignore[operator]
            of = "it" if source == kept else members[source].name
            why[i] = f"an upscale of {of} ({share:.2f} of its detail at {w}x{h})"
        elif (member.kbps or 0.0) < (members[kept].kbps or 0.0):
            why[i] = f"a lower video bitrate ({member.kbps or 0:g} < {members[kept].kbps:g} kbps)"
        elif _rank(member)[1] > _rank(members[kept])[1]:
            why[i] = "crawled later"
        else:
            why[i] = "a later input"
    return kept, why
