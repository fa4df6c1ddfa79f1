"""TikTok: listing pages and their web API responses, the `itemStruct` video object, the video page state
(see tiktok.md)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from crawler.parsing import Meta, Problem, block_sign, counters_of, hash_id, script_json, tags_from_text, timestamp
from crawler.sources.shapes import Expect, Listing, ListingPage, PlatformSpec, dig, first, urls_of

SEARCH_API = ("/api/search/item/full/", "/api/search/general/full/")
TAG_API = ("/api/challenge/item_list/",)
USER_API = ("/api/post/item_list/",)
STATS = {"plays": "playCount", "likes": "diggCount", "comments": "commentCount", "shares": "shareCount",
         "collects": "collectCount"}


def listing(web: str, query: str) -> Listing:
    """'#tag' → /tag/<name>, '@name' → /@<name> (the user's posts), anything else → video search."""
    query = query.strip()
    if query.startswith("#"):
        return Listing("hashtag", f"{web}/tag/{quote(query[1:], safe='')}", TAG_API)
    if query.startswith("@"):
        return Listing("user", f"{web}/@{quote(query[1:], safe='')}", USER_API)
    return Listing("search", f"{web}/search/video?q={quote(query, safe='')}", SEARCH_API)


def read_listing(data: Any) -> ListingPage | None:
    """`itemList` + `hasMore` (tag and user lists), `item_list` + `has_more` (video search), or
    `data[].item` (general search)."""
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("itemList"), list) or "hasMore" in data:
        items = data.get("itemList") or []
        more = data.get("hasMore")
    elif isinstance(data.get("item_list"), list) or "has_more" in data:
        items = data.get("item_list") or []
        more = data.get("has_more")
    elif isinstance(data.get("data"), list):
        items = [row["item"] for row in data["data"] if isinstance(row, dict) and isinstance(row.get("item"), dict)]
        more = data.get("has_more")
    else:
        return None
    return ListingPage([i for i in items if isinstance(i, dict)], bool(more) if more is not None else None)


def state_items(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Video objects shipped in a listing page itself: SIGI_STATE's `ItemModule` (id → item)."""
    module = dig(state, ("SIGI_STATE", "ItemModule"))
    return [v for v in module.values() if isinstance(v, dict)] if isinstance(module, dict) else []


def item_id(item: dict[str, Any]) -> str | None:
    value = item.get("id")
    return str(value) if value not in (None, "") else None


def item_meta(item: dict[str, Any], hash_authors: bool = True) -> Meta | Problem:
    """An `itemStruct` (lists, search, video page alike) → Meta. Media: `video.playAddr`, then the H.264
    entries of `video.bitrateInfo[].PlayAddr.UrlList`, then the others, then `downloadAddr` (watermarked)."""
    video = item.get("video") or {}
    rates = [r for r in video.get("bitrateInfo") or [] if isinstance(r, dict)]
    rates.sort(key=lambda r: str(r.get("CodecType") or "h264") != "h264")
    play = video.get("playAddr")
    play = [p.get("src") for p in play if isinstance(p, dict)] if isinstance(play, list) else play
    urls = urls_of(play, *[dig(r, ("PlayAddr", "UrlList")) for r in rates], video.get("downloadAddr"))
    if not urls:
        return Problem("no_media_url", "itemStruct.video.playAddr missing")
    desc = str(item.get("desc") or "")
    tags = tuple(dict.fromkeys(str(c["title"]) for c in item.get("challenges") or [] if isinstance(c, dict)
                               and c.get("title")))
    author = item.get("author") if isinstance(item.get("author"), dict) else {}
    duration = video.get("duration")
    stats = item.get("stats") or item.get("statsV2") or {}
    return Meta(
        platform_id=str(item.get("id")), media_url=urls[0], fallback_urls=urls[1:],
        title=desc, description=desc, hashtags=tags or tags_from_text(desc),
        author_id=hash_id(author.get("id") or author.get("secUid") or item.get("authorId"), hash_authors),
        published_at=timestamp(item.get("createTime")),
        duration_s=float(duration) if isinstance(duration, int | float) and duration else None,
        counters=counters_of(stats, STATS),
    )


def _detail(html: str) -> tuple[dict[str, Any], Any]:
    """(webapp.video-detail of `__UNIVERSAL_DATA_FOR_REHYDRATION__`, or SIGI_STATE's ItemModule item)."""
    data = script_json(html, "__UNIVERSAL_DATA_FOR_REHYDRATION__")
    if isinstance(data, dict):
        return first(data, ("__DEFAULT_SCOPE__", "webapp.video-detail"), default={}), None
    sigi = script_json(html, "SIGI_STATE")
    module = dig(sigi, ("ItemModule",)) if isinstance(sigi, dict) else None
    if isinstance(module, dict) and module:
        return {"statusCode": 0}, next(iter(module.values()))
    return {}, None


def page_item(html: str) -> Any:
    detail, sigi_item = _detail(html)
    return sigi_item or first(detail, ("itemInfo", "itemStruct"))


def parse_page(html: str, hash_authors: bool = True) -> Meta | Problem:
    """`__UNIVERSAL_DATA_FOR_REHYDRATION__` → __DEFAULT_SCOPE__["webapp.video-detail"].itemInfo.itemStruct
    (older pages: SIGI_STATE.ItemModule[id])."""
    if sign := block_sign(html):
        return Problem(sign, "challenge page instead of a video page", block=True)
    detail, _item = _detail(html)
    if not detail:
        return Problem("no_page_state", "__UNIVERSAL_DATA_FOR_REHYDRATION__ missing")
    if detail.get("statusCode", 0) != 0:
        return Problem("unavailable", f"statusCode {detail.get('statusCode')} {detail.get('statusMsg', '')}".strip())
    item = page_item(html)
    if not isinstance(item, dict) or not item:
        return Problem("no_media_url", "itemStruct.video.playAddr missing")
    return item_meta(item, hash_authors)


ITEM_FIELDS = (
    Expect("id", ("id",), (str,)),
    Expect("author", ("author", "id"), (str,)),
    Expect("caption", ("desc",), (str,)),
    Expect("hashtags", ("challenges",), (list,)),
    Expect("created", ("createTime",), (int, str)),
    Expect("duration", ("video", "duration"), (int,)),
    Expect("cover", ("video", "cover"), (str,)),
    Expect("play address", ("video", "playAddr"), (str, list)),
    Expect("plays", ("stats", "playCount"), (int,)),
    Expect("likes", ("stats", "diggCount"), (int,)),
)

SPEC = PlatformSpec(
    name="tiktok", web_origin="https://www.tiktok.com", page_origin="https://www.tiktok.com",
    hosts=("tiktok.com",), page="/@_/video/{id}",
    id_pattern=re.compile(r"/@[^/?#]*/video/(\d{6,})"),
    listing=listing, read_listing=read_listing, item_meta=item_meta, item_id=item_id,
    parse_page=parse_page, page_item=page_item,
    state_names=("SIGI_STATE", "__UNIVERSAL_DATA_FOR_REHYDRATION__"), state_items=state_items,
    item_fields=ITEM_FIELDS, page_fields=ITEM_FIELDS,
    query_help="a term, '#tag' or '@account'",
)
