"""The `urls` source: a list of page/media URLs or platform ids (text, CSV, JSONL), as datasets are redistributed."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from core.records import VideoRef
from crawler.http import Failure
from crawler.parsing import Problem, parse_site_page
from crawler.recipe import CrawlRecipe
from crawler.sources.base import SOURCES, Candidate, SourceContext, extra, platform_of_url, register
from crawler.sources.site import is_media_url

URL_COLUMNS = ("url", "page_url", "media_url", "video_url", "link")
ID_COLUMNS = ("platform_id", "id", "video_id", "aweme_id", "photo_id")
ROW_SKIPS = frozenset({"missing_url", "unsupported_scheme", "duplicate_row", "unknown_platform"})


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of a URL/ID list: a URL, or a platform and its video id (the page URL is built from them).

    `extra` holds the list's other columns (a label, a note...), carried into the manifest row.
    """

    url: str | None = None
    platform: str | None = None
    platform_id: str | None = None
    extra: tuple[tuple[str, str], ...] = ()

    @property
    def target(self) -> tuple[str | None, str | None, str | None]:
        return self.url, self.platform, self.platform_id


@dataclass(frozen=True, slots=True)
class SkippedRow:
    """A line of a list that names no fetchable video: its line number, a reason code and what it said."""

    line: int
    reason: str
    detail: str = ""


def _from_mapping(row: dict[str, Any], carry: bool) -> Entry | SkippedRow:
    low = {str(k).strip().lower(): v for k, v in row.items() if k is not None and v not in (None, "")}
    pid = next((str(low[c]).strip() for c in ID_COLUMNS if c in low), None)
    # without an id the media URL is the precise one (a page may hold several videos); with one, the page
    # URL is, since platforms' media URLs expire
    order = URL_COLUMNS if pid else ("media_url", *URL_COLUMNS)
    url = next((str(low[c]).strip() for c in order if c in low), None)
    platform = str(low["platform"]).strip().lower() if "platform" in low else None
    used = {*URL_COLUMNS, *ID_COLUMNS, "platform"}
    extra = tuple((str(k).strip(), str(v)) for k, v in row.items()
                  if carry and k is not None and str(k).strip().lower() not in used and v not in (None, ""))
    if not carry and isinstance(row.get("extra"), dict):  # an earlier crawl's manifest keeps its list columns
        extra = tuple((str(k), str(v)) for k, v in row["extra"].items())
    if url and not url.startswith(("http://", "https://")):
        if not (platform and pid):
            return SkippedRow(0, "unsupported_scheme", url[:200])
        url = None
    if not url and not (platform and pid):
        return SkippedRow(0, "missing_url", "no URL, and no platform with a platform_id")
    return Entry(url, platform, pid, extra)


def read_list(path: Path) -> tuple[list[Entry], list[SkippedRow]]:
    """Entries of a text file (one URL per line, `#` comments), a CSV with a url-like and/or
    platform + platform_id columns (every other column is kept as `extra`), or a JSONL manifest of an
    earlier crawl; and every line that gives no entry, with its reason (blank lines and comments aside)."""
    text = path.read_text(encoding="utf-8-sig")
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        return [], []
    results: list[tuple[int, Entry | SkippedRow]] = []
    if lines[0][1].startswith("{"):
        results = [(n, _from_mapping(json.loads(line), carry=False)) for n, line in lines]
    else:
        header = [h.strip().lower() for h in next(csv.reader([lines[0][1]]))]
        if set(header) & {*URL_COLUMNS, *ID_COLUMNS}:
            rows = csv.DictReader([line for _n, line in lines])
            results = [(n, _from_mapping(row, carry=True)) for (n, _line), row in zip(lines[1:], rows, strict=True)]
        else:
            results = [(n, _from_mapping({"url": next(csv.reader([line]))[0]}, carry=False)) for n, line in lines]
    entries: list[Entry] = []
    skipped: list[SkippedRow] = []
    first_line: dict[tuple[str | None, str | None, str | None], int] = {}
    for n, item in results:
        if isinstance(item, SkippedRow):
            skipped.append(SkippedRow(n, item.reason, item.detail))
        elif item.target in first_line:
            skipped.append(SkippedRow(n, "duplicate_row", f"same video as line {first_line[item.target]}"))
        else:
            first_line[item.target] = n
            entries.append(item)
    return entries, skipped


def read_entries(path: Path) -> list[Entry]:
    """The usable entries of a list (see `read_list`), duplicates dropped."""
    return read_list(path)[0]


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
        entries, skipped = read_list(ctx.recipe.file)
        name = ctx.recipe.file.name
        for row in skipped:  # each becomes a `skipped` manifest row with its reason, so it is counted too
            ctx.log(f"{name} line {row.line} skipped: {row.reason} ({row.detail})")
            yield VideoRef(source=self.name, discovered_at=datetime.now(UTC), list_line=row.line,
                           skip_reason=row.reason, skip_detail=row.detail)
        for entry in entries:
            now = datetime.now(UTC)
            columns = dict(entry.extra)
            url = entry.url
            if url is None:  # an id list: the platform's adapter knows its page URL
                source = SOURCES.get(entry.platform or "")
                page_url = getattr(source, "page_url", None)
                if page_url is None:
                    detail = f"no source builds page URLs for platform {entry.platform!r}"
                    ctx.log(f"{name}: {entry.platform_id} skipped: unknown_platform ({detail})")
                    yield VideoRef(source=self.name, discovered_at=now, list_line=f"{entry.platform}:"
                                   f"{entry.platform_id}", skip_reason="unknown_platform", skip_detail=detail)
                    continue
                url = page_url(entry.platform_id, ctx.recipe)
            owner = self._owner(url, ctx)
            if owner is not None:
                yield VideoRef(source=self.name, page_url=url, discovered_at=now,
                               platform=owner.name, platform_id=owner.id_from_url(url), extra=columns)
            elif is_media_url(url):
                yield VideoRef(source=self.name, media_url=url, discovered_at=now, extra=columns)
            else:
                yield VideoRef(source=self.name, page_url=url, discovered_at=now, extra=columns)

    @staticmethod
    def _owner(url: str, ctx: SourceContext):
        for source in SOURCES.values():
            id_from_url = getattr(source, "id_from_url", None)
            if id_from_url is not None and source.owns(url, ctx.recipe):
                return source
        return None

    def resolve(self, ref: VideoRef, ctx: SourceContext) -> Candidate | Failure | Problem:
        if reason := extra(ref, "skip_reason"):
            return Problem(reason, extra(ref, "skip_detail", ""))
        found = self._resolve(ref, ctx)
        columns = extra(ref, "extra") or {}
        return replace(found, extra=columns) if columns and isinstance(found, Candidate) else found

    def _resolve(self, ref: VideoRef, ctx: SourceContext) -> Candidate | Failure | Problem:
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
                         fallback_urls=found.fallbacks.get(found.videos[0], ()),
                         title=found.title, description=found.description, http_status=page.status)


register(UrlsSource())
