from core.manifest import read_rows
from crawler.runner import run_crawl


def test_site_source_finds_each_markup_style_and_respects_robots_depth_and_host(platform, external, recipe):
    r = recipe(source="site", seeds=(f"{platform.base}/site/index.html",), max_depth=2, workers=1)
    report = run_crawl(r)
    rows = list(read_rows(r.out / "manifests"))
    names = platform.names
    got = {(row["page_url"].rsplit("/", 1)[1], row["media_url"].rsplit("/", 1)[1], row["title"],
            row["description"]) for row in rows}
    assert got == {
        ("a.html", names[0], "Video tag page", ""),
        ("b.html", names[1], "Source tag page", ""),
        ("c.html", names[2], "OG title", "OG desc"),
        ("d.html", names[3], "LD name", "LD desc"),
    }
    assert all(row["status"] == "downloaded" and row["platform"] == "127.0.0.1" for row in rows)
    assert {row["sha256"] for row in rows} == {platform.media_sha(n) for n in names[:4]}
    assert (report.downloaded, report.failed, report.stopped) == (4, 0, "finished")
    pages = platform.paths("/site/")
    # each page once despite the a <-> b <-> index cycle; e.html is depth 2, f.html (depth 3) is never visited
    assert sorted(pages) == ["/site/a.html", "/site/b.html", "/site/c.html", "/site/d.html", "/site/e.html",
                             "/site/index.html"]
    assert "/site/private/secret.html" not in platform.paths()  # robots.txt disallows it
    assert platform.paths("/robots.txt") == ["/robots.txt"]
    assert external.hits == []  # the external link is never followed
    assert platform.paths(f"/media/{names[4]}") == []  # a plain link to a file is not a page to crawl


def test_rerun_fetches_nothing_again(platform, recipe):
    r = recipe(source="site", seeds=(f"{platform.base}/site/index.html",), max_depth=2)
    first = run_crawl(r)
    platform.reset()
    second = run_crawl(r)
    assert (first.downloaded, second.downloaded, second.already_done, second.total_downloaded) == (4, 0, 4, 4)
    assert platform.hits == []


def test_limit_counts_downloads_across_runs(platform, recipe):
    r = recipe(source="site", seeds=(f"{platform.base}/site/index.html",), max_depth=2, workers=1, limit=2)
    first = run_crawl(r)
    assert (first.downloaded, first.stopped) == (2, "limit")
    more = recipe(source="site", seeds=(f"{platform.base}/site/index.html",), max_depth=2, workers=1, limit=3)
    second = run_crawl(more)
    assert (second.downloaded, second.already_done, second.total_downloaded) == (1, 2, 3)
    assert len(list(read_rows(r.out / "manifests"))) == 3


def test_failed_items_are_done_unless_retry_failed(platform, recipe, tmp_path):
    listing = tmp_path / "urls.txt"
    listing.write_text(f"{platform.base}/faults/html.mp4\n{platform.base}/media/{platform.names[0]}\n")
    assert run_crawl(recipe(source="urls", file=listing)).failed == 1
    platform.reset()
    again = run_crawl(recipe(source="urls", file=listing))
    assert (again.failed, again.already_done, platform.hits) == (0, 2, [])
    retry = run_crawl(recipe(source="urls", file=listing, retry_failed=True))
    assert (retry.failed, retry.already_done) == (1, 1)
    assert platform.paths() == ["/robots.txt", "/faults/html.mp4"]


def test_a_grown_url_list_is_read_again(platform, recipe, tmp_path):
    listing = tmp_path / "urls.txt"
    listing.write_text(f"{platform.base}/media/{platform.names[0]}\n")
    assert run_crawl(recipe(source="urls", file=listing)).downloaded == 1
    listing.write_text(f"{platform.base}/media/{platform.names[0]}\n{platform.base}/media/{platform.names[1]}\n")
    platform.reset()
    second = run_crawl(recipe(source="urls", file=listing))
    assert (second.downloaded, second.already_done) == (1, 1)
    assert platform.paths("/media/") == [f"/media/{platform.names[1]}"]
