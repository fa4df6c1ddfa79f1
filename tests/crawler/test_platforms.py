import json
import shutil
from datetime import UTC, datetime

import pytest

from core.errors import CrawlBlocked
from core.manifest import read_rows
from crawler.parsing import hash_id
from crawler.runner import run_crawl

pytestmark = pytest.mark.skipif(shutil.which("chromedriver") is None, reason="chromedriver not installed")


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the whole module."""
    from crawler.browser import Browser

    with Browser("emotions-crawler/0.1 (+test)") as session:
        yield session


def _rows(out):
    return sorted(read_rows(out / "manifests"), key=lambda r: r["platform_id"])


def test_douyin_search_scrolls_listing_and_reads_share_pages(platform, recipe, browser):
    r = recipe(source="douyin", query="funny", base_url=f"{platform.base}/douyin", scroll_pause_s=1.0)
    report = run_crawl(r, browser=browser)
    rows = _rows(r.out)
    assert [(x["platform_id"], x["status"], x["reason"]) for x in rows] == [
        ("7301000000000000000", "downloaded", None),
        ("7301000000000000002", "downloaded", None),
        ("7301000000000000004", "downloaded", None),
        ("7301000000000000999", "failed", "unavailable"),
    ]
    first = rows[0]
    assert first["title"] == first["description"] == "开心的一天 #funny #开心"
    assert first["hashtags"] == ["funny", "开心"]
    assert first["author_id"] == hash_id("user0")
    assert datetime.fromisoformat(first["published_at"]) == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert (first["duration_s"], first["counters"]) == (3.0, {"likes": 10, "comments": 2, "shares": 3,
                                                              "collects": 4})
    assert first["media_url"] == f"{platform.base}/douyin/aweme/v1/play/?video_id=7301000000000000000&ratio=720p"
    assert first["sha256"] == platform.media_sha(platform.names[0]) and first["source_query"] == "funny"
    assert rows[3]["detail"] == "video deleted by author"
    dump = json.dumps(rows, ensure_ascii=False)
    assert "user0" not in dump and "nick" not in dump  # no raw author id or nickname is stored
    assert (report.downloaded, report.failed) == (3, 1)
    # the listing needed JavaScript: its items came from the JSON API the page script called while scrolling
    assert platform.paths("/douyin/api/list") == ["/douyin/api/list?kind=search&q=funny&offset=0",
                                                  "/douyin/api/list?kind=search&q=funny&offset=2"]
    assert platform.paths("/douyin/aweme/v1/playwm") == []  # the watermark-free stream is used


def test_kuaishou_hashtag(platform, recipe, browser):
    r = recipe(source="kuaishou", query="#daily", base_url=f"{platform.base}/kuaishou", scroll_pause_s=1.0)
    run_crawl(r, browser=browser)
    rows = _rows(r.out)
    assert [(x["platform_id"], x["status"], x["hashtags"]) for x in rows] == [
        ("3xq9a001", "downloaded", ["daily", "放松"]), ("3xq9a003", "downloaded", ["daily", "悲伤"])]
    assert rows[1]["counters"] == {"likes": 40, "plays": 400, "comments": 5}
    assert rows[1]["sha256"] == platform.media_sha(platform.names[3])
    assert rows[1]["page_url"] == f"{platform.base}/kuaishou/fw/photo/3xq9a003"


def test_tiktok_account_with_referer_bound_media(platform, recipe, browser):
    r = recipe(source="tiktok", query="@user1", base_url=f"{platform.base}/tiktok", scroll_pause_s=1.0, limit=1)
    report = run_crawl(r, browser=browser)
    rows = _rows(r.out)
    assert [(x["platform_id"], x["status"]) for x in rows] == [("7205000000000000001", "downloaded")]
    assert rows[0]["counters"] == {"plays": 2000, "likes": 20, "comments": 1, "shares": 2, "collects": 3}
    assert rows[0]["author_id"] == hash_id("69user1")
    assert (report.downloaded, report.stopped) == (1, "limit")
    media = [h for h in platform.hits if h.path.startswith("/tiktok/media/")]
    assert [h.referer for h in media] == [f"{platform.base}/tiktok/@_/video/7205000000000000001"]


def test_blocked_platform_stops_after_three_signs(platform, recipe, browser):
    platform.blocked.add("douyin")
    r = recipe(source="douyin", query="funny", base_url=f"{platform.base}/douyin", scroll_pause_s=1.0, workers=1)
    with pytest.raises(CrawlBlocked) as info:
        run_crawl(r, browser=browser)
    assert "3 signs in a row, last 'captcha'" in info.value.message
    assert len(platform.paths("/douyin/share/")) == 3  # then it stopped instead of hammering
    assert platform.paths("/media/") == []
    last = (r.out / ".state" / "last-run-raw.json").read_text()
    assert '"stopped": "blocked: ' in last


def test_urls_list_of_platform_pages_needs_no_browser(platform, recipe, tmp_path):
    listing = tmp_path / "ids.csv"
    listing.write_text("url,label\n"
                       f"{platform.base}/douyin/share/video/7301000000000000001/,calm\n"
                       f"{platform.base}/tiktok/@user0/video/7205000000000000002,tense\n")
    r = recipe(source="urls", file=listing, base_url=platform.base)
    run_crawl(r)
    rows = _rows(r.out)
    assert [(x["platform"], x["platform_id"], x["status"], x["key"]) for x in rows] == [
        ("tiktok", "7205000000000000002", "downloaded", "tiktok:7205000000000000002"),
        ("douyin", "7301000000000000001", "downloaded", "douyin:7301000000000000001"),
    ]


def test_captcha_listing_stops_before_any_video_page(platform, recipe, browser):
    platform.blocked_listing.add("kuaishou")
    r = recipe(source="kuaishou", query="funny", base_url=f"{platform.base}/kuaishou", scroll_pause_s=0.3)
    with pytest.raises(CrawlBlocked) as info:
        run_crawl(r, browser=browser)
    assert info.value.message == (f"kuaishou listing {platform.base}/kuaishou/search/video?searchKey=funny is a "
                                  "captcha page; stopped before fetching anything")
    assert [p for p in platform.paths("/kuaishou/") if "search" not in p] == []


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
