import json
from datetime import UTC, datetime

import requests

from crawler.parsing import Meta, Problem, assigned_json, block_sign, hash_id, parse_site_page
from crawler.sources.douyin import parse_page as parse_douyin
from crawler.sources.kuaishou import parse_page as parse_kuaishou
from crawler.sources.tiktok import parse_page as parse_tiktok
from crawler.sources.urls import Entry, SkippedRow, read_entries, read_list, read_url_file

PAGE = """<html><head><title>Plain title</title><base href="http://h.test/dir/">
<meta property="og:video" content="/og.mp4"><meta property="og:video:url" content="/og.mp4">
<script type="application/ld+json">{"@type": ["VideoObject"], "name": "LD", "contentUrl": "ld.mp4"}</script>
<script type="application/ld+json">not json</script></head>
<body><video src="a.mp4"></video><video><source src="b.webm"><source src="data:video/mp4;base64,AA"></video>
<a href="/x.html#frag">x</a><a href="mailto:a@b">m</a><a href="http://other.test/">o</a></body></html>"""


def test_site_page_finds_every_markup_style_once_in_document_order():
    page = parse_site_page(PAGE, "http://h.test/dir/page.html")
    assert page.videos == ("http://h.test/dir/a.mp4", "http://h.test/dir/b.webm", "http://h.test/og.mp4",
                           "http://h.test/dir/ld.mp4")
    assert page.links == ("http://h.test/x.html", "http://other.test/")
    assert page.title == "LD"
    assert page.description == ""


def test_site_page_prefers_og_title_and_description():
    html = ("<html><head><title>T</title><meta property='og:title' content='OG'>"
            "<meta name='description' content='plain'></head><body></body></html>")
    page = parse_site_page(html, "http://h.test/")
    assert (page.title, page.description, page.videos) == ("OG", "plain", ())


def test_assigned_json_reads_the_value_after_the_name_only():
    html = "<script>var a = 1; window.X = {\"k\": [1, 2]}; window.Y = 3;</script>"
    assert assigned_json(html, "window.X") == {"k": [1, 2]}
    assert assigned_json(html, "window.Z") is None


def test_block_pages_are_recognised():
    assert block_sign("<title>验证码中间页</title>") == "captcha"
    assert block_sign('<script id="cs">challenge</script>') == "waf_challenge"
    assert block_sign("<p>[2001] antispam need captcha</p>") == "captcha"
    assert block_sign("<p>a normal page about capturing</p>") is None


def test_author_ids_are_hashed_by_default():
    assert hash_id("user0") == "3f92107747fcccc5"
    assert hash_id("user0", enabled=False) == "user0"
    assert hash_id(None) is None and hash_id("") is None


def _get(url: str) -> str:
    resp = requests.get(url, timeout=5)
    resp.encoding = "utf-8"
    return resp.text


def test_douyin_share_page_state(platform):
    meta = parse_douyin(_get(f"{platform.base}/douyin/share/video/7301000000000000002/"))
    assert isinstance(meta, Meta)
    assert meta.platform_id == "7301000000000000002"
    assert meta.media_url == f"{platform.base}/douyin/cdn-gone/7301000000000000002.mp4"  # play_addr_h264 first
    assert meta.fallback_urls == (f"{platform.base}/douyin/aweme/v1/play/?video_id=7301000000000000002&ratio=720p",)
    assert (meta.title, meta.hashtags) == ("紧张的一天 #funny #紧张", ("funny", "紧张"))
    assert meta.author_id == hash_id("user0")
    assert meta.published_at == datetime(2023, 11, 15, 0, 13, 20, tzinfo=UTC)
    assert meta.duration_s == 5.0
    assert meta.counters == {"likes": 30, "comments": 2, "shares": 3, "collects": 4}
    gone = parse_douyin(_get(f"{platform.base}/douyin/share/video/7301000000000000999/"))
    assert gone == Problem("unavailable", "video deleted by author")


def test_kuaishou_share_page_state(platform):
    meta = parse_kuaishou(_get(f"{platform.base}/kuaishou/fw/photo/3xq9a001"), hash_authors=False)
    assert isinstance(meta, Meta)
    assert (meta.platform_id, meta.author_id, meta.duration_s) == ("3xq9a001", "user1", 4.0)
    assert meta.media_url == f"{platform.base}/media/{platform.names[1]}"
    assert meta.published_at == datetime(2023, 11, 14, 23, 13, 21, tzinfo=UTC)  # milliseconds in the page
    assert meta.counters == {"likes": 20, "plays": 200, "comments": 5}
    limited = "<script>window.INIT_STATE = {\"a\": {\"result\": 2, \"photo\": {}}}</script>"
    assert parse_kuaishou(limited) == Problem("platform_result_2", "rate limited", block=True)


def test_tiktok_page_state(platform):
    meta = parse_tiktok(_get(f"{platform.base}/tiktok/@user0/video/7205000000000000004"))
    assert isinstance(meta, Meta)
    assert meta.platform_id == "7205000000000000004"
    assert meta.media_url == f"{platform.base}/tiktok/media/{platform.names[4]}"
    assert meta.hashtags == ("funny", "惊讶")
    assert meta.counters == {"plays": 5000, "likes": 50, "comments": 1, "shares": 2, "collects": 3}
    assert meta.duration_s == 7.0
    missing = {"__DEFAULT_SCOPE__": {"webapp.video-detail": {"statusCode": 10204, "statusMsg": "item doesn't exist"}}}
    html = f"<script id='__UNIVERSAL_DATA_FOR_REHYDRATION__' type='application/json'>{json.dumps(missing)}</script>"
    assert parse_tiktok(html) == Problem("unavailable", "statusCode 10204 item doesn't exist")
    assert parse_tiktok("<html><body>nothing</body></html>").reason == "no_page_state"


def test_url_lists_text_and_csv(tmp_path):
    text = tmp_path / "list.txt"
    text.write_text("# comment\nhttp://a.test/1.mp4\n\nhttp://a.test/1.mp4\nftp://no\nhttps://b.test/p\n")
    assert read_url_file(text) == ["http://a.test/1.mp4", "https://b.test/p"]
    table = tmp_path / "list.csv"
    table.write_text("id,url,label\n1,http://a.test/x,joy\n2,\"http://a.test/y?a=1,2\",fear\n")
    assert read_url_file(table) == ["http://a.test/x", "http://a.test/y?a=1,2"]


def test_id_lists_and_earlier_manifests(tmp_path):
    ids = tmp_path / "ids.csv"
    ids.write_text("platform,platform_id,label\ndouyin,7301,joy\nkuaishou,3xq9,fear\ndouyin,7301,joy\n,99,x\n")
    assert read_entries(ids) == [Entry(None, "douyin", "7301", (("label", "joy"),)),
                                 Entry(None, "kuaishou", "3xq9", (("label", "fear"),))]
    assert read_list(ids)[1] == [SkippedRow(4, "duplicate_row", "same video as line 2"),
                                 SkippedRow(5, "missing_url", "no URL, and no platform with a platform_id")]
    manifest = tmp_path / "raw-00000.jsonl"
    manifest.write_text(
        '{"platform": "tiktok", "platform_id": "72", "page_url": "https://t.test/@a/video/72", "media_url": "x"}\n'
        '{"platform": "h.test", "platform_id": null, "page_url": "https://h.test/p", "media_url": "https://h.test/v.mp4",'
        ' "extra": {"label": "joy"}}\n')
    assert read_entries(manifest) == [Entry("https://t.test/@a/video/72", "tiktok", "72"),
                                      Entry("https://h.test/v.mp4", "h.test", None, (("label", "joy"),))]


def test_video_sources_mp4_h264_first_then_document_order():
    html = ("<video><source src='a.webm' type='video/webm'><source src='b.mp4' type='video/mp4; codecs=\"hev1\"'>"
            "<source src='c.mp4' type='video/mp4; codecs=\"avc1.42E01E, mp4a.40.2\"'><source src='d.m4v'>"
            "<source src='e.ogv' type='video/ogg'></video><video src='f.mp4'><source src='g.webm'></video>")
    page = parse_site_page(html, "http://h.test/p/")
    assert page.videos == ("http://h.test/p/c.mp4", "http://h.test/p/f.mp4")
    assert page.fallbacks == {
        "http://h.test/p/c.mp4": ("http://h.test/p/d.m4v", "http://h.test/p/a.webm", "http://h.test/p/b.mp4",
                                  "http://h.test/p/e.ogv"),
        "http://h.test/p/f.mp4": ("http://h.test/p/g.webm",),
    }
