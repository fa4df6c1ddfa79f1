import shutil

import pytest

from core.cli import main

FAST = ("--min-interval", "0")
pytestmark = pytest.mark.skipif(shutil.which("chromedriver") is None, reason="chromedriver not installed")


def _rename(old: str, new: str):
    def mutate(obj: dict) -> dict:
        obj = dict(obj)
        obj[new] = obj.pop(old)
        return obj

    return mutate


def test_check_finds_every_field_of_an_unchanged_replica(platform, capsys):
    argv = ["crawl", "check", "--source", "douyin", "--query", "funny", "--base-url", f"{platform.base}/douyin", *FAST]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"douyin: listing {platform.base}/douyin/search/funny?type=video"
    assert out[1] == f"douyin: video page {platform.base}/douyin/share/video/7301000000000000000/"
    assert out[-1] == "ok: the adapter's fields are all there"
    assert {line[31:44].strip() for line in out[2:-1]} == {"found"}, out
    assert out[2:5] == ["  listing     API response     found         HTTP 200 "
                        f"{platform.base}/douyin/aweme/v1/web/general/search/single/",
                        "  listing     items            found         2 on page one",
                        "  listing     has_more         found"]
    assert len([line for line in out if line.startswith("  listing")]) == 13
    assert len([line for line in out if line.startswith("  video page")]) == 10


def test_check_reports_a_renamed_field_and_a_changed_type_with_exit_6(platform, capsys):
    def change(obj: dict) -> dict:
        obj = _rename("desc", "caption_text")(obj)
        obj["statistics"] = {**obj["statistics"], "digg_count": "10"}
        return obj

    platform.mutate["douyin"] = change
    argv = ["crawl", "check", "--source", "douyin", "--query", "funny", "--base-url", f"{platform.base}/douyin", *FAST]
    assert main(argv) == 6
    captured = capsys.readouterr()
    out = captured.out.splitlines()
    assert [line for line in out if "missing" in line or "changed type" in line] == [
        "  listing     caption          missing       desc",
        "  listing     likes            changed type  statistics.digg_count: str, expected int",
        "  video page  caption          missing       desc",
        "  video page  likes            changed type  statistics.digg_count: str, expected int",
    ]
    assert captured.err == ("error: douyin changed: 4 field(s) missing or of another type (the adapter "
                                       "needs updating, see crawler/sources/douyin.md; or pass --cookies if the "
                                       "listing wants a session)\n")


@pytest.fixture(scope="module")
def browser():
    from crawler.browser import Browser

    with Browser("emotions-crawler/0.1 (+test)") as session:
        yield session


def test_check_kuaishou_and_tiktok_replicas(platform, recipe, browser):
    from crawler.check import check_platform
    from crawler.http import Client
    from crawler.recipe import Politeness
    from tests.crawler.conftest import FAST as FAST_POLITENESS

    client = Client(Politeness(**FAST_POLITENESS), "emotions-crawler/0.1")
    for source, pages in (("kuaishou", 8), ("tiktok", 10)):
        r = recipe(source=source, query="daily", base_url=f"{platform.base}/{source}")
        report = check_platform(r, browser, client)
        assert report.ok and len([f for f in report.fields if f.where == "video page"]) == pages
    platform.mutate["tiktok"] = _rename("video", "media")
    report = check_platform(recipe(source="tiktok", query="daily", base_url=f"{platform.base}/tiktok"),
                            browser, client)
    assert [(f.where, f.name, f.verdict, f.detail) for f in report.fields if f.verdict != "found"] == [
        ("listing", "duration", "missing", "video.duration"), ("listing", "cover", "missing", "video.cover"),
        ("listing", "play address", "missing", "video.playAddr"),
        ("video page", "duration", "missing", "video.duration"), ("video page", "cover", "missing", "video.cover"),
        ("video page", "play address", "missing", "video.playAddr")]
    client.close()
