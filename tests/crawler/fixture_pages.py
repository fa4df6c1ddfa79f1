"""Pages of the fixture platform: the HTML5 test site and the three platforms' listing and video pages.

The video pages carry their data the way the real ones do: `window._ROUTER_DATA` (Douyin share page),
`window.INIT_STATE` (Kuaishou mobile share page) and `__UNIVERSAL_DATA_FOR_REHYDRATION__` (TikTok); the
listings and their APIs are in fixture_replicas.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.crawler.fixture_platform import _Handler


@dataclass(frozen=True)
class Item:
    platform: str
    id: str
    file: str  # media file name
    desc: str
    tags: tuple[str, ...]
    author: str
    create_time: int
    duration_ms: int
    likes: int
    available: bool = True


def html_page(body: str, title: str = "", head: str = "") -> bytes:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>{head}</head>"
            f"<body>{body}</body></html>").encode()


SITE_PAGES = {
    "index.html": ("Index", "", "<a href='a.html'>a</a> <a href='b.html'>b</a> <a href='c.html'>c</a> "
                   "<a href='d.html'>d</a> <a href='private/secret.html'>secret</a> "
                   "<a href='{external}/elsewhere.html'>external</a> <a href='/media/{f4}'>raw file link</a>"),
    "a.html": ("Video tag page", "", "<video src='/media/{f0}' controls></video><a href='b.html'>b</a>"),
    "b.html": ("Source tag page", "", "<video controls><source src='/media/{f1}' type='video/mp4'></video>"
               "<a href='a.html'>back to a</a><a href='index.html'>home</a>"),
    "c.html": ("", "<meta property='og:title' content='OG title'><meta property='og:description' content='OG desc'>"
               "<meta property='og:video' content='{base}/media/{f2}'>", "<p>og page</p><a href='e.html'>e</a>"),
    "d.html": ("", "<script type='application/ld+json'>{{\"@context\": \"https://schema.org\", \"@graph\": [{{"
               "\"@type\": \"VideoObject\", \"name\": \"LD name\", \"description\": \"LD desc\", "
               "\"contentUrl\": \"/media/{f3}\"}}]}}</script>", "<p>json-ld page</p>"),
    "e.html": ("Deep page", "", "<a href='f.html'>deeper</a>"),
    "sources.html": ("Several sources", "",
                     "<video controls><source src='/media/clip.webm' type='video/webm'>"
                     "<source src='/media/missing.mp4' type='video/mp4; codecs=\"avc1.42E01E, mp4a.40.2\"'>"
                     "<source src='/media/{f2}' type='video/mp4'><source src='/media/{f3}'></video>"),
    "f.html": ("Too deep", "", "<video src='/media/{f5}'></video>"),
    "private/secret.html": ("Secret", "", "<video src='/media/{f5}'></video>"),
}


def _douyin_page(h: _Handler, base: str, path: str, query: dict[str, list[str]]) -> None:
    fx = h.fx
    if path.startswith("/aweme/v1/play/"):
        item = fx.item("douyin", query.get("video_id", [""])[0])
        if item is None:
            return h.send(404, html_page("no video"))
        return h.send(302, b"", "text/plain", {"Location": f"{fx.base}/media/{item.file}"})
    if path.startswith("/aweme/v1/playwm/"):
        return h.send(403, html_page("watermarked stream not for you"))
    parts = path.strip("/").split("/")
    if len(parts) != 3 or parts[:2] != ["share", "video"]:
        return h.send(404, html_page("no page"))
    item = fx.item("douyin", parts[2])
    if item is None:
        return h.send(404, html_page("no page"))
    if item.available:
        from tests.crawler.fixture_replicas import aweme

        entry = fx.mutate.get("douyin", lambda o: o)(aweme(base, item))
        res = {"item_list": [entry], "filter_list": []}
    else:
        res = {"item_list": [], "filter_list": [{"aweme_id": item.id, "detail_msg": "video deleted by author"}]}
    state = {"loaderData": {"video_layout": {}, "video_(id)/page": {"videoInfoRes": res}}}
    script = f"<script>window._ROUTER_DATA = {json.dumps(state, ensure_ascii=False)};</script>"
    return h.send(200, html_page(f"<div id='root'></div>{script}", "抖音"))


def _kuaishou_page(h: _Handler, base: str, path: str, query: dict[str, list[str]]) -> None:
    fx = h.fx
    parts = path.strip("/").split("/")
    item = fx.item("kuaishou", parts[-1]) if parts[:2] == ["fw", "photo"] else None
    if item is None:
        return h.send(404, html_page("no page"))
    photo = {"id": item.id, "caption": item.desc, "timestamp": item.create_time * 1000, "duration": item.duration_ms,
             "mainMvUrls": [{"cdn": "local", "url": f"{fx.base}/media/{item.file}"}], "userId": item.author,
             "userName": "nick", "realLikeCount": item.likes, "viewCount": item.likes * 10, "commentCount": 5,
             "tags": [{"name": t} for t in item.tags], "coverUrls": [{"url": f"{base}/cover.jpg"}]}
    state = {"tusjoh0zj": {"result": 1, "photo": photo}, "ks_cfg": {"lang": "zh"}}
    script = f"<script>window.INIT_STATE = {json.dumps(state, ensure_ascii=False)}</script>"
    return h.send(200, html_page(f"<div id='app'></div>{script}", "快手"))


def _tiktok_page(h: _Handler, base: str, path: str, query: dict[str, list[str]]) -> None:
    fx = h.fx
    parts = path.strip("/").split("/")
    if parts[0] == "media" and len(parts) == 2:  # the CDN wants the page as Referer
        if not (h.headers.get("Referer") or "").startswith(base):
            return h.send(403, html_page("forbidden"))
        return h._media(parts[1])
    item = fx.item("tiktok", parts[-1]) if len(parts) == 3 and parts[1] == "video" else None
    if item is None:
        return h.send(404, html_page("no page"))
    from tests.crawler.fixture_replicas import item_struct

    struct_ = fx.mutate.get("tiktok", lambda o: o)(item_struct(base, item, create_as_text=True))
    data = {"__DEFAULT_SCOPE__": {"webapp.app-context": {"language": "en"},
                                  "webapp.video-detail": {"statusCode": 0, "statusMsg": "ok",
                                                          "itemInfo": {"itemStruct": struct_}}}}
    script = (f"<script id='__UNIVERSAL_DATA_FOR_REHYDRATION__' type='application/json'>"
              f"{json.dumps(data, ensure_ascii=False)}</script>")
    return h.send(200, html_page(f"<div id='app'></div>{script}", "TikTok"))


PAGE_RENDERERS = {"douyin": _douyin_page, "kuaishou": _kuaishou_page, "tiktok": _tiktok_page}
