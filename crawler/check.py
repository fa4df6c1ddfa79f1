"""`crawl check`: open one listing and one video page of a platform and say, per expected field, whether it is
still there with the type the adapter reads: found, missing or changed type. A platform changed when any is
not found (the CLI exits 6)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.errors import EmotionsError
from crawler.discovery import FIRST_WAIT_S
from crawler.http import Client, Failure
from crawler.recipe import CrawlRecipe
from crawler.sources.platforms import PlatformSource

DEFAULT_QUERIES = {"douyin": "搞笑", "kuaishou": "搞笑", "tiktok": "funny"}


class PlatformChanged(EmotionsError):
    """A platform no longer serves a field its adapter reads (or the listing gave nothing to check)."""

    exit_code = 6


@dataclass(frozen=True, slots=True)
class FieldCheck:
    where: str  # listing, video page
    name: str
    verdict: str  # found, missing, changed type
    detail: str


@dataclass
class CheckReport:
    source: str
    listing_url: str
    page_url: str | None = None
    fields: list[FieldCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.fields) and all(f.verdict == "found" for f in self.fields)

    def add(self, where: str, name: str, verdict: str, detail: str = "") -> None:
        self.fields.append(FieldCheck(where, name, verdict, detail))


def _listing_sample(source: PlatformSource, browser: Any, recipe: CrawlRecipe, report: CheckReport
                    ) -> dict[str, Any] | None:
    """Open the listing; check the paging of its first API answer; return its first video object."""
    spec, listing = source.spec, source.listing(recipe)
    browser.open(listing.url)
    for response in browser.wait_responses(listing.wants, max(recipe.scroll_pause_s, FIRST_WAIT_S)):
        page = spec.read_listing(response.json())
        if page is None:
            continue
        report.add("listing", "API response", "found" if response.status == 200 else "changed type",
                   f"HTTP {response.status} {response.url.split('?', 1)[0]}")
        report.add("listing", "items", "found" if page.items else "missing", f"{len(page.items)} on page one")
        report.add("listing", "has_more", "found" if page.has_more is not None else "missing")
        return page.items[0] if page.items else None
    items = spec.state_items(browser.page_state(spec.state_names)) if spec.state_names else []
    report.add("listing", "API response", "missing", f"no call matching {', '.join(listing.api)}")
    if items:
        report.add("listing", "embedded state", "found", f"{len(items)} items in {', '.join(spec.state_names)}")
    return items[0] if items else None


def check_platform(recipe: CrawlRecipe, browser: Any, client: Client) -> CheckReport:
    """Check the recipe's platform: its listing for `recipe.query` and the first video's page."""
    from crawler.sources import get_source

    source = get_source(recipe.source)
    if not isinstance(source, PlatformSource):
        raise ValueError(f"crawl check works on douyin, kuaishou and tiktok, not {recipe.source!r}")
    spec = source.spec
    report = CheckReport(recipe.source, source.listing(recipe).url)
    if not client.allowed(report.listing_url):
        report.add("listing", "robots.txt", "missing", f"disallows {report.listing_url}: not opened")
        return report
    if recipe.cookie_file is not None:
        from crawler.cookies import browser_cookies

        browser.set_cookies(browser_cookies(recipe.cookie_file, source.hosts(recipe)))
    item = _listing_sample(source, browser, recipe, report)
    if item is None:
        return report
    for expect in spec.item_fields:
        report.add("listing", expect.name, *expect.verdict(item))
    platform_id = spec.item_id(item)
    if not platform_id:
        return report
    report.page_url = source.page_url(platform_id, recipe)
    page = client.get_page(report.page_url)
    if isinstance(page, Failure):
        report.add("video page", "page", "missing", f"{page.reason} {page.detail}".strip())
        return report
    video = spec.page_item(page.text)
    if not isinstance(video, dict):
        report.add("video page", "page state", "missing", "no video object in the page")
        return report
    for expect in spec.page_fields:
        report.add("video page", expect.name, *expect.verdict(video))
    return report


def format_check(report: CheckReport) -> str:
    """One line per field, then a verdict line."""
    lines = [f"{report.source}: listing {report.listing_url}"]
    if report.page_url:
        lines.append(f"{report.source}: video page {report.page_url}")
    lines += [f"  {f.where:<11} {f.name:<16} {f.verdict:<13} {f.detail}".rstrip() for f in report.fields]
    if not report.fields:
        lines.append("nothing to check: the listing gave no video object")
    if report.ok:
        lines.append("ok: the adapter's fields are all there")
    return "\n".join(lines)


def changed_error(report: CheckReport) -> PlatformChanged:
    bad = [f for f in report.fields if f.verdict != "found"]
    what = f"{len(bad)} field(s) missing or of another type" if bad else "the listing gave no video object"
    return PlatformChanged(f"{report.source} changed: {what}",
                           remedy=f"the adapter needs updating, see crawler/sources/{report.source}.md; "
                                  "or pass --cookies if the listing wants a session")
