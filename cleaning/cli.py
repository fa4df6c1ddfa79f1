"""`emotions clean …`: run the cleaning stage and report on its output."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.group()
def clean() -> None:
    """Validate, filter, de-duplicate and normalise videos."""


@clean.command()
@click.option("--source", required=True, type=click.Path(exists=True, path_type=Path),
              help="Crawl output folder, any folder of videos, or a manifest file (JSONL/Parquet).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (manifest, derived files); re-running resumes.")
@click.option("--recipe", "recipe_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML recipe (steps and thresholds); defaults otherwise.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option("--address", default=None, help="Ray cluster address (with --executor ray).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Worker processes (default: all cores).")
@click.option("--cache-fps", type=float, default=None,
              help="Most training-cache frames per second (recipe cache.fps; default 30: the source's own rate up "
                   "to 30; 8 gives a 3-4x smaller cache whose snippets span 1 s).")
def run(source: Path, out_dir: Path, recipe_path: Path | None, executor: str, address: str | None,
        workers: int | None, cache_fps: float | None) -> None:
    """Clean every video under SOURCE into OUT, with one manifest row (and reason) per input."""
    from cleaning.executors import make_executor
    from cleaning.pipeline import run_clean
    from cleaning.recipe import load_recipe

    recipe = load_recipe(recipe_path, workers=workers, cache_fps=cache_fps)
    runner = make_executor(executor, address=address, workers=recipe.workers)
    bar: list = []

    def total(n: int) -> None:
        bar.append(click.progressbar(length=n, label="cleaning", file=sys.stderr))
        bar[0].__enter__()

    try:
        summary = run_clean(source, out_dir, recipe, executor=runner,
                            progress=lambda k: bar[0].update(k), on_total=total)
    finally:
        if bar:
            bar[0].__exit__(None, None, None)
    status = ", ".join(f"{k} {v}" for k, v in sorted(summary["status"].items()))
    click.echo(f"cleaned {summary['videos']} videos into {out_dir} ({status}) in {summary['seconds']:.1f} s")


@clean.command()
@click.argument("out_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
def report(out_dir: Path, as_json: bool) -> None:
    """Counts by status, reason and platform, duration statistics, and a duration histogram PNG."""
    from cleaning.report import HISTOGRAM, duration_histogram, load_rows, render_text, summarise
    from core.manifest import atomic_write_json

    rows = load_rows(out_dir)
    summary = summarise(rows)
    png = duration_histogram(rows, out_dir / "report" / HISTOGRAM)
    summary["histogram"] = str(png)
    atomic_write_json(out_dir / "report" / "stats.json", summary)
    if as_json:
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(summary))
        click.echo(f"\nhistogram: {png}")
