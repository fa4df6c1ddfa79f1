"""The user's session: a Netscape cookies.txt read once, and the cookies meant for a given set of hosts."""

from __future__ import annotations

import http.cookiejar
from pathlib import Path
from typing import Any


def load_cookie_file(path: Path) -> http.cookiejar.CookieJar:
    """Cookies of a Netscape-format file (as browser extensions and yt-dlp write), session ones included."""
    jar = http.cookiejar.MozillaCookieJar(str(path))
    jar.load(ignore_discard=True, ignore_expires=True)
    for cookie in jar:
        if cookie.expires == 0:  # Netscape files write session cookies with expiry 0
            cookie.expires = None
    return jar


def domain_matches(domain: str, hosts: tuple[str, ...]) -> bool:
    """Whether a cookie's domain (`.douyin.com`, `www.tiktok.com`, `127.0.0.1`) is one of `hosts` or under one."""
    bare = domain.lower().lstrip(".")
    return any(bare == h or bare.endswith("." + h) for h in hosts)


def browser_cookies(path: Path, hosts: tuple[str, ...]) -> list[dict[str, Any]]:
    """The file's cookies for `hosts` only, as Chromium DevTools `Network.setCookie` parameters.

    Cookies of any other domain in the file never reach the browser.
    """
    found: list[dict[str, Any]] = []
    for cookie in load_cookie_file(path):
        if not domain_matches(cookie.domain, hosts):
            continue
        item: dict[str, Any] = {"name": cookie.name, "value": cookie.value or "", "domain": cookie.domain,
                                "path": cookie.path or "/", "secure": bool(cookie.secure)}
        if cookie.expires:
            item["expires"] = float(cookie.expires)
        found.append(item)
    return found
