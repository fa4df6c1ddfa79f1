"""Typed records that cross stage boundaries: VideoRef -> RawVideo -> CleanVideo (frozen, JSON-able).

Stages write these to their manifests (`model_dump(mode="json")`) and read them back with
`model_validate`; unknown keys are kept so that metadata carried along is never lost.
"""

from __future__ import annotations

import types
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field

# File name endings of video files, for every stage that finds videos by name (crawl links, clean inputs,
# dataset imports): one list, so a file one stage takes is never one another stage ignores.
VIDEO_EXTENSIONS = frozenset({".3gp", ".avi", ".flv", ".m4v", ".mkv", ".mov", ".mp4", ".mpeg", ".mpg", ".mts",
                              ".ogv", ".ts", ".webm", ".wmv"})

if TYPE_CHECKING:
    import pyarrow as pa


class Record(BaseModel):
    """Base of every stage record: immutable, extra keys preserved."""

    model_config = ConfigDict(frozen=True, extra="allow")


class Skip(Record):
    """A step's verdict that an item goes no further, with a machine-readable reason."""

    reason: str = Field(description="short reason code, e.g. 'corrupt', 'too_short', 'robots_disallowed'")
    detail: str = ""


class VideoRef(Record):
    """Something discovered that may lead to a video: a share/video page or a direct media URL."""

    source: str = Field(description="source adapter name: douyin, kuaishou, tiktok, site, urls")
    page_url: str | None = None
    media_url: str | None = None
    platform_id: str | None = Field(None, description="the platform's own id of the video, when known")
    discovered_at: datetime | None = None


class RawVideo(Record):
    """A crawled video: its metadata and the downloaded file (or why it failed)."""

    source: str
    platform: str = Field(description="douyin, kuaishou, tiktok or the site's host name")
    platform_id: str | None = None
    page_url: str | None = None
    media_url: str | None = None
    title: str = ""
    description: str = ""
    hashtags: tuple[str, ...] = ()
    author_id: str | None = Field(None, description="hashed by default (see crawl recipe)")
    published_at: datetime | None = None
    duration_s: float | None = None
    counters: dict[str, int] = Field(default_factory=dict, description="likes, comments, shares, plays")
    crawled_at: datetime
    http_status: int | None = None
    status: Literal["downloaded", "failed", "skipped"] = "downloaded"
    reason: str | None = None
    sha256: str | None = None
    bytes: int | None = None
    local_path: str | None = Field(None, description="path of the media file, relative to the crawl folder")


class CleanVideo(Record):
    """One input video after cleaning: its verdict and, when kept, the derived files.

    Every column the cleaning stage writes is declared here, in the order of its manifests
    (`manifest_schema(CleanVideo)` gives the Parquet schema); metadata carried from the crawl follows as extras.
    """

    id: str = Field(description="stable id of the video (sha256 of the content)")
    source_path: str
    status: Literal["kept", "rejected", "duplicate"]
    reason: str | None = None
    duplicate_of: str | None = Field(None, description="id of the kept row of its duplicate group")
    platform: str | None = None
    duration_s: float | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    has_audio: bool | None = None
    sha256: str | None = None
    web_mp4: str | None = None
    poster: str | None = None
    wav: str | None = None
    frames: str | None = None
    mfcc: str | None = None
    detail: str | None = Field("", description="why the row has its status, in words")
    dup_group: str | None = Field(None, description="id of the kept row of its duplicate group (its own id if kept)")
    bytes: int | None = None
    container: str | None = None
    rotation: int | None = Field(None, description="display rotation in degrees (width/height have it applied)")
    vfr: bool | None = Field(None, description="variable frame rate")
    video_codec: str | None = None
    video_kbps: float | None = Field(None, description="the source's video bitrate (the container's when unknown)")
    audio_codec: str | None = None
    audio_streams: int | None = None
    audio_channels: int | None = Field(None, description="channels of the source's first audio stream")
    duration_mismatch: bool | None = Field(None, description="probed duration differs from the platform's")
    decoded_s: float | None = None
    motion: float | None = Field(None, description="mean grey difference of consecutive sampled frames")
    change_range: float | None = None
    cache_frames: int | None = None
    cache_fps: float | None = Field(None, description="frames per second of the training cache (the source's rate, "
                                                      "at most cache_max_fps)")
    cache_max_fps: float | None = Field(None, description="the recipe's cap on the training cache's frame rate")
    cache_short_side: int | None = Field(None, description="short side of the training cache's frames, in pixels")
    phash: str | None = Field(None, description="perceptual hashes of sampled frames, hex")
    max_rms_dbfs: float | None = None


_ARROW_TYPES = {str: "string", int: "int64", float: "float64", bool: "bool_"}


def _arrow_type(annotation: Any) -> tuple[str, bool]:
    """(pyarrow type factory name, nullable) of a field annotation: str, int, float, bool, a Literal of
    strings, or one of those or None."""
    args = get_args(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return _arrow_type(inner[0])[0], True
    elif get_origin(annotation) is Literal and all(isinstance(a, str) for a in args):
        return "string", False
    elif annotation in _ARROW_TYPES:
        return _ARROW_TYPES[annotation], False
    raise TypeError(f"no Parquet column type for {annotation!r}: declare str, int, float, bool or a Literal")


def manifest_schema(record: type[BaseModel]) -> pa.Schema:
    """The Arrow schema of a record's manifest table: its declared fields, in declaration order, typed by
    their annotations (a field that can be None is nullable). Needs pyarrow."""
    import pyarrow as pa

    fields = []
    for name, info in record.model_fields.items():
        kind, nullable = _arrow_type(info.annotation)
        fields.append(pa.field(name, getattr(pa, kind)(), nullable=nullable))
    return pa.schema(fields)
