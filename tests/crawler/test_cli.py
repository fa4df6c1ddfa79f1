import json

import pytest

from core.cli import main
from crawler.recipe import CrawlRecipe, build_recipe
from crawler.sources import SOURCES, load_all


def test_every_registered_source_honours_the_protocol():
    load_all()
    assert sorted(SOURCES) == ["douyin", "kuaishou", "site", "tiktok", "urls"]
    for name, source in SOURCES.items():
        assert source.name == name
        assert isinstance(source.needs_browser, bool)
        for method in ("check_recipe", "discover", "resolve"):
            assert callable(getattr(source, method)), (name, method)
    assert [n for n, s in sorted(SOURCES.items()) if s.needs_browser] == ["douyin", "kuaishou", "tiktok"]


def test_every_platform_adapter_is_documented_and_builds_its_listings():
    from pathlib import Path

    import crawler.sources as package
    from crawler.sources.platforms import PLATFORMS

    folder = Path(package.__file__).parent
    queries = {"douyin": ("搞笑", "#1575791", "@MS4wLjABAAAAx"), "kuaishou": ("搞笑", "#搞笑", "@3xabc"),
               "tiktok": ("funny", "#funny", "@someone")}
    for name, spec in PLATFORMS.items():
        note = (folder / f"{name}.md").read_text(encoding="utf-8")
        assert note.startswith(f"# {spec.name.capitalize() if name != 'tiktok' else 'TikTok'}:"), name
        kinds = [spec.listing(spec.web_origin, q) for q in queries[name]]
        assert all(k.url.startswith(spec.web_origin + "/") and k.api for k in kinds), name
        for expect in spec.item_fields + spec.page_fields:  # every field `crawl check` expects is documented
            assert expect.path[-1] in note, (name, expect.path)


@pytest.mark.parametrize(("flags", "message"), [
    ({"source": "site"}, "invalid crawl recipe: the site source needs at least one seed URL (--seed)"),
    ({"source": "site", "seeds": ("ftp://x",)}, "invalid crawl recipe: seed 'ftp://x' is not an http(s) URL"),
    ({"source": "tiktok", "query": " # "}, "invalid crawl recipe: the tiktok source needs --query"),
    ({"source": "urls", "file": "missing.txt"}, "invalid crawl recipe: URL list missing.txt does not exist"),
    ({"source": "bogus"}, "unknown crawl source 'bogus'; known: douyin, kuaishou, site, tiktok, urls"),
    ({"source": "site", "seeds": ("http://x",), "workers": 0},
     "invalid crawl recipe: workers: Input should be greater than or equal to 1"),
    ({"source": "site", "seeds": ("http://x",), "frontier_url": "sqlite:///x.db"},
     "invalid crawl recipe: frontier_url must be a postgresql:// or postgresql+psycopg:// URL"),
])
def test_bad_recipes_fail_fast_with_one_line(flags, message):
    from core.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        build_recipe(None, **flags)
    assert info.value.message.startswith(message)


def test_yaml_recipe_with_flag_overrides(tmp_path):
    spec = tmp_path / "r.yaml"
    spec.write_text("source: site\nseeds: ['http://a.test/']\nlimit: 7\npoliteness:\n  min_interval_s: 5\n")
    recipe = build_recipe(spec, limit=3, min_interval_s=0.5, query=None)
    assert isinstance(recipe, CrawlRecipe)
    assert (recipe.limit, recipe.politeness.min_interval_s, recipe.politeness.per_host_concurrency) == (3, 0.5, 1)
    assert recipe.politeness.obey_robots is True and recipe.hash_author_ids is True


def test_run_then_status_from_the_command_line(platform, tmp_path, capsys):
    listing = tmp_path / "urls.txt"
    listing.write_text(f"{platform.base}/media/{platform.names[0]}\n{platform.base}/faults/html.mp4\n")
    out = tmp_path / "out"
    argv = ["crawl", "run", "--source", "urls", "--file", str(listing), "--out", str(out), "--min-interval", "0",
            "--limit", "5"]
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    assert stdout.startswith(f"1 downloaded, 1 failed, 0 skipped, 0 already done; 1 in {out} (finished, ")
    assert "reasons: bad_content_type 1" in stdout
    assert (out / "recipe.yaml").read_text().startswith("backend: requests\n")

    assert main(["crawl", "status", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert {k: summary[k] for k in ("videos", "by_status", "by_platform", "errors", "shards",
                                    "partial_downloads", "media_files")} == {
        "videos": 2, "by_status": {"downloaded": 1, "failed": 1},
        "by_platform": {"127.0.0.1": {"downloaded": 1, "failed": 1}}, "errors": {"bad_content_type": 1},
        "shards": {"sealed": 1, "open": 0}, "partial_downloads": 0, "media_files": 1}
    assert main(["crawl", "status", str(out)]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[1:] == ["platform                  downloaded      failed     skipped",
                        "127.0.0.1                          1           1           0",
                        "errors: bad_content_type 1"]


def test_repeated_403s_stop_the_crawl_with_exit_5(platform, tmp_path, capsys):
    listing = tmp_path / "urls.txt"
    listing.write_text("".join(f"{platform.base}/faults/forbidden.mp4?n={i}\n" for i in range(6)))
    spec = tmp_path / "r.yaml"
    spec.write_text(f"source: urls\nfile: {listing}\nout: {tmp_path / 'out'}\nworkers: 1\n"
                    "politeness: {min_interval_s: 0, block_backoff_s: 0.05}\n")
    assert main(["crawl", "run", "--recipe", str(spec), "--quiet"]) == 5
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: http://127.0.0.1:") and "3 signs in a row, last 'http_403'" in err[-1]
    assert len(platform.paths("/faults/forbidden.mp4")) == 3
    assert main(["crawl", "status", str(tmp_path / "out"), "--json"]) == 0
    # the item that tripped the stop is not recorded: a later run tries it again
    assert json.loads(capsys.readouterr().out)["errors"] == {"http_403": 2}


def test_douyin_hands_yt_dlp_the_page_its_extractor_knows():
    from crawler.parsing import Meta

    load_all()
    r = build_recipe(None, source="douyin", query="x")
    cand = SOURCES["douyin"]._candidate(Meta("7301000000000000001", "https://v.test/x.mp4"),
                                        "https://www.iesdouyin.com/share/video/7301000000000000001/", None, r)
    assert cand.extractor_url == "https://www.douyin.com/video/7301000000000000001"  # yt-dlp's DouyinIE form
    assert cand.headers == {"Referer": "https://www.iesdouyin.com/share/video/7301000000000000001/"}
