"""Discovery through the real browser: open a listing page, let its own scripts call the platform's API (signed
by the page, never by us) while we scroll, and read the JSON they received from the browser's network events;
the embedded page state when the page made no such call. Stops at `want` items, at the end of the listing
(`has_more` false), when scrolling brings nothing new, or on a real block signal (raises CrawlBlocked).

robots.txt: the listing page itself is checked before it is opened (by the source); the API calls the page makes
on its own are checked as they are seen. A disallowed call's JSON is not used, and scrolling stops, so the page
is not made to call it again (its first call, made while the page loads, cannot be prevented from here)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from core.errors import CrawlBlocked
from crawler.parsing import block_sign
from crawler.sources.shapes import Listing, PlatformSpec

BLOCK_STATUSES = frozenset({403, 429})
FIRST_WAIT_S = 3.0  # the first API call waits on the page's scripts loading


def _blocked(spec: PlatformSpec, listing: Listing, what: str) -> CrawlBlocked:
    return CrawlBlocked(f"{spec.name} listing {listing.url} {what}; stopped before fetching anything"
                        if what.startswith("is ") else f"{spec.name} listing {listing.url}: {what}; stopped",
                        remedy="do not solve it: wait several hours and lower the crawl rate (or pass --cookies)")


def listing_items(browser: Any, spec: PlatformSpec, listing: Listing, *, want: int, max_scrolls: int,
                  pause_s: float, log: Callable[[str], None] = lambda _m: None,
                  allowed: Callable[[str], bool] = lambda _url: True) -> Iterator[dict[str, Any]]:
    """The listing's video objects (raw platform JSON), each once, in the order the page received them;
    `allowed(url)` is the robots.txt verdict for the API calls the page makes."""
    browser.open(listing.url)
    if "/login" in urlsplit(browser.url).path:
        raise _blocked(spec, listing, "is a login wall")
    seen: set[str] = set()
    calls = idle = 0
    for step in range(max_scrolls + 1):
        responses = browser.wait_responses(listing.wants, max(pause_s, FIRST_WAIT_S) if step == 0 else pause_s)
        more: bool | None = None
        fresh = 0
        disallowed = [r for r in responses if not allowed(r.url)]
        for response in disallowed:
            log(f"{spec.name} listing: robots.txt disallows the API call {urlsplit(response.url).path}; "
                "its answer is not used and the listing is not scrolled further")
        for response in (r for r in responses if r not in disallowed):
            if response.status in BLOCK_STATUSES:
                raise _blocked(spec, listing, f"its API answered HTTP {response.status}")
            page = spec.read_listing(response.json())
            if page is None:
                continue
            calls += 1
            if page.block:
                raise _blocked(spec, listing, f"its API says {page.block}")
            for item in page.items:
                key = spec.item_id(item)
                if key and key not in seen:
                    seen.add(key)
                    fresh += 1
                    yield item
            if page.has_more is not None:
                more = page.has_more
            log(f"{spec.name} listing: {len(page.items)} items from {urlsplit(response.url).path}")
        if calls == 0:
            yield from _from_state(browser, spec, listing, seen, log)
            return
        if disallowed or len(seen) >= want or more is False:
            return
        idle = 0 if fresh else idle + 1
        if idle >= 2 or step == max_scrolls:
            return
        browser.scroll()


def _from_state(browser: Any, spec: PlatformSpec, listing: Listing, seen: set[str],
                log: Callable[[str], None]) -> Iterator[dict[str, Any]]:
    """The page made no listing API call: its embedded state, else a block page, else nothing."""
    items = spec.state_items(browser.page_state(spec.state_names)) if spec.state_names else []
    if not items:
        if sign := block_sign(browser.html()):
            raise _blocked(spec, listing, f"is a {sign} page")
        log(f"{spec.name} listing {listing.url}: no API response and no embedded state; nothing discovered")
        return
    log(f"{spec.name} listing: {len(items)} items from the embedded page state")
    for item in items:
        key = spec.item_id(item)
        if key and key not in seen:
            seen.add(key)
            yield item
