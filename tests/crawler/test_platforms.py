import json
import shutil
from datetime import UTC, datetime

import pytest

from core.errors import ConfigError, CrawlBlocked
from core.manifest import read_rows
from crawler.parsing import hash_id
from crawler.runner import run_crawl
from tests.crawler.fixture_replicas import sec_uid, tag_id

pytestmark = pytest.mark.skipif(shutil.which("chromedriver") is None, reason="chromedriver not installed")


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the whole module."""
    from crawler.browser import Browser

    with Browser("emotions-crawler/0.1 (+test)") as session:
        yield session


@pytest.fixture
def fresh(browser):
    browser.clear_cookies()
    return browser


def _rows(out):
    return sorted(read_rows(out / "manifests"), key=lambda r: r["platform_id"] or r["key"])


def test_douyin_search_reads_the_pages_own_api_calls(platform, recipe, fresh):
    r = recipe(source="douyin", query="funny", base_url=f"{platform.base}/douyin", scroll_pause_s=0.5)
    report = run_crawl(r, browser=fresh)
    rows = _rows(r.out)
    assert [(x["platform_id"], x["status"], x["reason"]) for x in rows] == [
        ("7301000000000000000", "downloaded", None),
        ("7301000000000000002", "downloaded", None),  # came as aweme_mix_info.mix_items[0]
        ("7301000000000000004", "downloaded", None),
    ]
    first = rows[0]
    assert first["title"] == first["description"] == "开心的一天 #funny #开心"
    assert first["hashtags"] == ["funny", "开心"]
    assert first["author_id"] == hash_id("user0")
    assert datetime.fromisoformat(first["published_at"]) == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert (first["duration_s"], first["counters"]) == (3.0, {"likes": 10, "comments": 2, "shares": 3,
                                                              "collects": 4})
    # play_addr_h264's first address is gone (404): its mirror is used; the watermarked one is never asked for
    assert first["media_url"] == f"{platform.base}/douyin/aweme/v1/play/?video_id=7301000000000000000&ratio=720p"
    assert first["sha256"] == platform.media_sha(platform.names[0]) and first["source_query"] == "funny"
    assert first["page_url"] == f"{platform.base}/douyin/share/video/7301000000000000000/"
    dump = json.dumps(rows, ensure_ascii=False)
    assert "user0" not in dump and "nick" not in dump  # no raw author id or nickname is stored
    assert (report.downloaded, report.failed) == (3, 0)
    # the listing needed JavaScript: its items came from the signed-by-the-page API while scrolling
    assert platform.paths("/douyin/aweme/v1/web/") == [
        "/douyin/aweme/v1/web/general/search/single/?keyword=funny&search_channel=general&offset=0&count=2",
        "/douyin/aweme/v1/web/general/search/single/?keyword=funny&search_channel=general&offset=2&count=2"]
    assert platform.paths("/douyin/share/") == []  # the listing JSON said everything: no page per video
    assert platform.paths("/douyin/aweme/v1/playwm") == []
    referers = {h.referer for h in platform.hits if h.path.startswith("/douyin/cdn-gone/")}
    assert referers == {f"{platform.base}/douyin/share/video/{i}/" for i in
                        ("7301000000000000000", "7301000000000000002", "7301000000000000004")}


def test_douyin_hashtag_by_challenge_id_and_user_by_sec_uid(platform, recipe, fresh, tmp_path):
    r = recipe(source="douyin", query=f"#{tag_id('daily')}", base_url=f"{platform.base}/douyin",
               scroll_pause_s=0.5)
    run_crawl(r, browser=fresh)
    assert [x["platform_id"] for x in _rows(r.out)] == ["7301000000000000001", "7301000000000000003"]
    assert platform.paths("/douyin/hashtag/") == [f"/douyin/hashtag/{tag_id('daily')}"]
    r = recipe(source="douyin", query=f"@{sec_uid('user0')}", base_url=f"{platform.base}/douyin",
               scroll_pause_s=0.5, out=tmp_path / "user")
    run_crawl(r, browser=fresh)
    assert [x["platform_id"] for x in _rows(r.out)] == ["7301000000000000000", "7301000000000000002",
                                                         "7301000000000000004"]
    assert [p.split("&count")[0] for p in platform.paths("/douyin/aweme/v1/web/aweme/post/")] == [
        f"/douyin/aweme/v1/web/aweme/post/?sec_user_id={sec_uid('user0')}&max_cursor={c}" for c in (0, 2)]
    with pytest.raises(ConfigError, match="keyed by sec_uid"):
        recipe(source="douyin", query="@some display name")


def test_kuaishou_search_through_rest_and_profile_through_graphql(platform, recipe, fresh, tmp_path):
    r = recipe(source="kuaishou", query="daily", base_url=f"{platform.base}/kuaishou", scroll_pause_s=0.5)
    run_crawl(r, browser=fresh)
    rows = _rows(r.out)
    assert [(x["platform_id"], x["status"], x["hashtags"]) for x in rows] == [
        ("3xq9a001", "downloaded", ["daily", "放松"]), ("3xq9a003", "downloaded", ["daily", "悲伤"])]
    assert rows[1]["counters"] == {"likes": 40, "plays": 400, "comments": 5}
    assert rows[1]["sha256"] == platform.media_sha(platform.names[3])
    assert rows[1]["page_url"] == f"{platform.base}/kuaishou/fw/photo/3xq9a003"
    assert platform.paths("/kuaishou/rest/") == ["/kuaishou/rest/v/search/feed"]  # both fitted on page one
    r = recipe(source="kuaishou", query="@user0", base_url=f"{platform.base}/kuaishou", scroll_pause_s=0.5,
               out=tmp_path / "user")
    run_crawl(r, browser=fresh)
    assert [x["platform_id"] for x in _rows(r.out)] == ["3xq9a000", "3xq9a002", "3xq9a004"]
    assert platform.paths("/kuaishou/graphql") == ["/kuaishou/graphql", "/kuaishou/graphql"]


def test_tiktok_account_stops_at_the_limit_with_referer_bound_media(platform, recipe, fresh):
    r = recipe(source="tiktok", query="@user1", base_url=f"{platform.base}/tiktok", scroll_pause_s=0.5, limit=1)
    report = run_crawl(r, browser=fresh)
    rows = _rows(r.out)
    assert [(x["platform_id"], x["status"]) for x in rows] == [("7205000000000000001", "downloaded")]
    assert rows[0]["counters"] == {"plays": 2000, "likes": 20, "comments": 1, "shares": 2, "collects": 3}
    assert rows[0]["author_id"] == hash_id("69user1")
    assert (report.downloaded, report.stopped) == (1, "limit")
    media = [h for h in platform.hits if h.path.startswith("/tiktok/media/")]
    assert [h.referer for h in media] == [f"{platform.base}/tiktok/@_/video/7205000000000000001"]
    assert platform.paths("/tiktok/api/post/item_list/") == [
        f"/tiktok/api/post/item_list/?aid=1988&secUid={sec_uid('user1')}&cursor=0&count=2"]


def test_tiktok_tag_falls_back_to_the_embedded_page_state(platform, recipe, fresh):
    platform.ssr_only.add("tiktok")
    r = recipe(source="tiktok", query="#funny", base_url=f"{platform.base}/tiktok", scroll_pause_s=0.3)
    run_crawl(r, browser=fresh)
    assert [(x["platform_id"], x["status"]) for x in _rows(r.out)] == [
        ("7205000000000000000", "downloaded"), ("7205000000000000002", "downloaded"),
        ("7205000000000000004", "downloaded")]
    assert platform.paths("/tiktok/api/") == []


def test_listing_api_429_is_a_block(platform, recipe, fresh):
    platform.api_status["tiktok"] = 429
    r = recipe(source="tiktok", query="sad", base_url=f"{platform.base}/tiktok", scroll_pause_s=0.3)
    with pytest.raises(CrawlBlocked) as info:
        run_crawl(r, browser=fresh)
    assert info.value.message == (f"tiktok listing {platform.base}/tiktok/search/video?q=sad: its API answered "
                                  "HTTP 429; stopped")
    assert platform.paths("/media/") == []


def test_robots_disallowing_the_listing_api_stops_the_scrolling(platform, recipe, fresh):
    """The page's own API call is checked against robots.txt: its answer is not used and the page is not scrolled
    into calling it again."""
    platform.robots = "User-agent: *\nDisallow: /douyin/aweme/v1/web/general/search/\n"
    lines: list[str] = []
    r = recipe(source="douyin", query="funny", base_url=f"{platform.base}/douyin", scroll_pause_s=0.5)
    report = run_crawl(r, browser=fresh, log=lines.append)
    assert (report.downloaded, report.failed) == (0, 0)
    assert len(platform.paths("/douyin/aweme/v1/web/general/search/")) == 1  # only the call made on page load
    assert ("douyin listing: robots.txt disallows the API call /douyin/aweme/v1/web/general/search/single/; its "
            "answer is not used and the listing is not scrolled further") in lines
    assert platform.paths("/douyin/cdn") == [] and platform.paths("/media/") == []


def test_captcha_listing_stops_before_any_video_page(platform, recipe, fresh):
    platform.blocked_listing.add("kuaishou")
    r = recipe(source="kuaishou", query="funny", base_url=f"{platform.base}/kuaishou", scroll_pause_s=0.3)
    with pytest.raises(CrawlBlocked) as info:
        run_crawl(r, browser=fresh)
    assert info.value.message == (f"kuaishou listing {platform.base}/kuaishou/search/video?searchKey=funny is a "
                                  "captcha page; stopped before fetching anything")
    assert [p for p in platform.paths("/kuaishou/") if "search" not in p] == []


def test_cookies_reach_the_platforms_hosts_only_and_are_never_written(platform, recipe, fresh, tmp_path):
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n"
                       "127.0.0.1\tFALSE\t/\tFALSE\t0\tsessionid\ts3cr3t-value\n"
                       ".example.org\tTRUE\t/\tFALSE\t0\tother\tnot-for-douyin\n")
    logged: list[str] = []
    r = recipe(source="douyin", query="daily", base_url=f"{platform.base}/douyin", scroll_pause_s=0.3,
               cookie_file=cookies)
    run_crawl(r, browser=fresh, log=logged.append)
    api = [h for h in platform.hits if "/aweme/v1/web/" in h.path]
    assert api and {h.cookie for h in api} == {"sessionid=s3cr3t-value"}  # the page's own calls carry it
    assert {c["name"] for c in fresh.driver.get_cookies()} == {"sessionid"}  # example.org's never reached it
    written = "".join(p.read_text(errors="replace") for p in r.out.rglob("*") if p.is_file()
                      and p.suffix in (".jsonl", ".json", ".yaml"))
    assert "s3cr3t" not in written and "s3cr3t" not in "".join(logged)


def test_browser_profile_is_used_and_kept(platform, recipe, tmp_path):
    profile = tmp_path / "profile"
    r = recipe(source="tiktok", query="@user0", base_url=f"{platform.base}/tiktok", scroll_pause_s=0.3, limit=1,
               browser_profile=profile)
    assert run_crawl(r).downloaded == 1
    assert (profile / "Default").is_dir()  # Chromium ran on it, and it was not removed afterwards


def test_blocked_video_pages_stop_after_three_signs(platform, recipe, tmp_path):
    platform.blocked.add("douyin")
    listing = tmp_path / "ids.csv"
    listing.write_text("platform,platform_id\n" + "".join(f"douyin,730100000000000000{i}\n" for i in range(5)))
    r = recipe(source="urls", file=listing, base_url=f"{platform.base}/douyin", workers=1)
    with pytest.raises(CrawlBlocked) as info:
        run_crawl(r)
    assert "3 signs in a row, last 'captcha'" in info.value.message
    assert len(platform.paths("/douyin/share/")) == 3  # then it stopped instead of hammering
    assert platform.paths("/media/") == []
    last = (r.out / ".state" / "last-run-raw.json").read_text()
    assert '"stopped": "blocked: ' in last


def test_urls_list_of_platform_pages_needs_no_browser(platform, recipe, tmp_path):
    listing = tmp_path / "ids.csv"
    listing.write_text("url,label\n"
                       f"{platform.base}/douyin/share/video/7301000000000000001/,calm\n"
                       f"{platform.base}/tiktok/@user0/video/7205000000000000002,tense\n"
                       f"{platform.base}/douyin/share/video/7301000000000000999/,gone\n")
    run_crawl(recipe(source="urls", file=listing, base_url=platform.base))
    rows = _rows(tmp_path / "out")
    assert [(x["platform"], x["platform_id"], x["status"], x["key"], x["extra"]) for x in rows] == [
        ("tiktok", "7205000000000000002", "downloaded", "tiktok:7205000000000000002", {"label": "tense"}),
        ("douyin", "7301000000000000001", "downloaded", "douyin:7301000000000000001", {"label": "calm"}),
        ("douyin", "7301000000000000999", "failed", "douyin:7301000000000000999", {"label": "gone"}),
    ]
    assert rows[2]["reason"] == "unavailable" and rows[2]["detail"] == "video deleted by author"


def test_one_video_under_two_urls_is_stored_once(platform, recipe, tmp_path):
    listing = tmp_path / "urls.txt"
    listing.write_text(f"{platform.base}/douyin/share/video/7301000000000000003/\n"
                       f"{platform.base}/douyin/video/7301000000000000003\n")
    report = run_crawl(recipe(source="urls", file=listing, base_url=platform.base))
    rows = list(read_rows(tmp_path / "out" / "manifests"))
    assert [(r["key"], r["status"]) for r in rows] == [("douyin:7301000000000000003", "downloaded")]
    assert (report.downloaded, platform.paths("/douyin/video/")) == (1, [])


def test_an_id_list_is_enough_to_crawl_again(platform, recipe, tmp_path):
    ids = tmp_path / "ids.csv"
    ids.write_text("platform,platform_id,label\ndouyin,7301000000000000004,surprise\n")
    run_crawl(recipe(source="urls", file=ids, base_url=f"{platform.base}/douyin"))
    [row] = list(read_rows(tmp_path / "out" / "manifests"))
    assert (row["key"], row["status"], row["page_url"]) == (
        "douyin:7301000000000000004", "downloaded", f"{platform.base}/douyin/share/video/7301000000000000004/")
    assert row["sha256"] == platform.media_sha(platform.names[4])


def test_takedown_list_is_never_fetched(platform, recipe, tmp_path):
    listing = tmp_path / "urls.txt"
    listing.write_text(f"{platform.base}/douyin/share/video/7301000000000000001/\n"
                       f"{platform.base}/douyin/share/video/7301000000000000002/\n"
                       f"{platform.base}/media/{platform.names[5]}\n")
    deny = tmp_path / "deny.csv"
    deny.write_text("platform,platform_id\ndouyin,7301000000000000002\n")
    deny_urls = tmp_path / "deny.txt"
    deny_urls.write_text(f"{platform.base}/media/{platform.names[5]}\n")
    report = run_crawl(recipe(source="urls", file=listing, base_url=platform.base, deny_file=deny))
    assert (report.downloaded, report.denied) == (2, 1)
    assert platform.paths("/douyin/share/video/7301000000000000002/") == []
    again = run_crawl(recipe(source="urls", file=listing, base_url=platform.base, deny_file=deny_urls,
                             out=tmp_path / "out2"))
    assert (again.downloaded, again.denied) == (2, 1)
    assert platform.paths(f"/media/{platform.names[5]}") == [f"/media/{platform.names[5]}"]  # first run only
