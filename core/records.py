"""Typed records that cross stage boundaries: VideoRef -> RawVideo -> CleanVideo (frozen, JSON-able).

Stages write these to their manifests (`model_dump(mode="json")`) and read them back with
`model_validate`; unknown keys are kept so that metadata carried along is never lost.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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
    """One input video after cleaning: its verdict and, when kept, the derived files."""

    id: str = Field(description="stable id of the video (sha256 of the content)")
    source_path: str
    status: Literal["kept", "rejected", "duplicate"]
    reason: str | None = None
    duplicate_of: str | None = None
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
