"""Replicas of Douyin, Kuaishou and TikTok rebuilt from the structures in crawler/sources/<platform>.md.

Listing pages render nothing server-side: their script calls the platform's JSON API while the reader scrolls
(Douyin `/aweme/v1/web/...`, Kuaishou `POST /rest/v/search/feed` and `POST /graphql`, TikTok
`/api/.../item_list/`), with the real field
names, nesting, cursors and `has_more`; video pages carry the embedded state the real ones ship. Switches on
the FixturePlatform change a replica the way a platform might change: `mutate[platform]` rewrites every video
object (a renamed field), `api_status[platform]` answers the API with an error status, `ssr_only` ships the
listing's items in SIGI_STATE instead of an API, `api_delay_s` slows each API answer.
"""

from __future__ import annotations

import json
import time
import zlib
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tests.crawler.fixture_pages import Item, html_page

if TYPE_CHECKING:
    from tests.crawler.fixture_platform import _Handler

PAGE_SIZE = 2


def tag_id(tag: str) -> str:
    """The numeric challenge id a tag has on the replica (Douyin and TikTok key hashtags by id)."""
    return str(1_000_000 + zlib.crc32(tag.encode()) % 1_000_000)


def sec_uid(author: str) -> str:
    return f"MS4wLjABAAAA{author}"


# ---- video objects ---------------------------------------------------------------------------------
def aweme(base: str, item: Item) -> dict[str, Any]:
    """Douyin's `aweme` (search `aweme_info`, `aweme_list` entries, share page `item_list[0]`)."""
    return {"aweme_id": item.id, "desc": item.desc, "create_time": item.create_time, "aweme_type": 0,
            "author": {"uid": item.author, "sec_uid": sec_uid(item.author), "nickname": "nick"},
            "text_extra": [{"hashtag_name": t, "type": 1} for t in item.tags],
            "video": {"duration": item.duration_ms, "cover": {"url_list": [f"{base}/cover/{item.id}.jpeg"]},
                      "play_addr_h264": {"url_list": [f"{base}/cdn-gone/{item.id}.mp4",
                                                      f"{base}/aweme/v1/play/?video_id={item.id}&ratio=720p"]},
                      "play_addr": {"url_list": [f"{base}/aweme/v1/playwm/?video_id={item.id}&ratio=720p"]}},
            "statistics": {"digg_count": item.likes, "comment_count": 2, "share_count": 3, "collect_count": 4}}


def feed(fx_base: str, base: str, item: Item) -> dict[str, Any]:
    """Kuaishou's GraphQL feed: `photo` + `author` + `tags`."""
    return {"type": 1, "author": {"id": item.author, "name": "nick"},
            "tags": [{"type": 1, "name": t} for t in item.tags],
            "photo": {"id": item.id, "caption": item.desc, "duration": item.duration_ms,
                      "timestamp": item.create_time * 1000, "realLikeCount": item.likes,
                      "likeCount": str(item.likes), "viewCount": item.likes * 10, "commentCount": 5,
                      "coverUrl": f"{base}/cover/{item.id}.jpg", "photoUrl": f"{fx_base}/media/{item.file}",
                      "photoH265Url": f"{fx_base}/media/h265-{item.id}.mp4"}}


def item_struct(base: str, item: Item, create_as_text: bool = False) -> dict[str, Any]:
    """TikTok's `itemStruct` (lists, search, video page)."""
    return {"id": item.id, "desc": item.desc,
            "createTime": str(item.create_time) if create_as_text else item.create_time,
            "author": {"id": f"69{item.author}", "uniqueId": item.author, "secUid": sec_uid(item.author),
                       "nickname": "nick"},
            "video": {"duration": item.duration_ms // 1000, "cover": f"{base}/cover/{item.id}.jpeg",
                      "playAddr": f"{base}/media/{item.file}", "downloadAddr": f"{base}/media/{item.file}?wm=1"},
            "stats": {"playCount": item.likes * 100, "diggCount": item.likes, "commentCount": 1,
                      "shareCount": 2, "collectCount": 3},
            "challenges": [{"id": tag_id(t), "title": t} for t in item.tags]}


# ---- listing pages ---------------------------------------------------------------------------------
_SCRIPT = """
const CFG = %s; let cursor = CFG.start, more = true, busy = false;
async function load() {
  if (busy || !more) return; busy = true;
  let j;
  if (CFG.rest) {
    const r = await fetch(CFG.api, {method: 'POST', headers: {'content-type': 'application/json'},
      body: JSON.stringify({...CFG.vars, pcursor: cursor})});
    j = await r.json(); cursor = j.pcursor; more = cursor !== 'no_more';
  } else if (CFG.op) {
    const r = await fetch(CFG.api, {method: 'POST', headers: {'content-type': 'application/json'},
      body: JSON.stringify({operationName: CFG.op, variables: {...CFG.vars, pcursor: cursor},
                            query: 'query ' + CFG.op})});
    j = (await r.json()).data[CFG.op]; cursor = j.pcursor; more = cursor !== 'no_more';
  } else {
    const r = await fetch(CFG.api + '&' + CFG.cursorParam + '=' + cursor + '&count=' + CFG.count);
    j = await r.json(); cursor = j[CFG.nextKey]; more = !!j[CFG.moreKey];
  }
  const box = document.createElement('div'); box.style.height = '3000px'; box.className = 'page';
  document.getElementById('list').appendChild(box); busy = false;
}
window.addEventListener('scroll', () => {
  if (window.innerHeight + window.scrollY >= document.body.scrollHeight - 100) load();
});
load();
"""


def listing_page(config: dict[str, Any], state: dict[str, Any] | None = None) -> bytes:
    head = ""
    if state is not None:
        head = (f"<script id='SIGI_STATE' type='application/json'>{json.dumps(state, ensure_ascii=False)}"
                "</script>")
        return html_page("<div id='list'></div>", "listing", head)
    script = _SCRIPT % json.dumps(config, ensure_ascii=False)
    return html_page(f"<div id='list'></div><script>{script}</script>", "listing", head)


def _listing_config(name: str, base: str, path: str, query: dict[str, list[str]]) -> dict[str, Any] | None:
    q = lambda key: query.get(key, [""])[0]  # noqa: E731
    get = {"count": PAGE_SIZE, "start": 0}
    if name == "douyin":
        if path.startswith("/search/"):
            term = quote(path.removeprefix("/search/"))
            return {**get, "api": f"{base}/aweme/v1/web/general/search/single/?keyword={term}&search_channel=general",
                    "cursorParam": "offset", "nextKey": "cursor", "moreKey": "has_more"}
        if path.startswith("/hashtag/"):
            return {**get, "api": f"{base}/aweme/v1/web/challenge/aweme/?ch_id={path.removeprefix('/hashtag/')}",
                    "cursorParam": "cursor", "nextKey": "cursor", "moreKey": "has_more"}
        if path.startswith("/user/"):
            return {**get, "api": f"{base}/aweme/v1/web/aweme/post/?sec_user_id={path.removeprefix('/user/')}",
                    "cursorParam": "max_cursor", "nextKey": "max_cursor", "moreKey": "has_more"}
    if name == "kuaishou":
        if path == "/search/video":
            return {"api": f"{base}/rest/v/search/feed", "rest": True, "start": "",
                    "vars": {"keyword": q("searchKey"), "page": "search", "webPageArea": ""}}
        if path.startswith("/profile/"):
            return {"api": f"{base}/graphql", "op": "visionProfilePhotoList", "start": "",
                    "vars": {"userId": path.removeprefix("/profile/"), "page": "profile"}}
    if name == "tiktok":
        if path == "/search/video":
            return {**get, "api": f"{base}/api/search/item/full/?aid=1988&keyword={quote(q('q'))}",
                    "cursorParam": "offset", "nextKey": "cursor", "moreKey": "has_more"}
        if path.startswith("/tag/"):
            return {**get, "api": f"{base}/api/challenge/item_list/?aid=1988&challengeID="
                                  f"{tag_id(path.removeprefix('/tag/'))}",
                    "cursorParam": "cursor", "nextKey": "cursor", "moreKey": "hasMore"}
        if path.startswith("/@") and "/video/" not in path:
            return {**get, "api": f"{base}/api/post/item_list/?aid=1988&secUid={sec_uid(path.removeprefix('/@'))}",
                    "cursorParam": "cursor", "nextKey": "cursor", "moreKey": "hasMore"}
    return None


# ---- API -------------------------------------------------------------------------------------------
def _page(items: list[Item], start: int) -> tuple[list[Item], int, bool]:
    chunk = items[start:start + PAGE_SIZE]
    return chunk, start + len(chunk), start + len(chunk) < len(items)


def _api(h: _Handler, name: str, base: str, path: str, query: dict[str, list[str]],
         body: dict[str, Any] | None) -> dict[str, Any] | None:
    fx = h.fx
    q = lambda key: query.get(key, [""])[0]  # noqa: E731
    mine = [i for i in fx.items if i.platform == name and i.available]
    obj = lambda i: fx.mutate.get(name, lambda o: o)(  # noqa: E731
        {"douyin": lambda: aweme(base, i), "kuaishou": lambda: feed(fx.base, base, i),
         "tiktok": lambda: item_struct(base, i)}[name]())
    if name == "douyin" and path.startswith("/aweme/v1/web/"):
        if path == "/aweme/v1/web/general/search/single/":
            found, nxt, more = _page([i for i in mine if q("keyword") in i.desc or q("keyword") in i.tags],
                                     int(q("offset") or 0))
            rows = [{"type": 1, "aweme_info": obj(i)} if n % 2 == 0 else
                    {"type": 16, "aweme_mix_info": {"mix_items": [obj(i)]}} for n, i in enumerate(found)]
            return {"status_code": 0, "data": rows, "has_more": int(more), "cursor": nxt, "extra": {"logid": "x1"}}
        if path == "/aweme/v1/web/challenge/aweme/":
            found, nxt, more = _page([i for i in mine if q("ch_id") in {tag_id(t) for t in i.tags}],
                                     int(q("cursor") or 0))
            return {"status_code": 0, "aweme_list": [obj(i) for i in found], "has_more": int(more), "cursor": nxt}
        if path == "/aweme/v1/web/aweme/post/":
            found, nxt, more = _page([i for i in mine if sec_uid(i.author) == q("sec_user_id")],
                                     int(q("max_cursor") or 0))
            return {"status_code": 0, "aweme_list": [obj(i) for i in found], "has_more": int(more),
                    "max_cursor": nxt}
    if name == "kuaishou" and path == "/rest/v/search/feed" and body:
        pool = [i for i in mine if body.get("keyword") in i.desc or body.get("keyword") in i.tags]
        found, nxt, more = _page(pool, int(body.get("pcursor") or 0))
        return {"result": 1, "llsid": "1", "feeds": [obj(i) for i in found],
                "pcursor": str(nxt) if more else "no_more", "webPageArea": "searchxxnull"}
    if name == "kuaishou" and path == "/graphql" and body:
        op, variables = body.get("operationName"), body.get("variables") or {}
        if op == "visionSearchPhoto":
            pool = [i for i in mine if variables.get("keyword") in i.desc or variables.get("keyword") in i.tags]
        elif op == "visionProfilePhotoList":
            pool = [i for i in mine if i.author == variables.get("userId")]
        else:
            return {"data": {op: None}}
        found, nxt, more = _page(pool, int(variables.get("pcursor") or 0))
        return {"data": {op: {"result": 1, "llsid": "1", "feeds": [obj(i) for i in found],
                              "pcursor": str(nxt) if more else "no_more", "searchSessionId": "s1"}}}
    if name == "tiktok" and path.startswith("/api/"):
        if path == "/api/search/item/full/":
            found, nxt, more = _page([i for i in mine if q("keyword") in i.desc], int(q("offset") or 0))
            return {"status_code": 0, "item_list": [obj(i) for i in found], "has_more": int(more), "cursor": nxt}
        if path == "/api/challenge/item_list/":
            found, nxt, more = _page([i for i in mine if q("challengeID") in {tag_id(t) for t in i.tags}],
                                     int(q("cursor") or 0))
        elif path == "/api/post/item_list/":
            found, nxt, more = _page([i for i in mine if sec_uid(i.author) == q("secUid")], int(q("cursor") or 0))
        else:
            return None
        return {"statusCode": 0, "itemList": [obj(i) for i in found], "hasMore": more, "cursor": str(nxt)}
    return None


def serve(h: _Handler, name: str, path: str, query: dict[str, list[str]], body: dict[str, Any] | None) -> bool:
    """Answer a listing page or an API call of platform `name`; False when `path` is neither."""
    fx = h.fx
    base = f"{fx.base}/{name}"
    answer = _api(h, name, base, path, query, body)
    if answer is not None:
        if fx.api_delay_s:
            time.sleep(fx.api_delay_s)
        status = fx.api_status.get(name, 200)
        if status != 200:
            h.send(status, b'{"status_code": 2}', "application/json")
            return True
        h.send(200, json.dumps(answer, ensure_ascii=False).encode(), "application/json")
        return True
    config = _listing_config(name, base, path, query)
    if config is None:
        return False
    if name in fx.blocked_listing:
        h.send(200, html_page("<div class='verify'>拖动滑块完成验证</div>", "验证码中间页"))
    elif name in fx.ssr_only:
        mine = [i for i in fx.items if i.platform == name and i.available]
        shown = [i for i in mine if (path.removeprefix("/tag/") in i.tags or path.removeprefix("/@") == i.author)]
        state = {"ItemModule": {i.id: item_struct(base, i) for i in shown}, "ItemList": {"video": {"list": []}}}
        h.send(200, listing_page(config, state))
    else:
        h.send(200, listing_page(config))
    return True
