"""The `douyin`, `kuaishou` and `tiktok` sources: discovery through the browser's own API calls (see
`crawler.discovery`), media addresses straight from the discovered video objects; a video page's embedded
state when only its URL is known (URL and id lists)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from core.records import VideoRef
from crawler.http import Failure
from crawler.parsing import Meta, Problem
from crawler.recipe import CrawlRecipe
from crawler.sources import douyin, kuaishou, tiktok
from crawler.sources.base import Candidate, SourceContext, extra, register
from crawler.sources.shapes import Listing, PlatformSpec


class PlatformSource:
    """One platform behind the source protocol; everything platform-specific is in its PlatformSpec."""

    needs_browser: ClassVar[bool] = True

    def __init__(self, spec: PlatformSpec) -> None:
        self.spec = spec
        self.name = spec.name  # type: ignore[misc]

    def origins(self, recipe: CrawlRecipe) -> tuple[str, str]:
        if recipe.base_url:
            base = recipe.base_url.rstrip("/")
            return base, base
        return self.spec.web_origin, self.spec.page_origin

    def hosts(self, recipe: CrawlRecipe) -> tuple[str, ...]:
        """The hosts the user's cookies may go to: the platform's own (or the replacing base_url's)."""
        base = (urlsplit(recipe.base_url).hostname or "",) if recipe.base_url else ()
        return self.spec.hosts + base

    def check_recipe(self, recipe: CrawlRecipe) -> None:
        if recipe.source != self.name:
            return
        query = (recipe.query or "").strip()
        if not query.strip(" #@"):
            raise ValueError(f"the {self.name} source needs --query ({self.spec.query_help})")
        check = self.spec.extra.get("check_query")
        if check is not None:
            check(query)

    def listing(self, recipe: CrawlRecipe) -> Listing:
        """The listing page of the query and the API its items come from."""
        return self.spec.listing(self.origins(recipe)[0], (recipe.query or "").strip())

    def listing_url(self, recipe: CrawlRecipe) -> str:
        return self.listing(recipe).url

    def page_url(self, platform_id: str, recipe: CrawlRecipe) -> str:
        return self.origins(recipe)[1] + self.spec.page.format(id=platform_id)

    def id_from_url(self, url: str) -> str | None:
        match = self.spec.id_pattern.search(urlsplit(url).path)
        return match.group(1) if match else None

    def owns(self, url: str, recipe: CrawlRecipe) -> bool:
        """Whether `url` is one of this platform's video pages (on its hosts, or under the recipe's base_url)."""
        host = (urlsplit(url).hostname or "").lower()
        on_host = any(host == h or host.endswith("." + h) for h in self.spec.hosts)
        on_base = bool(recipe.base_url) and url.startswith(recipe.base_url.rstrip("/"))
        return (on_host or on_base) and self.id_from_url(url) is not None

    def open_browser(self, ctx: SourceContext) -> Any:
        """The run's browser, given the user's cookies for this platform's hosts (and no other host's)."""
        browser = ctx.open_browser()
        if ctx.recipe.cookie_file is not None:
            from crawler.cookies import browser_cookies

            browser.set_cookies(browser_cookies(ctx.recipe.cookie_file, self.hosts(ctx.recipe)))
        return browser

    def discover(self, ctx: SourceContext) -> Iterator[VideoRef]:
        from crawler.discovery import listing_items

        recipe = ctx.recipe
        listing = self.listing(recipe)
        if not ctx.client.allowed(listing.url):
            ctx.log(f"robots.txt disallows {listing.url}; nothing discovered")
            return
        browser = self.open_browser(ctx)
        pause_s = max(recipe.scroll_pause_s, recipe.politeness.min_interval_s)  # a scroll is a request too
        for item in listing_items(browser, self.spec, listing, want=recipe.limit * 2 + 10,
                                  max_scrolls=recipe.max_scrolls, pause_s=pause_s, log=ctx.log,
                                  allowed=ctx.client.allowed):
            platform_id = self.spec.item_id(item)
            if not platform_id:
                continue
            meta = self.spec.item_meta(item, recipe.hash_author_ids)
            ref: dict[str, Any] = {"meta": meta.as_dict()} if isinstance(meta, Meta) else {}
            yield VideoRef(source=self.name, platform=self.name, platform_id=platform_id,
                           page_url=self.page_url(platform_id, recipe), discovered_at=datetime.now(UTC),
                           source_query=recipe.query, **ref)

    def _block_check(self, html: str) -> str | None:
        problem = self.spec.parse_page(html, True)
        return problem.reason if isinstance(problem, Problem) and problem.block else None

    def resolve(self, ref: VideoRef, ctx: SourceContext) -> Candidate | Failure | Problem:
        assert ref.page_url is not None
        known = extra(ref, "meta")
        if known:  # the listing's JSON said it all: no second request for this video
            return self._candidate(Meta(**{**known, "hashtags": tuple(known["hashtags"]),
                                           "fallback_urls": tuple(known["fallback_urls"]),
                                           "published_at": _when(known["published_at"])}), ref.page_url, None,
                                   ctx.recipe)
        page = ctx.client.get_page(ref.page_url, block_check=self._block_check)
        if isinstance(page, Failure):
            return page
        meta = self.spec.parse_page(page.text, ctx.recipe.hash_author_ids)
        if isinstance(meta, Problem):
            return meta
        return self._candidate(meta, page.url, page.status, ctx.recipe)

    def _candidate(self, meta: Meta, page_url: str, status: int | None, recipe: CrawlRecipe) -> Candidate:
        ytdlp = self.spec.ytdlp_page
        return Candidate(
            platform=self.name, page_url=page_url, media_url=meta.media_url, platform_id=meta.platform_id,
            title=meta.title, description=meta.description, hashtags=meta.hashtags, author_id=meta.author_id,
            published_at=meta.published_at, duration_s=meta.duration_s, counters=meta.counters,
            http_status=status, headers={"Referer": page_url},  # the CDNs check it (yt-dlp sends the same)
            fallback_urls=meta.fallback_urls,
            extractor_url=self.origins(recipe)[0] + ytdlp.format(id=meta.platform_id) if ytdlp else None,
        )


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


PLATFORMS = {spec.name: spec for spec in (douyin.SPEC, kuaishou.SPEC, tiktok.SPEC)}
for _spec in PLATFORMS.values():
    register(PlatformSource(_spec))
