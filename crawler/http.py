"""The polite HTTP client: one requests session with robots.txt, pacing, retries, redirects and block signs."""

from __future__ import annotations

import http.cookiejar
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urljoin, urlsplit

import requests

from crawler.cookies import load_cookie_file
from crawler.politeness import (
    HostGate,
    RobotsCache,
    backoff_delay,
    host_of,
    parse_retry_after,
    ua_token,
    x_robots_excluded,
)
from crawler.recipe import Politeness

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_REDIRECTS = 10
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a fetch gave nothing usable: a short reason code, a detail and the last HTTP status seen.

    `block` marks a sign that the host is blocking us (captcha, 403, empty page).
    """

    reason: str
    detail: str = ""
    http_status: int | None = None
    block: bool = False


@dataclass(frozen=True, slots=True)
class Retry:
    """A transient problem inside one attempt: the client backs off and tries again."""

    reason: str
    detail: str = ""
    http_status: int | None = None
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class Page:
    url: str
    status: int
    text: str
    headers: dict[str, str]


class _KeepNothing(http.cookiejar.DefaultCookiePolicy):
    """Sends the cookies already in the jar (the user's file, by their domains) but stores none a server sets."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: object) -> bool:
        return False


class Client:
    """Every request of a crawl goes through here.

    Cookies: only those of the user's cookie file are sent, each to its own domain; a server's Set-Cookie
    is dropped unless `keep_session_cookies` (then the session keeps them, as a browser would).
    """

    def __init__(self, politeness: Politeness, user_agent: str, cookie_file: Path | None = None,
                 rng: random.Random | None = None, keep_session_cookies: bool = False) -> None:
        self.policy = politeness
        self.user_agent = user_agent
        self.token = ua_token(user_agent)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = user_agent
        self.session.trust_env = False  # never pick up proxies or .netrc credentials from the environment
        if not keep_session_cookies:
            self.session.cookies.set_policy(_KeepNothing())
        if cookie_file is not None:
            for cookie in load_cookie_file(cookie_file):
                self.session.cookies.set_cookie(cookie)
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=32, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.gate = HostGate(politeness.min_interval_s, politeness.per_host_concurrency)
        self.robots = RobotsCache(self._fetch_robots, user_agent)
        self._rng = rng or random.Random()
        self._delays_set: set[str] = set()

    def close(self) -> None:
        self.session.close()

    def _fetch_robots(self, url: str) -> tuple[int, str]:
        try:
            with self.gate.slot(url):
                resp = self.session.get(url, timeout=self.policy.timeout_s)
        except requests.RequestException as exc:
            raise OSError(str(exc)) from None
        return resp.status_code, resp.text if resp.ok else ""

    def allowed(self, url: str) -> bool:
        """Whether robots.txt lets us fetch `url` (always True when robots are not obeyed)."""
        if not self.policy.obey_robots:
            return True
        allowed = self.robots.allowed(url)
        host = host_of(url)
        if host not in self._delays_set:
            self._delays_set.add(host)
            delay = self.robots.crawl_delay(url)
            if delay:
                self.gate.set_interval(host, delay)
        return allowed

    def call(self, url: str, consume: Callable[[requests.Response], T | Retry | Failure],
             headers: Callable[[], dict[str, str]] | None = None) -> T | Failure:
        """GET `url` (following redirects hop by hop) and hand the final response to `consume`.

        Retries 429/5xx/connection errors and `Retry` results with exponential backoff and jitter,
        waiting at least Retry-After. Returns `consume`'s value or a Failure; raises CrawlBlocked only
        when a host keeps showing blocking signs.
        """
        policy = self.policy
        last: Retry | None = None
        for attempt in range(policy.max_retries + 1):
            if last is not None:
                delay = backoff_delay(attempt - 1, policy.backoff_base_s, policy.backoff_cap_s, policy.jitter_s,
                                      self._rng)
                if last.retry_after is not None:
                    if last.retry_after > policy.max_retry_after_s:
                        return Failure("retry_after_too_long", f"Retry-After {last.retry_after:.0f}s",
                                       last.http_status)
                    delay = max(delay, last.retry_after)
                self.gate.defer(host_of(url), delay)
            outcome = self._attempt(url, consume, headers)
            if isinstance(outcome, Failure):
                if outcome.block:
                    self.gate.block_sign(url, outcome.reason, policy.block_threshold, policy.block_backoff_s)
                return outcome
            if not isinstance(outcome, Retry):
                self.gate.clear_signs(url)
                return outcome
            last = outcome
        assert last is not None
        return Failure(last.reason, f"gave up after {policy.max_retries + 1} attempts: {last.detail}".strip(": "),
                       last.http_status)

    def _attempt(self, url: str, consume: Callable[[requests.Response], T | Retry | Failure],
                 headers: Callable[[], dict[str, str]] | None) -> T | Retry | Failure:
        seen: set[str] = set()
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            if current in seen:
                return Failure("redirect_loop", f"{current} redirects back to itself")
            seen.add(current)
            if not self.allowed(current):
                if self.robots.unavailable(current):
                    return Failure("robots_unavailable", f"robots.txt of {host_of(current)} unreadable")
                return Failure("robots_disallowed", current)
            with self.gate.slot(current):
                try:
                    resp = self.session.get(current, headers=headers() if headers else None, stream=True,
                                            timeout=self.policy.timeout_s, allow_redirects=False)
                except requests.RequestException as exc:
                    return Retry("connection_error", type(exc).__name__)
                with resp:
                    if resp.is_redirect and resp.headers.get("Location"):
                        current = urljoin(current, resp.headers["Location"])
                        if "/login" in urlsplit(current).path:  # platforms send bots to their login wall
                            return Failure("login_required", current, resp.status_code, block=True)
                        continue
                    return self._judge(resp, consume)
        return Failure("redirect_loop", f"more than {MAX_REDIRECTS} redirects from {url}")

    def _judge(self, resp: requests.Response, consume: Callable[[requests.Response], T | Retry | Failure]
               ) -> T | Retry | Failure:
        status = resp.status_code
        if status in RETRY_STATUSES:
            wait_s = parse_retry_after(resp.headers.get("Retry-After"))
            return Retry(f"http_{status}", resp.reason or "", status, wait_s)
        if status == 403:
            return Failure("http_403", "forbidden", status, block=True)
        if status == 416:  # Range not satisfiable: the detail carries "bytes */<total>" for the caller
            return Failure("http_416", resp.headers.get("Content-Range", ""), status)
        if status >= 400:
            return Failure(f"http_{status}", resp.reason or "", status)
        directive = x_robots_excluded(resp.headers.get("X-Robots-Tag"), self.policy.x_robots_block, self.token)
        if directive:
            return Failure("x_robots_tag", directive, status)
        try:
            return consume(resp)
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError, requests.Timeout) as exc:
            return Retry("connection_error", type(exc).__name__, status)

    def get_page(self, url: str, headers: dict[str, str] | None = None,
                 block_check: Callable[[str], str | None] | None = None) -> Page | Failure:
        """A text page. A page `block_check` names (captcha...) is a blocking sign; an empty body fails this page."""

        def consume(resp: requests.Response) -> Page | Failure:
            body = resp.content
            if not body.strip():  # a failure of this page only: blocking signs are 403/429, captchas, login walls
                return Failure("empty_body", resp.url, resp.status_code)
            declared = "charset" in resp.headers.get("Content-Type", "").lower()
            text = body.decode((resp.encoding if declared else None) or "utf-8", errors="replace")
            sign = block_check(text) if block_check else None
            if sign:
                return Failure(sign, f"block page at {resp.url}", resp.status_code, block=True)
            return Page(resp.url, resp.status_code, text, dict(resp.headers))

        return self.call(url, consume, (lambda: dict(headers)) if headers else None)
