"""Douyin: listing pages and their web API responses, the `aweme` video object, the share page (see douyin.md)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from crawler.parsing import Meta, Problem, assigned_json, block_sign, counters_of, hash_id, tags_from_text, timestamp
from crawler.sources.shapes import Expect, Listing, ListingPage, PlatformSpec, dig, first, urls_of

SEARCH_API = ("/aweme/v1/web/general/search/single/", "/aweme/v1/web/search/item/")
HASHTAG_API = ("/aweme/v1/web/challenge/aweme/",)
USER_API = ("/aweme/v1/web/aweme/post/",)
SEC_UID = re.compile(r"^MS4wLj[0-9A-Za-z_-]+$")  # base64 of the user's id record: what /user/ pages are keyed by
STATS = {"likes": "digg_count", "comments": "comment_count", "shares": "share_count", "collects": "collect_count",
         "plays": "play_count"}


def listing(web: str, query: str) -> Listing:
    """'#<challenge id>' → hashtag page, '@<sec_uid>' → user page, anything else (a '#name' too) → video search."""
    query = query.strip()
    if query.startswith("#") and query[1:].isdigit():
        return Listing("hashtag", f"{web}/hashtag/{query[1:]}", HASHTAG_API)
    if query.startswith("@"):
        return Listing("user", f"{web}/user/{quote(query[1:], safe='')}", USER_API)
    return Listing("search", f"{web}/search/{quote(query, safe='')}?type=video", SEARCH_API)


def check_query(query: str) -> None:
    if query.startswith("@") and not SEC_UID.match(query[1:]):
        raise ValueError("douyin user pages are keyed by sec_uid: pass --query '@MS4wLjABAAAA…' "
                         "(the part after /user/ in the profile's address), not a display name")


def read_listing(data: Any) -> ListingPage | None:
    """Search: `data[].aweme_info` or `data[].aweme_mix_info.mix_items[]`; challenge and user posts:
    `aweme_list`. `has_more` is 0/1 on all three."""
    if not isinstance(data, dict) or not ("aweme_list" in data or "data" in data):
        return None
    items: list[dict[str, Any]] = []
    if isinstance(data.get("aweme_list"), list):
        items = [i for i in data["aweme_list"] if isinstance(i, dict)]
    elif isinstance(data.get("data"), list):
        for row in data["data"]:
            if not isinstance(row, dict):
                continue
            if isinstance(row.get("aweme_info"), dict):
                items.append(row["aweme_info"])
            else:
                items += [i for i in first(row, ("aweme_mix_info", "mix_items"), default=[]) if isinstance(i, dict)]
    more = data.get("has_more")
    return ListingPage(items, bool(more) if more is not None else None)


def item_id(item: dict[str, Any]) -> str | None:
    value = item.get("aweme_id")
    return str(value) if value not in (None, "") else None


def item_meta(item: dict[str, Any], hash_authors: bool = True) -> Meta | Problem:
    """An `aweme` object (search, lists, detail and share page alike) → Meta.

    Media: `video.play_addr_h264` first (H.264), then `play_addr`, `play_addr_265`, `download_addr`
    (watermarked: last); within each, every `url_list` entry in order (they are mirrors). `playwm` URLs are
    rewritten to the watermark-free `play`.
    """
    video = item.get("video") or {}
    lists = [dig(video, (key, "url_list")) for key in ("play_addr_h264", "play_addr", "play_addr_265")]
    lists += [dig(rate, ("play_addr", "url_list")) for rate in video.get("bit_rate") or [] if isinstance(rate, dict)]
    lists.append(dig(video, ("download_addr", "url_list")))
    urls = tuple(dict.fromkeys(u.replace("/playwm/", "/play/") for u in urls_of(*[x for x in lists if x])))
    if not urls:
        return Problem("no_media_url", "video.play_addr.url_list empty")
    desc = str(item.get("desc") or "")
    tags = tuple(dict.fromkeys(str(t["hashtag_name"]) for t in item.get("text_extra") or []
                               if isinstance(t, dict) and t.get("hashtag_name")))
    duration = video.get("duration")
    author = item.get("author") or {}
    return Meta(
        platform_id=str(item.get("aweme_id")), media_url=urls[0], fallback_urls=urls[1:],
        title=desc, description=desc, hashtags=tags or tags_from_text(desc),
        author_id=hash_id(author.get("uid") or author.get("sec_uid"), hash_authors),
        published_at=timestamp(item.get("create_time")),
        duration_s=float(duration) / 1000 if isinstance(duration, int | float) and duration else None,
        counters=counters_of(item.get("statistics") or {}, STATS),
    )


def _share_state(html: str) -> dict[str, Any]:
    state = assigned_json(html, "window._ROUTER_DATA")
    if not isinstance(state, dict):
        return {}
    loader = state.get("loaderData") or {}
    page = next((v for k, v in loader.items() if k.startswith("video_") and isinstance(v, dict)
                 and "videoInfoRes" in v), None)
    return (page or {}).get("videoInfoRes") or {}


def page_item(html: str) -> Any:
    """The `aweme` object of a share page (`window._ROUTER_DATA`), or None."""
    items = _share_state(html).get("item_list") or []
    return items[0] if items else None


def parse_page(html: str, hash_authors: bool = True) -> Meta | Problem:
    """Share page `window._ROUTER_DATA` → loaderData["video_(id)/page"].videoInfoRes.item_list[0]."""
    if sign := block_sign(html):
        return Problem(sign, "block page instead of a share page", block=True)
    if assigned_json(html, "window._ROUTER_DATA") is None:
        return Problem("no_page_state", "window._ROUTER_DATA missing")
    res = _share_state(html)
    items = res.get("item_list") or []
    if not items:
        filters = res.get("filter_list") or [{}]
        return Problem("unavailable", str(filters[0].get("detail_msg") or "empty item_list"))
    return item_meta(items[0], hash_authors)


ITEM_FIELDS = (
    Expect("id", ("aweme_id",), (str,)),
    Expect("author", ("author", "uid"), (str,)),
    Expect("caption", ("desc",), (str,)),
    Expect("hashtags", ("text_extra",), (list,)),
    Expect("created", ("create_time",), (int,)),
    Expect("duration", ("video", "duration"), (int,)),
    Expect("cover", ("video", "cover", "url_list"), (list,)),
    Expect("play addresses", ("video", "play_addr", "url_list"), (list,)),
    Expect("likes", ("statistics", "digg_count"), (int,)),
    Expect("comments", ("statistics", "comment_count"), (int,)),
)

SPEC = PlatformSpec(
    name="douyin", web_origin="https://www.douyin.com", page_origin="https://www.iesdouyin.com",
    hosts=("douyin.com", "iesdouyin.com"), page="/share/video/{id}/",
    id_pattern=re.compile(r"^(?:(?!/@).)*/(?:share/)?video/(\d{6,})"),  # not TikTok's /@user/video/
    listing=listing, read_listing=read_listing, item_meta=item_meta, item_id=item_id,
    parse_page=parse_page, page_item=page_item,
    item_fields=ITEM_FIELDS, page_fields=ITEM_FIELDS,
    query_help="a term, '#<challenge id>' or '@<sec_uid>'", ytdlp_page="/video/{id}",
    extra={"check_query": check_query},
)
