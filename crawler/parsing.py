"""Pure parsing over HTML/JSON with lxml: video markup on any site, embedded page state, block pages, and the
small value helpers the platform adapters share (timestamps, counters, hashed author ids)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from lxml import html as lxml_html

_HASHTAG = re.compile(r"#([^\s#@]+)")
_BLOCK_MARKERS = (
    ("captcha", re.compile(r"captcha|verify you are human|验证码|安全验证|滑块", re.I)),
    ("antispam", re.compile(r"antispam need captcha", re.I)),
    ("waf_challenge", re.compile(r"_wafchallengeid|<script[^>]+id=[\"']cs[\"']", re.I)),
)


@dataclass(frozen=True, slots=True)
class SitePage:
    """What one HTML page offers: video URLs (document order, unique), links, title and description.

    `fallbacks` maps a video URL to the other `<source>`s of its `<video>`, to try in order when it fails.
    """

    title: str
    description: str
    videos: tuple[str, ...]
    links: tuple[str, ...]
    fallbacks: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Meta:
    """Metadata of one video as a platform page states it (before download)."""

    platform_id: str
    media_url: str
    title: str = ""
    description: str = ""
    hashtags: tuple[str, ...] = ()
    author_id: str | None = None
    published_at: datetime | None = None
    duration_s: float | None = None
    counters: dict[str, int] = field(default_factory=dict)
    fallback_urls: tuple[str, ...] = ()  # other addresses of the same video, tried in order

    def as_dict(self) -> dict[str, Any]:
        """JSON-able fields (kept on a discovered reference, so resuming needs no second look at the page)."""
        return {"platform_id": self.platform_id, "media_url": self.media_url, "title": self.title,
                "description": self.description, "hashtags": list(self.hashtags), "author_id": self.author_id,
                "published_at": self.published_at.isoformat() if self.published_at else None,
                "duration_s": self.duration_s, "counters": dict(self.counters),
                "fallback_urls": list(self.fallback_urls)}


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a page gave no video: `reason` code, a detail, and whether it is a sign of blocking."""

    reason: str
    detail: str = ""
    block: bool = False


def _doc(html: str, base_url: str | None = None):
    return lxml_html.document_fromstring(html or "<html></html>", base_url=base_url)


def _unique(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))


def _abs(base: str, ref: str) -> str:
    ref = ref.strip()
    if not ref or ref.startswith(("data:", "blob:", "javascript:", "mailto:")):
        return ""
    return urldefrag(urljoin(base, ref))[0]


def _jsonld_objects(doc) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            found.append(node)
            for key in ("@graph", "video", "subjectOf", "mainEntity", "hasPart"):
                if key in node:
                    walk(node[key])

    for script in doc.xpath('//script[@type="application/ld+json"]'):
        try:
            walk(json.loads(script.text_content() or "null"))
        except json.JSONDecodeError:
            continue
    return found


def _is_video_object(obj: dict[str, Any]) -> bool:
    kind = obj.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return "VideoObject" in kinds


def _meta(doc, *names: str) -> list[str]:
    values: list[str] = []
    for name in names:
        values += doc.xpath(f'//meta[@property="{name}" or @name="{name}"]/@content')
    return [v.strip() for v in values if v.strip()]


_MP4_TYPES = ("video/mp4", "application/mp4", "video/x-m4v")
_MP4_SUFFIXES = (".mp4", ".m4v")


def _is_mp4_h264(mime: str | None, url: str) -> bool:
    """A `<source type>` (or, without one, the file name) that says MP4 with H.264 video, or MP4 unqualified."""
    if not mime:
        return urlsplit(url).path.lower().endswith(_MP4_SUFFIXES)
    kind, _, params = mime.partition(";")
    if kind.strip().lower() not in _MP4_TYPES:
        return False
    codecs = re.search(r"codecs\s*=\s*[\"']?([^\"']*)", params, re.I)
    return codecs is None or any(c.strip().lower().startswith("avc1") for c in codecs.group(1).split(","))


def _video_sources(video, base: str) -> list[str]:
    """A `<video>`'s sources, best first: MP4/H.264 ones, then the others, each group in document order.

    A `src` on the element itself wins, as in browsers (its `<source>` children are then fallbacks).
    """
    own = _abs(base, video.get("src") or "")
    # descendants, not children: libxml2 does not know <source> is void and nests each in the one before
    found = [(_abs(base, s.get("src") or ""), s.get("type")) for s in video.xpath(".//source[@src]")]
    found = [(u, t) for u, t in found if u]
    ranked = sorted(range(len(found)), key=lambda i: (not _is_mp4_h264(found[i][1], found[i][0]), i))
    return list(_unique(([own] if own else []) + [found[i][0] for i in ranked]))


def parse_site_page(html: str, url: str) -> SitePage:
    """Videos from `<video src>`, `<source src>` (chosen by type), og:video and JSON-LD VideoObject.contentUrl;
    links to follow."""
    doc = _doc(html, url)
    base = (doc.xpath("//base/@href") or [url])[0]
    videos: list[str] = []
    fallbacks: dict[str, tuple[str, ...]] = {}
    for element in doc.xpath("//video"):
        sources = _video_sources(element, base)
        if sources and sources[0] not in fallbacks:
            videos.append(sources[0])
            fallbacks[sources[0]] = tuple(sources[1:])
    videos += [_abs(base, s) for s in _meta(doc, "og:video", "og:video:url", "og:video:secure_url")]
    ld = [o for o in _jsonld_objects(doc) if _is_video_object(o)]
    videos += [_abs(base, str(o["contentUrl"])) for o in ld if isinstance(o.get("contentUrl"), str)]
    title = next(iter(_meta(doc, "og:title")), "") or next((str(o["name"]) for o in ld if o.get("name")), "")
    if not title:
        title = (doc.findtext(".//title") or "").strip()
    description = next(iter(_meta(doc, "og:description")), "") or next(
        (str(o["description"]) for o in ld if o.get("description")), "") or next(iter(_meta(doc, "description")), "")
    links = [_abs(base, h) for h in doc.xpath("//a/@href")]
    unique = _unique(videos)
    return SitePage(title, description, unique, _unique([u for u in links if u.startswith("http")]),
                    {v: f for v, f in fallbacks.items() if f and v in unique})


def same_host(a: str, b: str) -> bool:
    return urlsplit(a).netloc.lower() == urlsplit(b).netloc.lower()


def block_sign(html: str) -> str | None:
    """The kind of block page this is (captcha, antispam, WAF challenge), or None for a normal page."""
    head = html[:20000]
    for kind, pattern in _BLOCK_MARKERS:
        if pattern.search(head):
            return kind
    return None


def assigned_json(html: str, name: str) -> Any | None:
    """The JSON value assigned to `name` in an inline script (`window.X = {...};`), or None."""
    for script in _doc(html).xpath("//script[not(@src)]"):
        text = script.text_content() or ""
        match = re.search(rf"{re.escape(name)}\s*=\s*", text)
        if not match:
            continue
        try:
            value, _end = json.JSONDecoder().raw_decode(text, match.end())
        except json.JSONDecodeError:
            continue
        return value
    return None


def script_json(html: str, element_id: str) -> Any | None:
    """The JSON content of `<script id=element_id>`, or None."""
    for script in _doc(html).xpath(f'//script[@id="{element_id}"]'):
        try:
            return json.loads(script.text_content() or "null")
        except json.JSONDecodeError:
            return None
    return None


def hash_id(value: object | None, enabled: bool = True) -> str | None:
    """sha256(id)[:16], so authors can be grouped but not looked up; the raw id when hashing is off."""
    if value in (None, ""):
        return None
    return hashlib.sha256(str(value).encode("utf-8")).hexdigest()[:16] if enabled else str(value)


def timestamp(value: Any, millis: bool = False) -> datetime | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number <= 0:
        return None
    return datetime.fromtimestamp(number / 1000 if millis else number, tz=UTC)


def counters_of(source: dict[str, Any], mapping: dict[str, str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for ours, theirs in mapping.items():
        value = source.get(theirs)
        if isinstance(value, int | float | str) and str(value).isdigit():
            out[ours] = int(value)
    return out


def tags_from_text(text: str) -> tuple[str, ...]:
    return _unique(_HASHTAG.findall(text))
