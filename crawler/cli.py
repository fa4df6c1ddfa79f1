"""`emotions crawl …`: run a crawl from flags or a YAML recipe, and summarise a crawl folder."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.group()
def crawl() -> None:
    """Discover and download short videos politely and resumably."""


@crawl.command()
@click.option("--recipe", "recipe_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="YAML crawl recipe; flags given here override its values.")
@click.option("--source", help="douyin, kuaishou, tiktok, site or urls.")
@click.option("--query", help="Search term; '#tag' for a hashtag, '@name' for an account (platform sources).")
@click.option("--seed", "seeds", multiple=True, help="Start URL of the site source (repeatable).")
@click.option("--file", "file", type=click.Path(dir_okay=False, path_type=Path),
              help="URL or id list (urls source): text, CSV with url or platform,platform_id columns, "
                   "or a manifest of an earlier crawl.")
@click.option("--limit", type=click.IntRange(min=1), help="Stop after this many downloaded videos.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Crawl folder (default data/raw).")
@click.option("--base-url", help="Replace the platform's web origin (a mirror or a test fixture).")
@click.option("--workers", type=click.IntRange(min=1), help="Videos processed in parallel.")
@click.option("--min-interval", "min_interval_s", type=float, help="Seconds between requests to one host.")
@click.option("--backend", type=click.Choice(["requests", "ytdlp"]), help="Media download backend.")
@click.option("--cookies", "cookie_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Netscape cookies.txt (as browser extensions and yt-dlp write): sent only to the hosts each "
                   "cookie names, given to the browser only for the platform's own hosts; none are sent otherwise.")
@click.option("--browser-profile", "browser_profile", type=click.Path(file_okay=False, path_type=Path),
              help="Chromium user-data dir you logged in with (platform discovery uses it as is).")
@click.option("--frontier", "frontier_url", help="PostgreSQL URL of a frontier shared with other workers.")
@click.option("--worker-id", help="This worker's name when sharing a frontier.")
@click.option("--max-bytes", type=click.IntRange(min=1), help="Size cap of one media file.")
@click.option("--deny", "deny_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Takedown list (URLs or platform,platform_id rows) that is never fetched.")
@click.option("--retry-failed", is_flag=True, default=None, help="Try items recorded as failed again.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def run(recipe_file: Path | None, quiet: bool, **flags: object) -> None:
    """Discover, fetch metadata and download videos into --out; re-run the same command to resume."""
    from core.errors import CrawlBlocked
    from crawler.recipe import build_recipe
    from crawler.runner import run_crawl

    recipe = build_recipe(recipe_file, **flags)
    show = not quiet
    bar = click.progressbar(length=recipe.limit, label=f"crawl {recipe.source}", file=sys.stderr,
                            show_pos=True, item_show_func=lambda row: row) if show else None

    def progress(row: dict) -> None:
        if bar is not None and row["status"] == "downloaded":
            bar.update(1, f"{row['platform']} {row.get('platform_id') or ''}".strip())

    def log(message: str) -> None:
        if show:
            click.echo(f"\n{message}", err=True)

    try:
        if bar is not None:
            with bar:
                report = run_crawl(recipe, progress=progress, log=log)
        else:
            report = run_crawl(recipe, progress=progress, log=log)
    except CrawlBlocked:
        click.echo(f"stopped early; what was fetched is saved in {recipe.out} (see `emotions crawl status`)",
                   err=True)
        raise
    click.echo(f"{report.downloaded} downloaded, {report.failed} failed, {report.skipped} skipped, "
               f"{report.already_done} already done{f', {report.denied} denied' if report.denied else ''}; "
               f"{report.total_downloaded} in {report.out} "
               f"({report.stopped}, {report.seconds:.1f}s)")
    if report.reasons:
        click.echo("reasons: " + ", ".join(f"{k} {v}" for k, v in sorted(report.reasons.items())))


@crawl.command()
@click.argument("out", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(out: Path, as_json: bool) -> None:
    """Counts by platform and status, errors by reason, sealed/open shards of a crawl folder."""
    from crawler.status import crawl_status, format_status

    summary = crawl_status(out)
    click.echo(json.dumps(summary, indent=2, sort_keys=True) if as_json else format_status(summary))


@crawl.command()
def sources() -> None:
    """List the registered sources."""
    from crawler.sources import SOURCES, load_all

    load_all()
    for name in sorted(SOURCES):
        kind = "browser discovery + page state" if SOURCES[name].needs_browser else "requests + lxml"
        click.echo(f"{name:<10} {kind}")


@crawl.command()
@click.option("--source", required=True, type=click.Choice(["douyin", "kuaishou", "tiktok"]),
              help="The platform to check.")
@click.option("--query", help="Listing to open (default: a common search term); '#tag' or '@account' as in run.")
@click.option("--cookies", "cookie_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Netscape cookies.txt of your session (given to the browser for the platform's hosts only).")
@click.option("--browser-profile", "browser_profile", type=click.Path(file_okay=False, path_type=Path),
              help="Chromium user-data dir you logged in with.")
@click.option("--base-url", help="Replace the platform's web origin (a mirror or a test replica).")
@click.option("--min-interval", "min_interval_s", type=float, help="Seconds between requests to one host.")
def check(source: str, query: str | None, **flags: object) -> None:
    """Open one listing and one video page; print per expected field found / missing / changed type.

    Exit code 0 when every field is there, 6 when the platform changed.
    """
    from core.settings import get_settings
    from crawler.browser import Browser
    from crawler.check import DEFAULT_QUERIES, changed_error, check_platform, format_check
    from crawler.http import Client
    from crawler.recipe import build_recipe

    recipe = build_recipe(None, source=source, query=query or DEFAULT_QUERIES[source], **flags)
    user_agent = get_settings().crawl_user_agent
    client = Client(recipe.politeness, user_agent, recipe.cookie_file)
    try:
        with Browser(user_agent, profile_dir=recipe.browser_profile) as browser:
            report = check_platform(recipe, browser, client)
    finally:
        client.close()
    click.echo(format_check(report))
    if not report.ok:
        raise changed_error(report)
