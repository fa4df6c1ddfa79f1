"""What a platform adapter declares about the platform's pages and JSON: listings, API pages, expected fields.

Pure data and small pure helpers; the platform modules (`douyin`, `kuaishou`, `tiktok`) fill them in from
what maintained open-source crawlers read today (see the `.md` file beside each module).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crawler.parsing import Meta, Problem

MISSING = object()


def dig(obj: Any, path: tuple[str | int, ...]) -> Any:
    """The value at `path` (keys and list indexes) inside nested JSON, or MISSING."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(obj, list) or not -len(obj) <= step < len(obj):
                return MISSING
            obj = obj[step]
        else:
            if not isinstance(obj, dict) or step not in obj:
                return MISSING
            obj = obj[step]
    return obj


def first(obj: Any, *paths: tuple[str | int, ...], default: Any = None) -> Any:
    """The value at the first of `paths` that exists and is not empty."""
    for path in paths:
        value = dig(obj, path)
        if value is not MISSING and value not in (None, "", [], {}):
            return value
    return default


def urls_of(*lists: Any) -> tuple[str, ...]:
    """Every http(s) URL of the given URL lists (or single URLs), in order, once."""
    found: list[str] = []
    for value in lists:
        for url in value if isinstance(value, list) else [value]:
            if isinstance(url, str) and url.startswith(("http://", "https://", "//")):
                found.append("https:" + url if url.startswith("//") else url)
    return tuple(dict.fromkeys(found))


@dataclass(frozen=True, slots=True)
class Listing:
    """The page a query opens, and the API paths whose JSON responses carry its video objects."""

    kind: str  # search, hashtag, user
    url: str
    api: tuple[str, ...]

    def wants(self, url: str) -> bool:
        return any(fragment in url for fragment in self.api)


@dataclass(frozen=True, slots=True)
class ListingPage:
    """One API response of a listing: its video objects, whether more follow, and a block sign if any."""

    items: list[dict[str, Any]]
    has_more: bool | None = None
    block: str | None = None


@dataclass(frozen=True, slots=True)
class Expect:
    """A field `crawl check` expects in a video object: our name, its path and the JSON types it may have."""

    name: str
    path: tuple[str | int, ...]
    types: tuple[type, ...]

    def verdict(self, obj: Any) -> tuple[str, str]:
        """('found' | 'missing' | 'changed type', detail) for this field in `obj`."""
        value = dig(obj, self.path)
        where = ".".join(str(p) for p in self.path)
        if value is MISSING or value is None:
            return "missing", where
        if isinstance(value, bool) and bool not in self.types:
            return "changed type", f"{where}: bool, expected {'/'.join(t.__name__ for t in self.types)}"
        if not isinstance(value, self.types):
            expected = "/".join(t.__name__ for t in self.types)
            return "changed type", f"{where}: {type(value).__name__}, expected {expected}"
        return "found", where


@dataclass(frozen=True)
class PlatformSpec:
    """Everything that differs between platforms; a layout change is a change in one platform module."""

    name: str
    web_origin: str  # where search, hashtag and account listings live
    page_origin: str  # where the server-rendered video pages live
    hosts: tuple[str, ...]  # the platform's own hosts: the only ones the user's cookies go to
    page: str  # video page path for an id
    id_pattern: Any  # re.Pattern finding the id in a video page URL
    listing: Callable[[str, str], Listing]  # (web origin, query) -> Listing
    read_listing: Callable[[Any], ListingPage | None]  # one API JSON -> page (None: not a listing response)
    item_meta: Callable[[dict[str, Any], bool], Meta | Problem]  # one video object -> Meta
    item_id: Callable[[dict[str, Any]], str | None]
    parse_page: Callable[[str, bool], Meta | Problem]  # a video page's HTML -> Meta
    page_item: Callable[[str], Any]  # a video page's HTML -> its raw video object (for `crawl check`)
    state_names: tuple[str, ...] = ()  # embedded listing state, read when the page made no API call
    state_items: Callable[[dict[str, Any]], list[dict[str, Any]]] = lambda _state: []
    item_fields: tuple[Expect, ...] = ()  # expected in a listing's video object
    page_fields: tuple[Expect, ...] = ()  # expected in a video page's video object
    query_help: str = ""
    ytdlp_page: str | None = None  # the web page path yt-dlp's extractor knows, when not `page`
    extra: dict[str, Any] = field(default_factory=dict)
