"""The `site` source: any website; follows same-host links from seeds and finds HTML5/og/JSON-LD videos."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import urlsplit

from core.records import VIDEO_EXTENSIONS, VideoRef
from crawler.http import Failure
from crawler.parsing import Problem, parse_site_page, same_host
from crawler.recipe import CrawlRecipe
from crawler.sources.base import Candidate, SourceContext, extra, platform_of_url, register

MEDIA_SUFFIXES = tuple(sorted(VIDEO_EXTENSIONS))
HTML_TYPES = ("text/html", "application/xhtml+xml")


def is_media_url(url: str) -> bool:
    return urlsplit(url).path.lower().endswith(MEDIA_SUFFIXES)


class SiteSource:
    """Breadth-first over same-host links up to `max_depth`; external links are never followed."""

    name: ClassVar[str] = "site"
    needs_browser: ClassVar[bool] = False

    def check_recipe(self, recipe: CrawlRecipe) -> None:
        if not recipe.seeds:
            raise ValueError("the site source needs at least one seed URL (--seed)")
        bad = [s for s in recipe.seeds if urlsplit(s).scheme not in ("http", "https")]
        if bad:
            raise ValueError(f"seed {bad[0]!r} is not an http(s) URL")

    def discover(self, ctx: SourceContext) -> Iterator[VideoRef]:
        recipe = ctx.recipe
        queue: deque[tuple[str, int, str]] = deque((seed, 0, seed) for seed in recipe.seeds)
        visited: set[str] = set()
        while queue and len(visited) < recipe.max_pages:
            url, depth, seed = queue.popleft()
            if url in visited:
                continue
            visited.add(url)
            page = ctx.client.get_page(url)
            if isinstance(page, Failure):
                ctx.log(f"page {url}: {page.reason} {page.detail}".rstrip())
                continue
            if not page.headers.get("Content-Type", "text/html").lower().startswith(HTML_TYPES):
                continue
            found = parse_site_page(page.text, page.url)
            for media in found.videos:
                yield VideoRef(source=self.name, page_url=page.url, media_url=media,
                               discovered_at=datetime.now(UTC), title=found.title, description=found.description,
                               fallback_urls=list(found.fallbacks.get(media, ())))
            if depth >= recipe.max_depth:
                continue
            for link in found.links:
                if same_host(link, seed) and link not in visited and not is_media_url(link):
                    queue.append((link, depth + 1, seed))

    def resolve(self, ref: VideoRef, ctx: SourceContext) -> Candidate | Failure | Problem:
        return Candidate(platform=platform_of_url(ref.page_url or ref.media_url), page_url=ref.page_url,
                         media_url=ref.media_url, fallback_urls=tuple(extra(ref, "fallback_urls", ())),
                         title=extra(ref, "title", ""),
                         description=extra(ref, "description", ""))


register(SiteSource())
