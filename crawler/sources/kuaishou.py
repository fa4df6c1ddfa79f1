"""Kuaishou: listing pages and their GraphQL responses, the feed/photo objects, the mobile share page
(see kuaishou.md)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from crawler.parsing import Meta, Problem, assigned_json, block_sign, counters_of, hash_id, tags_from_text, timestamp
from crawler.sources.shapes import Expect, Listing, ListingPage, PlatformSpec, first, urls_of

# the site moved its listings from GraphQL to signed REST in 2026; either may answer, depending on the rollout
SEARCH_API = ("/rest/v/search/feed", "/graphql")
PROFILE_API = ("/rest/v/profile/feed", "/graphql")
OPERATIONS = ("visionSearchPhoto", "visionProfilePhotoList")  # the GraphQL search and profile listings
END = "no_more"  # the pcursor of the last page
RESULT_BLOCKS = {2: "rate_limited", 50: "signature_rejected"}  # `result` codes that end a listing


def listing(web: str, query: str) -> Listing:
    """'@<user id>' → profile page; anything else → video search ('#tag' searches the tag text)."""
    query = query.strip()
    if query.startswith("@"):
        return Listing("user", f"{web}/profile/{quote(query[1:], safe='')}", PROFILE_API)
    return Listing("search", f"{web}/search/video?searchKey={quote(query.lstrip('#'), safe='')}", SEARCH_API)


def read_listing(data: Any) -> ListingPage | None:
    """REST `{result, feeds[], pcursor}`, or GraphQL `data.visionSearchPhoto` / `data.visionProfilePhotoList`
    with the same fields: `result` 1 is ok (2 rate limited, 50 signature rejected), `pcursor` is 'no_more' at
    the end. The page's other GraphQL operations are not listings (None)."""
    if not isinstance(data, dict):
        return None
    if "feeds" in data or "result" in data:
        block = data
    else:
        body = data.get("data")
        block = next((body[op] for op in OPERATIONS if isinstance(body.get(op), dict)), None) \
            if isinstance(body, dict) else None
    if block is None:
        return None
    if block.get("result") in RESULT_BLOCKS:
        return ListingPage([], False, RESULT_BLOCKS[block["result"]])
    feeds = [f for f in block.get("feeds") or [] if isinstance(f, dict)]
    cursor = block.get("pcursor")
    return ListingPage(feeds, None if cursor is None else cursor not in (END, ""))


def item_id(feed: dict[str, Any]) -> str | None:
    value = first(feed, ("photo", "id"))
    return str(value) if value else None


def item_meta(feed: dict[str, Any], hash_authors: bool = True) -> Meta | Problem:
    """A GraphQL feed (`photo` + `author` + `tags`) → Meta. Media: `photo.photoUrl` (H.264 MP4), then
    `photo.photoH265Url`."""
    photo = feed.get("photo") or {}
    urls = urls_of(photo.get("photoUrl"), photo.get("photoH265Url"))
    if not urls:
        return Problem("no_media_url", "photo.photoUrl missing")
    caption = str(photo.get("caption") or "")
    tags = tuple(dict.fromkeys(str(t["name"]) for t in feed.get("tags") or [] if isinstance(t, dict) and t.get("name")))
    duration = photo.get("duration")
    likes = {"likes": "realLikeCount"} if "realLikeCount" in photo else {"likes": "likeCount"}
    return Meta(
        platform_id=str(photo.get("id")), media_url=urls[0], fallback_urls=urls[1:],
        title=caption, description=caption, hashtags=tags or tags_from_text(caption),
        author_id=hash_id(first(feed, ("author", "id")), hash_authors),
        published_at=timestamp(photo.get("timestamp"), millis=True),
        duration_s=float(duration) / 1000 if isinstance(duration, int | float) and duration else None,
        counters=counters_of(photo, {**likes, "plays": "viewCount", "comments": "commentCount"}),
    )


def _share_entry(html: str) -> dict[str, Any] | None:
    state = assigned_json(html, "window.INIT_STATE")
    if not isinstance(state, dict):
        return None
    return next((v for v in state.values() if isinstance(v, dict) and "result" in v and "photo" in v), None)


def page_item(html: str) -> Any:
    """The `photo` object of a mobile share page (`window.INIT_STATE`), or None."""
    entry = _share_entry(html)
    return entry.get("photo") if entry else None


def parse_page(html: str, hash_authors: bool = True) -> Meta | Problem:
    """Mobile share page `window.INIT_STATE`: the entry holding `result` and `photo`; result != 1 is a failure."""
    if sign := block_sign(html):
        return Problem(sign, "block page instead of a share page", block=True)
    if assigned_json(html, "window.INIT_STATE") is None:
        return Problem("no_page_state", "window.INIT_STATE missing")
    entry = _share_entry(html)
    if entry is None:
        return Problem("no_page_state", "no INIT_STATE entry with result and photo")
    if entry.get("result") != 1:
        code = entry.get("result")
        return Problem(f"platform_result_{code}", "rate limited" if code == 2 else "", block=code == 2)
    photo = entry.get("photo") or {}
    mains = urls_of(*[m.get("url") for m in photo.get("mainMvUrls") or [] if isinstance(m, dict)])
    if not mains:
        return Problem("no_media_url", "photo.mainMvUrls empty")
    caption = str(photo.get("caption") or "")
    tags = tuple(dict.fromkeys(str(t["name"]) for t in photo.get("tags") or []
                               if isinstance(t, dict) and t.get("name")))
    duration = photo.get("duration")
    return Meta(
        platform_id=str(photo.get("id") or photo.get("photoId")), media_url=mains[0], fallback_urls=mains[1:],
        title=caption, description=caption, hashtags=tags or tags_from_text(caption),
        author_id=hash_id(photo.get("userId") or photo.get("userEid"), hash_authors),
        published_at=timestamp(photo.get("timestamp"), millis=True),
        duration_s=float(duration) / 1000 if isinstance(duration, int | float) else None,
        counters=counters_of(photo, {"likes": "realLikeCount", "plays": "viewCount", "comments": "commentCount"}),
    )


ITEM_FIELDS = (
    Expect("id", ("photo", "id"), (str,)),
    Expect("author", ("author", "id"), (str,)),
    Expect("caption", ("photo", "caption"), (str,)),
    Expect("hashtags", ("tags",), (list,)),
    Expect("created", ("photo", "timestamp"), (int,)),
    Expect("duration", ("photo", "duration"), (int,)),
    Expect("cover", ("photo", "coverUrl"), (str,)),
    Expect("play address", ("photo", "photoUrl"), (str,)),
    Expect("likes", ("photo", "realLikeCount"), (int,)),
    Expect("views", ("photo", "viewCount"), (int,)),
)
PAGE_FIELDS = (
    Expect("id", ("id",), (str,)),
    Expect("author", ("userId",), (str, int)),
    Expect("caption", ("caption",), (str,)),
    Expect("created", ("timestamp",), (int,)),
    Expect("duration", ("duration",), (int,)),
    Expect("cover", ("coverUrls",), (list,)),
    Expect("play addresses", ("mainMvUrls",), (list,)),
    Expect("likes", ("realLikeCount",), (int,)),
)

SPEC = PlatformSpec(
    name="kuaishou", web_origin="https://www.kuaishou.com", page_origin="https://v.m.chenzhongtech.com",
    hosts=("kuaishou.com", "chenzhongtech.com"), page="/fw/photo/{id}",
    id_pattern=re.compile(r"/(?:fw/photo|short-video)/([0-9A-Za-z_-]{6,})"),
    listing=listing, read_listing=read_listing, item_meta=item_meta, item_id=item_id,
    parse_page=parse_page, page_item=page_item,
    item_fields=ITEM_FIELDS, page_fields=PAGE_FIELDS,
    query_help="a term or '@<user id>'",
)
