"""Politeness as a server sees it: cookies, robots.txt wildcards, empty bodies, <source> choice, list rows."""

import time

from core.cli import main
from core.manifest import read_rows
from crawler.runner import run_crawl


def _rows(out):
    return sorted(read_rows(out / "manifests"), key=lambda r: (r["status"], r.get("media_url") or "", r["key"]))


def _cookies(platform):
    return [(h.path, h.headers.get("Cookie")) for h in platform.hits if h.path != "/robots.txt"]


def test_a_cookie_the_server_sets_is_never_sent_back(platform, recipe):
    r = recipe(source="site", seeds=(f"{platform.base}/faults/tracker.html",), max_depth=1, workers=1)
    report = run_crawl(r)
    names = platform.names
    assert report.downloaded == 2
    assert sorted(_cookies(platform)) == sorted([("/faults/tracker.html", None), ("/faults/tracker2.html", None),
                                                 (f"/media/{names[0]}", None), (f"/media/{names[1]}", None)])


def test_only_the_cookie_files_cookies_for_their_own_host(platform, recipe, tmp_path):
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n"
                       "127.0.0.1\tFALSE\t/\tFALSE\t0\tmine\tv1\n"
                       ".douyin.com\tTRUE\t/\tTRUE\t0\tsessionid\tsecret\n")
    r = recipe(source="site", seeds=(f"{platform.base}/faults/tracker.html",), max_depth=1, workers=1,
               cookie_file=cookies)
    run_crawl(r)
    assert {c for _p, c in _cookies(platform)} == {"mine=v1"}
    assert "secret" not in (r.out / "recipe.yaml").read_text() + "".join(str(x) for x in _rows(r.out))


def test_keep_session_cookies_sends_them_back(platform, recipe):
    r = recipe(source="site", seeds=(f"{platform.base}/faults/tracker.html",), max_depth=1, workers=1,
               keep_session_cookies=True)
    run_crawl(r)
    got = dict(_cookies(platform))
    assert got["/faults/tracker.html"] is None
    assert got["/faults/tracker2.html"] == "tracker=abc123"
    assert got[f"/media/{platform.names[1]}"] == "tracker=abc123"


def test_robots_wildcards_and_end_anchor(platform, recipe, tmp_path):
    platform.robots = "User-agent: *\nDisallow: /*.mp4$\nDisallow: /f*lts/empty\nAllow: /media/*keep.mp4$\n"
    names = platform.names
    listing = tmp_path / "urls.txt"
    listing.write_text(f"{platform.base}/media/{names[0]}\n{platform.base}/media/{names[1]}?v=1\n"
                       f"{platform.base}/faults/empty.mp4?n=1\n")
    report = run_crawl(recipe(source="urls", file=listing, workers=1))
    rows = {r["media_url"].removeprefix(platform.base): (r["status"], r["reason"]) for r in _rows(tmp_path / "out")}
    assert rows == {f"/media/{names[0]}": ("skipped", "robots_disallowed"),
                    f"/media/{names[1]}?v=1": ("downloaded", None),
                    "/faults/empty.mp4?n=1": ("skipped", "robots_disallowed")}
    assert platform.paths() == ["/robots.txt", f"/media/{names[1]}?v=1"]
    assert (report.downloaded, report.skipped) == (1, 2)


def test_empty_and_truncated_bodies_fail_the_item_only(platform, tmp_path, capsys):
    names = platform.names
    listing = tmp_path / "urls.txt"
    listing.write_text("".join(f"{platform.base}/faults/empty.mp4?n={i}\n" for i in range(3))
                       + f"{platform.base}/faults/truncated.mp4\n{platform.base}/media/{names[2]}\n")
    out = tmp_path / "out"
    spec = tmp_path / "r.yaml"  # default back-off: a blocking sign would pause 30 s, then 60 s
    spec.write_text(f"source: urls\nfile: {listing}\nout: {out}\nworkers: 1\n"
                    "politeness: {min_interval_s: 0, backoff_base_s: 0.05, jitter_s: 0}\n")
    started = time.monotonic()
    assert main(["crawl", "run", "--recipe", str(spec), "--quiet"]) == 0
    assert time.monotonic() - started < 10
    assert capsys.readouterr().out.startswith("1 downloaded, 4 failed, 0 skipped")
    rows = {r["media_url"].rsplit("/", 1)[1]: (r["status"], r["reason"]) for r in read_rows(out / "manifests")}
    assert rows == {"empty.mp4?n=0": ("failed", "empty_body"), "empty.mp4?n=1": ("failed", "empty_body"),
                    "empty.mp4?n=2": ("failed", "empty_body"), "truncated.mp4": ("failed", "incomplete_body"),
                    names[2]: ("downloaded", None)}
    assert len(platform.paths("/faults/empty.mp4")) == 3  # an empty body is not retried either
    assert list((out / ".state" / "tmp").iterdir()) == []  # no .part left behind


def test_several_sources_mp4_h264_first_then_the_others_in_order(platform, recipe):
    r = recipe(source="site", seeds=(f"{platform.base}/site/sources.html",), max_depth=0, workers=1)
    report = run_crawl(r)
    [row] = _rows(r.out)
    names = platform.names
    assert (row["status"], row["media_url"]) == ("downloaded", f"{platform.base}/media/{names[2]}")
    assert row["sha256"] == platform.media_sha(names[2])
    # the preferred H.264 source is missing (404): the next MP4 is taken; WebM and the rest are never asked for
    assert [(h.path, h.status) for h in platform.hits if h.path.startswith("/media/")] == [
        ("/media/missing.mp4", 404), (f"/media/{names[2]}", 200)]
    assert report.downloaded == 1


def test_url_list_carries_other_columns_and_records_every_skipped_row(platform, recipe, tmp_path):
    names = platform.names
    listing = tmp_path / "labels.csv"
    listing.write_text("url,label,note\n"
                       f"{platform.base}/media/{names[0]},calm,first\n"
                       ",sad,no url\n"
                       "ftp://files.test/y.mp4,joy,\n"
                       f"{platform.base}/media/{names[0]},calm,again\n"
                       f"{platform.base}/media/{names[1]},fear,\n")
    logged: list[str] = []
    report = run_crawl(recipe(source="urls", file=listing, workers=1), log=logged.append)
    rows = list(read_rows(tmp_path / "out" / "manifests"))
    done = {r["media_url"].rsplit("/", 1)[1]: r["extra"] for r in rows if r["status"] == "downloaded"}
    assert done == {names[0]: {"label": "calm", "note": "first"}, names[1]: {"label": "fear"}}
    skipped = sorted((r["key"], r["reason"], r["detail"]) for r in rows if r["status"] == "skipped")
    assert skipped == [("line:urls:3", "missing_url", "no URL, and no platform with a platform_id"),
                       ("line:urls:4", "unsupported_scheme", "ftp://files.test/y.mp4"),
                       ("line:urls:5", "duplicate_row", "same video as line 2")]
    assert logged == ["labels.csv line 3 skipped: missing_url (no URL, and no platform with a platform_id)",
                      "labels.csv line 4 skipped: unsupported_scheme (ftp://files.test/y.mp4)",
                      "labels.csv line 5 skipped: duplicate_row (same video as line 2)"]
    assert (report.downloaded, report.skipped, report.reasons) == (
        2, 3, {"missing_url": 1, "unsupported_scheme": 1, "duplicate_row": 1})
    again = run_crawl(recipe(source="urls", file=listing, workers=1))
    assert (again.already_done, again.downloaded, again.skipped) == (5, 0, 0)  # skipped rows count as done
