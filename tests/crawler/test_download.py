import itertools
import json
from pathlib import Path

import pytest

from core.manifest import read_rows
from crawler.runner import run_crawl
from tests.crawler.conftest import FAST

FAULTS = ["retry-after.mp4", "flaky.mp4", "reset.mp4", "truncated.mp4", "html.mp4", "disguised.mp4", "loop",
          "huge.mp4", "huge-stream.mp4", "empty.mp4", "noai.mp4", "login-wall",
          "retry-later.mp4"]


def _list(tmp_path: Path, urls: list[str]) -> Path:
    path = tmp_path / "urls.txt"
    path.write_text("\n".join(urls) + "\n")
    return path


def _by_name(out: Path) -> dict[str, dict]:
    return {(r["media_url"] or r["page_url"]).rsplit("/", 1)[1]: r for r in read_rows(out / "manifests")}


@pytest.fixture(scope="module")
def fault_run(_servers, tmp_path_factory):
    """One crawl over every fault, shared by the tests below: (platform, out folder, report, request log)."""
    from crawler.recipe import build_recipe

    platform = _servers[0]
    platform.reset()
    tmp_path = tmp_path_factory.mktemp("faults")
    r = build_recipe(None, source="urls", file=_list(tmp_path, [f"{platform.base}/faults/{n}" for n in FAULTS]),
                     max_bytes=1_000_000, workers=1, limit=50, out=tmp_path / "out", **FAST)
    report = run_crawl(r)
    return platform, r.out, report, list(platform.hits)


def test_each_fault_is_retried_or_recorded_with_its_reason(fault_run):
    platform, out, report, _hits = fault_run
    rows = _by_name(out)
    outcome = {name: (row["status"], row["reason"]) for name, row in rows.items()}
    assert outcome == {
        "retry-after.mp4": ("downloaded", None),
        "flaky.mp4": ("downloaded", None),
        "reset.mp4": ("downloaded", None),
        "truncated.mp4": ("failed", "incomplete_body"),
        "html.mp4": ("failed", "bad_content_type"),
        "disguised.mp4": ("failed", "bad_content_type"),
        "loop": ("failed", "redirect_loop"),
        "huge.mp4": ("failed", "too_large"),
        "huge-stream.mp4": ("failed", "too_large"),
        "empty.mp4": ("failed", "empty_body"),
        "noai.mp4": ("skipped", "x_robots_tag"),
        "login-wall": ("failed", "login_required"),
        "retry-later.mp4": ("failed", "retry_after_too_long"),
    }
    assert (report.downloaded, report.failed, report.skipped, report.stopped) == (3, 9, 1, "finished")
    for name, source in (("retry-after.mp4", 0), ("flaky.mp4", 1), ("reset.mp4", 2)):
        assert rows[name]["sha256"] == platform.media_sha(platform.names[source])
        assert rows[name]["bytes"] == len(platform.files[platform.names[source]])
        assert (out / rows[name]["local_path"]).read_bytes() == platform.files[platform.names[source]]


def test_nothing_partial_remains(fault_run):
    _platform, out, _report, _hits = fault_run
    assert list((out / ".state" / "tmp").iterdir()) == []
    assert len([p for p in (out / "media").rglob("*") if p.is_file()]) == 3
    stats = json.loads((out / "manifests" / "raw-00000_stats.json").read_text())
    assert {k: stats[k] for k in ("rows", "count", "successes", "failed", "skipped")} == {
        "rows": 13, "count": 13, "successes": 3, "failed": 9, "skipped": 1}
    assert stats["status_dict"] == {"incomplete_body": 1, "bad_content_type": 2, "redirect_loop": 1,
                                    "too_large": 2, "empty_body": 1, "x_robots_tag": 1, "login_required": 1,
                                    "retry_after_too_long": 1}


def test_retry_after_is_honoured_and_backoff_is_used(fault_run):
    _platform, _out, _report, log = fault_run
    hits = [h for h in log if h.path == "/faults/retry-after.mp4"]
    assert [h.status for h in hits] == [429, 200]
    assert hits[1].at - hits[0].at >= 1.0  # Retry-After: 1, longer than the 0.05 s backoff
    assert [h.status for h in log if h.path == "/faults/flaky.mp4"] == [500, 200]
    assert len([h for h in log if h.path == "/faults/truncated.mp4"]) == 5  # 1 + max_retries
    assert len([h for h in log if h.path == "/faults/retry-later.mp4"]) == 1  # a day's wait: give up at once


def test_a_reset_download_resumes_with_range(fault_run):
    platform, out, _report, log = fault_run
    hits = [h for h in log if h.path == "/faults/reset.mp4"]
    assert [h.status for h in hits] == [200, 206]
    resumed_from = _by_name(out)["reset.mp4"]["resumed_from"]
    assert hits[0].range is None and hits[1].range == f"bytes={resumed_from}-"
    assert resumed_from == len(platform.files[platform.names[2]]) // 2  # every byte sent before the reset kept


def test_identifying_user_agent_and_no_cookies_unless_given(fault_run):
    _platform, _out, _report, log = fault_run
    assert {h.user_agent for h in log} == {
        "emotions-crawler/0.1 (academic research crawler; add a contact via EMOTIONS_CRAWL_USER_AGENT)"}
    assert {h.cookie for h in log} == {None}


def test_cookie_file_and_user_agent_setting(platform, recipe, tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTIONS_CRAWL_USER_AGENT", "labbot/2.0 (+mailto:lab@example.org)")
    from core.settings import get_settings

    get_settings.cache_clear()
    host = platform.base.split("//")[1].split(":")[0]
    cookies = tmp_path / "cookies.txt"
    cookies.write_text(f"# Netscape HTTP Cookie File\n{host}\tFALSE\t/\tFALSE\t0\tsession\tabc123\n")
    r = recipe(source="urls", file=_list(tmp_path, [f"{platform.base}/media/{platform.names[0]}"]),
               cookie_file=cookies)
    assert run_crawl(r).downloaded == 1
    assert [(h.path, h.user_agent, h.cookie) for h in platform.hits] == [
        ("/robots.txt", "labbot/2.0 (+mailto:lab@example.org)", "session=abc123"),
        (f"/media/{platform.names[0]}", "labbot/2.0 (+mailto:lab@example.org)", "session=abc123")]


def test_per_host_rate_limit(platform, recipe, tmp_path):
    urls = [f"{platform.base}/media/{n}" for n in platform.names[:4]]
    r = recipe(source="urls", file=_list(tmp_path, urls), workers=4, politeness={"min_interval_s": 0.3})
    assert run_crawl(r).downloaded == 4
    starts = [h.at for h in platform.hits]
    assert len(starts) == 5  # robots.txt + 4 files
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(starts)]
    # seen from the server, so thread scheduling on a busy machine adds a little jitter to each gap;
    # jitter does not accumulate, so the span over the four files must still cover three full intervals
    assert min(gaps) >= 0.2, gaps
    assert starts[-1] - starts[1] >= 0.88, gaps


def test_same_bytes_under_two_urls_are_stored_once(platform, recipe, tmp_path):
    name = platform.names[0]
    urls = [f"{platform.base}/media/{name}", f"{platform.base}/faults/retry-after.mp4"]  # same bytes
    platform.first_time("retry-after.mp4")  # skip its 429 this time
    r = recipe(source="urls", file=_list(tmp_path, urls), workers=1)
    report = run_crawl(r)
    rows = list(read_rows(r.out / "manifests"))
    assert [(row["status"], row["reason"]) for row in rows] == [("downloaded", None), ("skipped", "duplicate_sha256")]
    assert rows[1]["duplicate_of"] == rows[0]["key"] and rows[1]["local_path"] is None
    assert (report.downloaded, report.skipped) == (1, 1)
    assert len([p for p in (r.out / "media").rglob("*") if p.is_file()]) == 1


def test_ytdlp_backend_on_an_html5_page(platform, recipe, tmp_path):
    r = recipe(source="urls", file=_list(tmp_path, [f"{platform.base}/site/a.html"]), backend="ytdlp")
    report = run_crawl(r)
    [row] = list(read_rows(r.out / "manifests"))
    assert (report.downloaded, row["status"]) == (1, "downloaded")
    assert row["sha256"] == platform.media_sha(platform.names[0])
    assert (r.out / row["local_path"]).stat().st_size == len(platform.files[platform.names[0]])


def test_repeated_403_stops_the_crawl(platform, recipe, tmp_path):
    from core.errors import CrawlBlocked

    # the TikTok look-alike CDN answers 403 without the video page as Referer
    urls = [f"{platform.base}/tiktok/media/{n}" for n in platform.names]
    with pytest.raises(CrawlBlocked) as info:
        run_crawl(recipe(source="urls", file=_list(tmp_path, urls), workers=1))
    assert "3 signs in a row, last 'http_403'" in info.value.message
    assert len(platform.paths("/tiktok/media/")) == 3


@pytest.mark.parametrize("cap", [1, 2])
def test_per_host_concurrency_cap(platform, recipe, tmp_path, cap):
    platform.media_delay_s = 0.3
    urls = [f"{platform.base}/media/{n}" for n in platform.names]
    r = recipe(source="urls", file=_list(tmp_path, urls), workers=4, politeness={"per_host_concurrency": cap})
    assert run_crawl(r).downloaded == 6
    assert platform.media_peak == cap  # never more in flight, and the cap is used


@pytest.mark.parametrize(("kept", "status"), [(0.5, 206), (1.0, 416)])
def test_a_part_left_by_a_crash_is_completed_not_refetched(platform, recipe, tmp_path, kept, status):
    from crawler.download import part_path

    name = platform.names[3]
    data = platform.files[name]
    url = f"{platform.base}/media/{name}"
    r = recipe(source="urls", file=_list(tmp_path, [url]))
    part = part_path(r.out / ".state" / "tmp", "url:" + url)
    part.parent.mkdir(parents=True)
    part.write_bytes(data[: int(len(data) * kept)])
    report = run_crawl(r)
    assert [(h.status, h.range) for h in platform.hits if h.path == f"/media/{name}"] == [
        (status, f"bytes={int(len(data) * kept)}-")]
    [row] = list(read_rows(r.out / "manifests"))
    assert (report.downloaded, row["sha256"], row["bytes"]) == (1, platform.media_sha(name), len(data))
    assert (r.out / row["local_path"]).read_bytes() == data and not part.exists()
