"""The `douyin`, `kuaishou` and `tiktok` sources: Selenium discovery of video pages, then embedded-JSON pages."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import quote, urlsplit

from core.errors import CrawlBlocked
from core.records import VideoRef
from crawler.http import Failure
from crawler.parsing import Meta, Problem, block_sign, parse_douyin, parse_kuaishou, parse_tiktok
from crawler.recipe import CrawlRecipe
from crawler.sources.base import Candidate, SourceContext, register


@dataclass(frozen=True)
class PlatformSpec:
    """Everything that differs between platforms; a layout change is a change here or in one parser."""

    name: str
    web_origin: str  # where search, hashtag and account listings live
    page_origin: str  # where the server-rendered video pages live
    hosts: tuple[str, ...]
    search: str  # listing paths; {q} is the URL-quoted term
    hashtag: str
    account: str
    page: str  # video page path for an id
    id_pattern: re.Pattern[str]  # finds the id in a listing link or page URL
    parse: Callable[[str, bool], Meta | Problem]


DOUYIN = PlatformSpec(
    "douyin", "https://www.douyin.com", "https://www.iesdouyin.com",
    ("douyin.com", "iesdouyin.com", "v.douyin.com"),
    "/search/{q}", "/hashtag/{q}", "/user/{q}", "/share/video/{id}/",
    re.compile(r"^(?:(?!/@).)*/(?:share/)?video/(\d{6,})"), parse_douyin,  # not TikTok's /@user/video/
)
KUAISHOU = PlatformSpec(
    "kuaishou", "https://www.kuaishou.com", "https://v.m.chenzhongtech.com",
    ("kuaishou.com", "chenzhongtech.com", "v.kuaishou.com"),
    "/search/video?searchKey={q}", "/tag/{q}", "/profile/{q}", "/fw/photo/{id}",
    re.compile(r"/(?:fw/photo|short-video)/([0-9A-Za-z_-]{6,})"), parse_kuaishou,
)
TIKTOK = PlatformSpec(
    "tiktok", "https://www.tiktok.com", "https://www.tiktok.com",
    ("tiktok.com",),
    "/search/video?q={q}", "/tag/{q}", "/@{q}", "/@_/video/{id}",
    re.compile(r"/@[^/?#]*/video/(\d{6,})"), parse_tiktok,
)


class PlatformSource:
    """Tier 1: Selenium scrolls a search/hashtag/account listing and collects video links.
    Tier 2: requests fetches each server-rendered video page; the embedded page state gives metadata and media.
    """

    needs_browser: ClassVar[bool] = True

    def __init__(self, spec: PlatformSpec) -> None:
        self.spec = spec
        self.name = spec.name  # type: ignore[misc]

    def origins(self, recipe: CrawlRecipe) -> tuple[str, str]:
        if recipe.base_url:
            base = recipe.base_url.rstrip("/")
            return base, base
        return self.spec.web_origin, self.spec.page_origin

    def check_recipe(self, recipe: CrawlRecipe) -> None:
        if recipe.source == self.name and not (recipe.query or "").strip(" #@"):
            raise ValueError(f"the {self.name} source needs --query (a term, '#hashtag' or '@account')")

    def listing_url(self, recipe: CrawlRecipe) -> str:
        """The listing page of the query: '#tag' → hashtag, '@name' → account, anything else → search."""
        query = (recipe.query or "").strip()
        web, _page = self.origins(recipe)
        if query.startswith("#"):
            template, term = self.spec.hashtag, query[1:]
        elif query.startswith("@"):
            template, term = self.spec.account, query[1:]
        else:
            template, term = self.spec.search, query
        return web + template.format(q=quote(term, safe=""))

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

    def discover(self, ctx: SourceContext) -> Iterator[VideoRef]:
        recipe = ctx.recipe
        listing = self.listing_url(recipe)
        if not ctx.client.allowed(listing):
            ctx.log(f"robots.txt disallows {listing}; nothing discovered")
            return
        browser = ctx.open_browser()
        seen: set[str] = set()
        for href in browser.scroll_links(listing, want=recipe.limit * 2 + 10, max_scrolls=recipe.max_scrolls,
                                         pause_s=recipe.scroll_pause_s):
            platform_id = self.id_from_url(href)
            if platform_id and platform_id not in seen:
                seen.add(platform_id)
                yield VideoRef(source=self.name, platform=self.name, platform_id=platform_id,
                               page_url=self.page_url(platform_id, recipe), discovered_at=datetime.now(UTC),
                               source_query=recipe.query)
        if not seen and (sign := block_sign(browser.html())):
            raise CrawlBlocked(f"{self.name} listing {listing} is a {sign} page; stopped before fetching anything",
                               remedy="do not solve it: wait several hours and lower the crawl rate")

    def _block_check(self, html: str) -> str | None:
        problem = self.spec.parse(html, True)
        return problem.reason if isinstance(problem, Problem) and problem.block else None

    def resolve(self, ref: VideoRef, ctx: SourceContext) -> Candidate | Failure | Problem:
        assert ref.page_url is not None
        page = ctx.client.get_page(ref.page_url, block_check=self._block_check)
        if isinstance(page, Failure):
            return page
        meta = self.spec.parse(page.text, ctx.recipe.hash_author_ids)
        if isinstance(meta, Problem):
            return meta
        return Candidate(
            platform=self.name, page_url=page.url, media_url=meta.media_url, platform_id=meta.platform_id,
            title=meta.title, description=meta.description, hashtags=meta.hashtags, author_id=meta.author_id,
            published_at=meta.published_at, duration_s=meta.duration_s, counters=meta.counters,
            http_status=page.status, headers={"Referer": page.url},  # CDNs check it
        )


for _spec in (DOUYIN, KUAISHOU, TIKTOK):
    register(PlatformSource(_spec))
