"""A local fixture platform on 127.0.0.1: an HTML5 test site, three short-video platform look-alikes, faults.

The platform pages reproduce the structures the real ones use: a JS-rendered infinite-scroll listing
(fetching a JSON API, so only a browser sees the links), server-rendered video pages with embedded page
state (`window._ROUTER_DATA`, `window.INIT_STATE`, `__UNIVERSAL_DATA_FOR_REHYDRATION__`) and media URLs.
Every request is logged so tests can assert exactly what was fetched.
"""

from __future__ import annotations

import hashlib
import json
import socket
import struct
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.crawler import fixture_replicas
from tests.crawler.fixture_pages import PAGE_RENDERERS, SITE_PAGES, Item, html_page

ROBOTS = "User-agent: *\nDisallow: /site/private/\nDisallow: /douyin/private/\n"


@dataclass
class Hit:
    path: str
    status: int
    range: str | None
    referer: str | None
    user_agent: str | None
    cookie: str | None
    at: float
    headers: dict[str, str]  # every request header, as sent


class FixturePlatform:
    """The server, its content, its request log and switches (`blocked`, `media_delay_s`)."""

    def __init__(self, media_dir: Path, huge_bytes: int = 3_000_000) -> None:
        self.files = {p.name: p.read_bytes() for p in sorted(Path(media_dir).glob("*.mp4"))}
        names = sorted(self.files)
        self.names = names
        self.huge_bytes = huge_bytes
        self.items = self._items(names)
        self.hits: list[Hit] = []
        self.blocked: set[str] = set()  # platforms whose video pages answer with a captcha
        self.blocked_listing: set[str] = set()  # platforms whose listings answer with a captcha
        self.mutate: dict[str, Any] = {}  # platform -> function rewriting each video object (a layout change)
        self.api_status: dict[str, int] = {}  # platform -> HTTP status its listing API answers with
        self.ssr_only: set[str] = set()  # platforms whose listings ship their items in SIGI_STATE, no API
        self.api_delay_s = 0.0
        self.media_delay_s = 0.0
        self.media_active = self.media_peak = 0  # media responses being sent now / at most at once
        self.external_base = ""
        self.robots = ROBOTS
        self._lock = threading.Lock()
        self._seen: dict[str, int] = {}
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda *_args: None  # clients hanging up early are part of the tests
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    # ---- content -------------------------------------------------------------------------------
    @staticmethod
    def _items(names: list[str]) -> list[Item]:
        items: list[Item] = []
        moods = ["开心", "放松", "紧张", "悲伤", "惊讶"]
        for p, (platform, prefix) in enumerate((("douyin", "7301000000000000"), ("kuaishou", "3xq9a"),
                                                ("tiktok", "7205000000000000"))):
            for i in range(5):
                tags = ("funny", moods[i]) if i % 2 == 0 else ("daily", moods[i])
                items.append(Item(platform, f"{prefix}{i:03d}", names[i % len(names)],
                                  f"{moods[i]}的一天 #{tags[0]} #{tags[1]}", tags, f"user{i % 2}",
                                  1_700_000_000 + i * 3600 + p, 3000 + i * 1000, 10 * (i + 1)))
        items.append(Item("douyin", "7301000000000000999", names[0], "gone", ("funny",), "user0",
                          1_700_000_000, 1000, 0, available=False))
        return items

    def item(self, platform: str, item_id: str) -> Item | None:
        return next((i for i in self.items if i.platform == platform and i.id == item_id), None)

    def media_sha(self, name: str) -> str:
        return hashlib.sha256(self.files[name]).hexdigest()

    def listing(self, platform: str, kind: str, q: str) -> list[Item]:
        mine = [i for i in self.items if i.platform == platform]
        if kind == "hashtag":
            return [i for i in mine if q in i.tags]
        if kind == "account":
            return [i for i in mine if i.author == q]
        return [i for i in mine if q in i.desc or q in i.tags]

    # ---- lifecycle and log ---------------------------------------------------------------------
    def start(self) -> FixturePlatform:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def reset(self) -> None:
        with self._lock:
            self.hits.clear()
            self._seen.clear()
        self.blocked.clear()
        self.blocked_listing.clear()
        self.mutate.clear()
        self.api_status.clear()
        self.ssr_only.clear()
        self.api_delay_s = 0.0
        self.media_delay_s = 0.0
        self.media_peak = 0
        self.robots = ROBOTS

    def paths(self, prefix: str = "") -> list[str]:
        with self._lock:
            return [h.path for h in self.hits if h.path.startswith(prefix)]

    def first_time(self, key: str) -> int:
        """How many times `key` was requested before (0 on the first request)."""
        with self._lock:
            n = self._seen.get(key, 0)
            self._seen[key] = n + 1
            return n

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        platform = self

        class Handler(_Handler):
            fx = platform

        return Handler


class _Handler(BaseHTTPRequestHandler):
    fx: FixturePlatform
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args: object) -> None:  # quiet
        return None

    def _log(self, status: int) -> None:
        with self.fx._lock:
            self.fx.hits.append(Hit(self.path, status, self.headers.get("Range"), self.headers.get("Referer"),
                                    self.headers.get("User-Agent"), self.headers.get("Cookie"), time.monotonic(),
                                    dict(self.headers.items())))

    def send(self, status: int, body: bytes = b"", ctype: str = "text/html; charset=utf-8",
             headers: dict[str, str] | None = None) -> None:
        self._log(status)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"null")
        except json.JSONDecodeError:
            body = None
        self.do_GET(body if isinstance(body, dict) else None)

    def do_GET(self, body: dict[str, Any] | None = None) -> None:
        parts = urlsplit(self.path)
        path, query = unquote(parts.path), parse_qs(parts.query)
        try:
            if path == "/robots.txt":
                return self.send(200, self.fx.robots.encode(), "text/plain")
            if path.startswith("/site/"):
                return self._site(path.removeprefix("/site/"))
            if path.startswith("/media/"):
                return self._media(path.removeprefix("/media/"))
            if path.startswith("/faults/"):
                return self._fault(path.removeprefix("/faults/"))
            for name in ("douyin", "kuaishou", "tiktok"):
                if path.startswith(f"/{name}/"):
                    return self._platform(name, path.removeprefix(f"/{name}"), query, body)
            return self.send(404, html_page("not found"))
        except (BrokenPipeError, ConnectionResetError):
            return None

    # ---- the HTML5 site --------------------------------------------------------------------------
    def _site(self, page: str) -> None:
        if page not in SITE_PAGES:
            return self.send(404, html_page("no such page"))
        title, head, body = SITE_PAGES[page]
        names = self.fx.names
        fill = {f"f{i}": names[i % len(names)] for i in range(6)}
        fill.update(base=self.fx.base, external=self.fx.external_base or self.fx.base)
        return self.send(200, html_page(body.format(**fill), title, head.format(**fill)))

    # ---- media with Range ------------------------------------------------------------------------
    def _media(self, name: str, data: bytes | None = None, ctype: str = "video/mp4",
               headers: dict[str, str] | None = None) -> None:
        data = self.fx.files.get(name) if data is None else data
        if data is None:
            return self.send(404, html_page("no such file"))
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng[6:].split("-")[0].isdigit():
            start = int(rng[6:].split("-")[0])
            if start >= len(data):
                return self.send(416, b"", ctype, {"Content-Range": f"bytes */{len(data)}"})
        body = data[start:]
        status = 206 if start else 200
        self._log(status)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        delay = self.fx.media_delay_s
        with self.fx._lock:
            self.fx.media_active += 1
            self.fx.media_peak = max(self.fx.media_peak, self.fx.media_active)
        try:
            if delay:
                for n in range(4):
                    if n:
                        time.sleep(delay / 4)
                    self.wfile.write(body[n * len(body) // 4:(n + 1) * len(body) // 4])
                    self.wfile.flush()
            else:
                self.wfile.write(body)
        finally:
            with self.fx._lock:
                self.fx.media_active -= 1

    # ---- fault injection -------------------------------------------------------------------------
    def _fault(self, name: str) -> None:
        fx = self.fx
        data = fx.files[fx.names[0]]
        if name == "retry-after.mp4":
            if fx.first_time(name) == 0:
                return self.send(429, b"slow down", "text/plain", {"Retry-After": "1"})
            return self._media("", data)
        if name == "retry-later.mp4":
            return self.send(429, b"come back tomorrow", "text/plain", {"Retry-After": "86400"})
        if name == "flaky.mp4":
            if fx.first_time(name) == 0:
                return self.send(500, b"oops", "text/plain")
            return self._media("", fx.files[fx.names[1]])
        if name == "reset.mp4":
            if fx.first_time(name) == 0:
                return self._cut(fx.files[fx.names[2]], reset=True)
            return self._media("", fx.files[fx.names[2]])
        if name == "truncated.mp4":
            return self._cut(fx.files[fx.names[3]], reset=False)
        if name == "html.mp4":
            return self.send(200, html_page("<p>not a video</p>"))
        if name == "disguised.mp4":
            return self.send(200, html_page("<p>an error page served as video</p>"), "video/mp4")
        if name in ("loop", "loop2"):
            self.send(302, b"", "text/plain", {"Location": "/faults/loop2" if name == "loop" else "/faults/loop"})
            return None
        if name == "login-wall":
            return self.send(302, b"", "text/plain", {"Location": "/login?redirect_url=/faults/login-wall"})
        if name == "huge.mp4":
            return self.send(200, b"\0" * fx.huge_bytes, "video/mp4")
        if name == "huge-stream.mp4":
            return self._stream(fx.huge_bytes)
        if name == "empty.mp4":
            return self.send(200, b"", "video/mp4")
        if name == "forbidden.mp4":
            return self.send(403, html_page("forbidden"))
        if name == "tracker.html":  # a page that sets a cookie and links to a video
            return self.send(200, html_page(f"<video src='/media/{fx.names[0]}'></video>"
                                            "<a href='/faults/tracker2.html'>next</a>", "tracker"),
                             headers={"Set-Cookie": "tracker=abc123; Path=/"})
        if name == "tracker2.html":
            return self.send(200, html_page(f"<video src='/media/{fx.names[1]}'></video>", "tracker 2"))
        if name == "noai.mp4":
            return self._media("", fx.files[fx.names[4]], headers={"X-Robots-Tag": "noai"})
        return self.send(404, html_page("no such fault"))

    def _cut(self, data: bytes, reset: bool) -> None:
        """Promise the whole file, send half, then reset the connection (RST) or close it cleanly."""
        self._log(200)
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Accept-Ranges", "bytes" if reset else "none")
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        if reset:
            time.sleep(0.3)  # let the client read what was sent: an RST drops unread data on the client side
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _stream(self, size: int) -> None:
        """A body with no Content-Length (ends when the connection closes): only a streaming cap stops it."""
        self._log(200)
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        chunk = b"\0" * 65536
        sent = 0
        while sent < size:
            self.wfile.write(chunk)
            sent += len(chunk)

    # ---- platform look-alikes --------------------------------------------------------------------
    def _platform(self, name: str, path: str, query: dict[str, list[str]], body: dict[str, Any] | None) -> None:
        if fixture_replicas.serve(self, name, path, query, body):
            return None
        if name in self.fx.blocked:
            return self.send(200, html_page("<div id='captcha'>请完成安全验证 captcha</div>", "验证码中间页"))
        return PAGE_RENDERERS[name](self, f"{self.fx.base}/{name}", path, query)
