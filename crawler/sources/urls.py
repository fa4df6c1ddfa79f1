"""The `urls` source: a list of page/media URLs or platform ids (text, CSV, JSONL), as datasets are redistributed."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from core.records import VideoRef
from crawler.http import Failure
from crawler.parsing import Problem, parse_site_page
from crawler.recipe import CrawlRecipe
from crawler.sources.base import SOURCES, Candidate, SourceContext, platform_of_url, register
from crawler.sources.site import is_media_url

URL_COLUMNS = ("url", "page_url", "media_url", "video_url", "link")
ID_COLUMNS = ("platform_id", "id", "video_id", "aweme_id", "photo_id")


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of a URL/ID list: a URL, or a platform and its video id (the page URL is built from them)."""

    url: str | None = None
    platform: str | None = None
    platform_id: str | None = None


def _from_mapping(row: dict[str, Any]) -> Entry:
    low = {str(k).strip().lower(): v for k, v in row.items() if v not in (None, "")}
    pid = next((str(low[c]).strip() for c in ID_COLUMNS if c in low), None)
    # without an id the media URL is the precise one (a page may hold several videos); with one, the page
    # URL is, since platforms' media URLs expire
    order = URL_COLUMNS if pid else ("media_url", *URL_COLUMNS)
    url = next((str(low[c]).strip() for c in order if c in low), None)
    platform = str(low["platform"]).strip().lower() if "platform" in low else None
    return Entry(url if url and url.startswith(("http://", "https://")) else None, platform, pid)


def read_entries(path: Path) -> list[Entry]:
    """Entries of a text file (one URL per line, `#` comments), a CSV with a url-like and/or
    platform + platform_id columns, or a JSONL manifest of an earlier crawl. Duplicates dropped."""
    text = path.read_text(encoding="utf-8-sig")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        return []
    if lines[0].startswith("{"):
        entries = [_from_mapping(json.loads(line)) for line in lines]
    else:
        header = [h.strip().lower() for h in next(csv.reader([lines[0]]))]
        if set(header) & {*URL_COLUMNS, *ID_COLUMNS}:
            entries = [_from_mapping(row) for row in csv.DictReader(lines)]
        else:
            entries = [_from_mapping({"url": next(csv.reader([line]))[0]}) for line in lines]
    usable = [e for e in entries if e.url or (e.platform and e.platform_id)]
    return list(dict.fromkeys(usable))


def read_url_file(path: Path) -> list[str]:
    """Just the URLs of a list (see `read_entries`)."""
    return [e.url for e in read_entries(path) if e.url]


class UrlsSource:
    """Each URL is a direct media file, a platform page (handled by that platform's adapter) or an HTML page."""

    name: ClassVar[str] = "urls"
    needs_browser: ClassVar[bool] = False

    def check_recipe(self, recipe: CrawlRecipe) -> None:
        if recipe.file is None:
            raise ValueError("the urls source needs a URL list (--file)")
        if not recipe.file.is_file():
            raise ValueError(f"URL list {recipe.file} does not exist")

    def discover(self, ctx: SourceContext) -> Iterator[VideoRef]:
        assert ctx.recipe.file is not None
        for entry in read_entries(ctx.recipe.file):
            now = datetime.now(UTC)
            url = entry.url
            if url is None:  # an id list: the platform's adapter knows its page URL
                source = SOURCES.get(entry.platform or "")
                page_url = getattr(source, "page_url", None)
                if page_url is None:
                    ctx.log(f"no source builds page URLs for platform {entry.platform!r}; {entry.platform_id} skipped")
                    continue
                url = page_url(entry.platform_id, ctx.recipe)
            owner = self._owner(url, ctx)
            if owner is not None:
                yield VideoRef(source=self.name, page_url=url, discovered_at=now,
                               platform=owner.name, platform_id=owner.id_from_url(url))
            elif is_media_url(url):
                yield VideoRef(source=self.name, media_url=url, discovered_at=now)
            else:
                yield VideoRef(source=self.name, page_url=url, discovered_at=now)

    @staticmethod
    def _owner(url: str, ctx: SourceContext):
        for source in SOURCES.values():
            id_from_url = getattr(source, "id_from_url", None)
            if id_from_url is not None and source.owns(url, ctx.recipe):
                return source
        return None

    def resolve(self, ref: VideoRef, ctx: SourceContext) -> Candidate | Failure | Problem:
        if ref.media_url:
            return Candidate(platform=platform_of_url(ref.media_url), page_url=None, media_url=ref.media_url)
        assert ref.page_url is not None
        owner = self._owner(ref.page_url, ctx)
        if owner is not None:
            return owner.resolve(ref, ctx)
        if ctx.recipe.backend == "ytdlp":
            return Candidate(platform=platform_of_url(ref.page_url), page_url=ref.page_url, media_url=None)
        page = ctx.client.get_page(ref.page_url)
        if isinstance(page, Failure):
            return page
        found = parse_site_page(page.text, page.url)
        if not found.videos:
            return Problem("no_video_on_page", page.url)
        return Candidate(platform=platform_of_url(page.url), page_url=page.url, media_url=found.videos[0],
                         title=found.title, description=found.description, http_status=page.status)


register(UrlsSource())
