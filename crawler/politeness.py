"""Politeness rules: robots.txt per host, X-Robots-Tag, per-host pacing and concurrency, backoff, blocking."""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from core.errors import CrawlBlocked, MissingDependency


def host_of(url: str) -> str:
    """`scheme://host[:port]` of a URL: the unit of rate limits, robots.txt and blocking."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def ua_token(user_agent: str) -> str:
    """The product token robots.txt groups are matched against (`emotions-crawler/0.1 (...)` -> `emotions-crawler`)."""
    return user_agent.split("/", 1)[0].split()[0] if user_agent.strip() else "*"


def backoff_delay(attempt: int, base: float, cap: float, jitter: float, rng: random.Random | None = None) -> float:
    """Delay before retry `attempt` (0-based): min(cap, base * 2**attempt) + U(0, jitter) seconds."""
    draw = (rng or random).uniform(0, jitter) if jitter > 0 else 0.0
    return min(cap, base * (2 ** attempt)) + draw


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def x_robots_excluded(header: str | None, blocked: tuple[str, ...], token: str) -> str | None:
    """The directive of an `X-Robots-Tag` header that excludes the response, or None.

    Directives may be scoped to a user agent (`otherbot: noindex`); those for other agents are ignored.
    """
    if not header:
        return None
    for part in header.split(","):
        item = part.strip().lower()
        if ":" in item:
            agent, _, item = item.partition(":")
            if agent.strip() not in (token.lower(), "*"):
                continue
            item = item.strip()
        if item in blocked:
            return item
    return None


class _Rules:
    """The robots.txt rules of one host: parsed by protego (RFC 9309: `*` and `$`, longest match wins), or a
    blanket verdict when there is no file (4xx: allow all) or it cannot be read (5xx, unreachable: disallow all)."""

    def __init__(self, text: str | None = None, verdict: bool | None = None) -> None:
        self.verdict = verdict
        self.parser = None
        if verdict is None:
            try:
                from protego import Protego
            except ImportError:
                raise MissingDependency("protego (the robots.txt parser) is not installed",
                                        remedy="pip install 'emotions[crawl]'") from None
            self.parser = Protego.parse(text or "")

    def allowed(self, url: str, token: str) -> bool:
        if self.parser is None:
            return bool(self.verdict)
        return bool(self.parser.can_fetch(url, token))

    def crawl_delay(self, token: str) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(token)
        return float(delay) if delay is not None else None


class RobotsCache:
    """robots.txt per host, fetched once through `fetch(url) -> (status, text)`.

    RFC 9309: 4xx means no rules (allow all); 5xx or an unreachable host means disallow all.
    """

    def __init__(self, fetch: Callable[[str], tuple[int, str]], user_agent: str) -> None:
        self._fetch = fetch
        self._token = ua_token(user_agent)
        self._rules: dict[str, _Rules] = {}
        self._unavailable: set[str] = set()
        self._lock = threading.Lock()

    def _parser(self, url: str) -> _Rules:
        host = host_of(url)
        with self._lock:
            rules = self._rules.get(host)
            if rules is not None:
                return rules
            try:
                status, text = self._fetch(host + "/robots.txt")
            except OSError:
                status, text = 599, ""
            if status >= 500:
                rules = _Rules(verdict=False)
                self._unavailable.add(host)
            elif status >= 400:
                rules = _Rules(verdict=True)
            else:
                rules = _Rules(text)
            self._rules[host] = rules
            return rules

    def allowed(self, url: str) -> bool:
        return self._parser(url).allowed(url, self._token)

    def unavailable(self, url: str) -> bool:
        """Whether the host's robots.txt could not be read (so everything was disallowed for now)."""
        self._parser(url)
        return host_of(url) in self._unavailable

    def crawl_delay(self, url: str) -> float | None:
        return self._parser(url).crawl_delay(self._token)


@dataclass
class _HostState:
    slots: threading.Semaphore
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_start: float = 0.0
    block_signs: int = 0
    last_sign: str = ""


class HostGate:
    """Per-host pacing (least interval between request starts) and a cap on requests in flight."""

    def __init__(self, min_interval_s: float, concurrency: int, sleep: Callable[[float], None] = time.sleep) -> None:
        self.min_interval_s = min_interval_s
        self.concurrency = concurrency
        self._sleep = sleep
        self._hosts: dict[str, _HostState] = {}
        self._extra: dict[str, float] = {}
        self._lock = threading.Lock()

    def _state(self, host: str) -> _HostState:
        with self._lock:
            state = self._hosts.get(host)
            if state is None:
                state = self._hosts[host] = _HostState(threading.Semaphore(self.concurrency))
            return state

    def set_interval(self, host: str, seconds: float) -> None:
        """Raise one host's interval (robots.txt Crawl-delay)."""
        with self._lock:
            self._extra[host] = max(seconds, self._extra.get(host, 0.0))

    def defer(self, host: str, seconds: float) -> None:
        """Make the next request to `host` wait at least `seconds` from now (Retry-After, block backoff)."""
        state = self._state(host)
        with state.lock:
            state.next_start = max(state.next_start, time.monotonic() + seconds)

    @contextmanager
    def slot(self, url: str) -> Iterator[None]:
        """Hold one of the host's concurrency slots, starting no earlier than its pacing allows."""
        host = host_of(url)
        state = self._state(host)
        interval = max(self.min_interval_s, self._extra.get(host, 0.0))
        with state.slots:
            while True:  # the interval counts from the real start, however late the thread wakes up
                with state.lock:
                    now = time.monotonic()
                    wait = state.next_start - now
                    if wait <= 0:
                        state.next_start = now + interval
                        break
                self._sleep(wait)
            yield

    def block_sign(self, url: str, sign: str, threshold: int, pause_s: float) -> None:
        """Count a sign of blocking; pause the host (doubling), and raise CrawlBlocked at `threshold` in a row."""
        host = host_of(url)
        state = self._state(host)
        with state.lock:
            state.block_signs += 1
            state.last_sign = sign
            count = state.block_signs
        if count >= threshold:
            raise CrawlBlocked(
                f"{host} looks like it is blocking us: {count} signs in a row, last '{sign}' at {url}; stopped",
                remedy="wait several hours, lower the rate (politeness.min_interval_s) and check the pages by hand",
            )
        self.defer(host, pause_s * (2 ** (count - 1)))

    def clear_signs(self, url: str) -> None:
        """A normal answer from the host resets its count of consecutive blocking signs."""
        state = self._state(host_of(url))
        with state.lock:
            state.block_signs = 0
