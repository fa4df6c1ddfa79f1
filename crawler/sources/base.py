"""The source protocol, the per-run context handed to sources, and the registry of source adapters."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from urllib.parse import urlsplit

from core.errors import ConfigError
from core.records import VideoRef

if TYPE_CHECKING:
    from crawler.browser import Browser
    from crawler.http import Client, Failure
    from crawler.parsing import Problem
    from crawler.recipe import CrawlRecipe


@dataclass
class SourceContext:
    """What a source may use during one run: the recipe, the polite client and a lazily opened browser."""

    recipe: CrawlRecipe
    client: Client
    open_browser: Callable[[], Browser]
    log: Callable[[str], None] = lambda _msg: None


@dataclass(frozen=True)
class Candidate:
    """A resolved video: where its bytes are and what its page says, ready for download.

    `media_url` None means "let the yt-dlp backend extract it from `page_url`".
    """

    platform: str
    page_url: str | None
    media_url: str | None
    platform_id: str | None = None
    title: str = ""
    description: str = ""
    hashtags: tuple[str, ...] = ()
    author_id: str | None = None
    published_at: datetime | None = None
    duration_s: float | None = None
    counters: dict[str, int] = field(default_factory=dict)
    http_status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    fallback_urls: tuple[str, ...] = ()  # tried in order when `media_url` gives no file
    extractor_url: str | None = None  # the page yt-dlp should be given, when not `page_url`
    extra: dict[str, str] = field(default_factory=dict)  # columns of the input list, carried to the manifest

    @property
    def key(self) -> str:
        """Dedupe key: the platform's id when known, else the media (or page) URL."""
        if self.platform_id:
            return f"{self.platform}:{self.platform_id}"
        return "url:" + (self.media_url or self.page_url or "")


def ref_key(ref: VideoRef) -> str:
    """Dedupe key of a discovered reference, known before anything about it is fetched."""
    if extra(ref, "skip_reason"):  # a line of an input list that names no video
        return f"line:{ref.source}:{extra(ref, 'list_line')}"
    if ref.platform_id:
        platform = getattr(ref, "platform", None) or ref.source
        return f"{platform}:{ref.platform_id}"
    return "url:" + (ref.media_url or ref.page_url or "")


def platform_of_url(url: str | None) -> str:
    return urlsplit(url or "").hostname or "unknown"


class Source(Protocol):
    """One adapter: finds references (discover) and turns one into a Candidate (resolve)."""

    name: ClassVar[str]
    needs_browser: ClassVar[bool]

    def check_recipe(self, recipe: CrawlRecipe) -> None:
        """Raise ValueError (one line) when the recipe lacks what this source needs."""

    def discover(self, ctx: SourceContext) -> Iterator[VideoRef]:
        """References in discovery order; may stop early (the runner stops pulling at the limit)."""

    def resolve(self, ref: VideoRef, ctx: SourceContext) -> Candidate | Failure | Problem:
        """Fetch what is needed to know the media URL and metadata of one reference."""


SOURCES: dict[str, Source] = {}


def register(source: Source) -> Source:
    """Add a source instance to the registry under its name."""
    SOURCES[source.name] = source
    return source


def get_source(name: str) -> Source:
    """The registered source `name`; ConfigError listing the known ones otherwise."""
    from crawler.sources import load_all

    load_all()
    try:
        return SOURCES[name]
    except KeyError:
        raise ConfigError(f"unknown crawl source {name!r}; known: {', '.join(sorted(SOURCES))}") from None


def extra(ref: VideoRef, name: str, default: Any = None) -> Any:
    """An extra field a source stored on a VideoRef (records keep unknown keys)."""
    return (ref.model_extra or {}).get(name, default)
