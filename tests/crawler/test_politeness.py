import itertools
import random
import threading
import time

import pytest

from core.errors import CrawlBlocked
from crawler.politeness import (
    HostGate,
    RobotsCache,
    backoff_delay,
    parse_retry_after,
    ua_token,
    x_robots_excluded,
)


def test_backoff_doubles_up_to_the_cap_plus_bounded_jitter():
    assert [backoff_delay(a, 1.0, 10.0, 0.0) for a in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    rng = random.Random(7)
    draws = [backoff_delay(2, 0.5, 60.0, 1.0, rng) for _ in range(200)]
    assert all(2.0 <= d <= 3.0 for d in draws)
    assert max(draws) - min(draws) > 0.5  # the jitter really spreads retries


def test_retry_after_seconds_and_http_date():
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_x_robots_tag_directives_and_agent_scoping():
    blocked = ("noai", "noindex")
    assert x_robots_excluded("noarchive, NoAI", blocked, "emotions-crawler") == "noai"
    assert x_robots_excluded("otherbot: noindex", blocked, "emotions-crawler") is None
    assert x_robots_excluded("emotions-crawler: noindex", blocked, "emotions-crawler") == "noindex"
    assert x_robots_excluded(None, blocked, "emotions-crawler") is None


def test_user_agent_product_token():
    assert ua_token("emotions-crawler/0.1 (+https://x; research)") == "emotions-crawler"


def test_robots_rules_and_status_conventions():
    texts = {
        "http://a.test/robots.txt": (200, "User-agent: emotions-crawler\nDisallow: /no/\nCrawl-delay: 3\n"),
        "http://b.test/robots.txt": (404, ""),
        "http://c.test/robots.txt": (503, ""),
    }
    fetched: list[str] = []

    def fetch(url):
        fetched.append(url)
        return texts[url]

    robots = RobotsCache(fetch, "emotions-crawler/0.1")
    assert robots.allowed("http://a.test/yes.html") and not robots.allowed("http://a.test/no/x.mp4")
    assert robots.crawl_delay("http://a.test/") == 3.0
    assert robots.allowed("http://b.test/anything")  # no robots.txt: no rules
    assert not robots.allowed("http://c.test/anything")  # server error: assume everything is off limits
    assert robots.unavailable("http://c.test/x") and not robots.unavailable("http://b.test/x")
    assert fetched == list(texts)  # one fetch per host


def test_gate_spaces_request_starts_per_host_and_caps_concurrency():
    gate = HostGate(min_interval_s=0.1, concurrency=2)
    starts: list[float] = []
    active = peak = 0
    lock = threading.Lock()

    def request():
        nonlocal active, peak
        with gate.slot("http://h.test/x"):
            with lock:
                starts.append(time.monotonic())
                active += 1
                peak = max(peak, active)
            time.sleep(0.25)
            with lock:
                active -= 1

    threads = [threading.Thread(target=request) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    starts.sort()
    assert peak == 2
    assert all(b - a >= 0.07 for a, b in itertools.pairwise(starts))  # each gap, give or take thread jitter
    assert starts[-1] - starts[0] >= 0.38  # four full intervals overall


def test_blocking_signs_back_off_then_stop_and_a_normal_answer_resets_them():
    gate = HostGate(min_interval_s=0.0, concurrency=1)
    gate.block_sign("http://h.test/a", "captcha", threshold=3, pause_s=0.0)
    gate.clear_signs("http://h.test/b")
    gate.block_sign("http://h.test/a", "captcha", threshold=3, pause_s=0.0)
    gate.block_sign("http://h.test/a", "http_403", threshold=3, pause_s=0.0)
    with pytest.raises(CrawlBlocked) as info:
        gate.block_sign("http://h.test/c", "empty_body", threshold=3, pause_s=0.0)
    assert info.value.message == ("http://h.test looks like it is blocking us: 3 signs in a row, "
                                  "last 'empty_body' at http://h.test/c; stopped")
    assert info.value.exit_code == 5


def test_robots_rfc9309_wildcards_end_anchor_and_longest_match():
    rules = ("User-agent: *\nDisallow: /*.mp4$\nDisallow: /v*/raw/\nAllow: /v*/raw/public/\n\n"
             "User-agent: emotions-crawler\nDisallow: /only-us/\n")
    robots = RobotsCache(lambda _url: (200, rules), "otherbot/1.0")
    assert not robots.allowed("http://a.test/clips/x.mp4")
    assert robots.allowed("http://a.test/clips/x.mp4?sig=1")  # `$` anchors at the end of path+query
    assert not robots.allowed("http://a.test/videos/raw/1")
    assert robots.allowed("http://a.test/videos/raw/public/1")  # the longer (more specific) rule wins
    assert robots.allowed("http://a.test/only-us/")
    ours = RobotsCache(lambda _url: (200, rules), "emotions-crawler/0.1")
    assert not ours.allowed("http://a.test/only-us/") and ours.allowed("http://a.test/clips/x.mp4")
