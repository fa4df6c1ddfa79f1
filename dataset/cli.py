"""`emotions dataset …`: build variants, import a labelled folder, print statistics (thin wrappers)."""

from __future__ import annotations

from pathlib import Path

import click

from core.errors import ConfigError


def _data_dir() -> Path:
    from core.settings import get_settings

    return Path(get_settings().data_dir)


def _balanced(value: str | None) -> dict[str, int] | None:
    if not value:
        return None
    out: dict[str, int] = {}
    for part in value.split(","):
        name, sep, count = part.partition("=")
        if not sep or not count.strip().isdigit():
            raise click.BadParameter(f"expected Category=N[,Category=N...], got {part!r}", param_hint="--balanced")
        out[name.strip()] = int(count)
    return out


def _split(value: str | None) -> dict[str, float] | None:
    if not value:
        return None
    try:
        parts = [float(p) for p in value.split(",")]
    except ValueError:
        raise click.BadParameter("expected TRAIN,TEST or TRAIN,VAL,TEST ratios", param_hint="--split") from None
    if len(parts) == 2:
        return {"train": parts[0], "val": 0.0, "test": parts[1]}
    if len(parts) == 3:
        return {"train": parts[0], "val": parts[1], "test": parts[2]}
    raise click.BadParameter("expected TRAIN,TEST or TRAIN,VAL,TEST ratios", param_hint="--split")


def recipe_options(func):
    """Options shared by `build` and `import-folder` (each overrides the recipe file)."""
    options = [
        click.option("--recipe", "recipe_path", type=click.Path(dir_okay=False, path_type=Path),
                     help="YAML recipe (name, version, seed, balanced, test_size, split, media, ...)."),
        click.option("--variant", "variants", multiple=True, type=click.Choice(["all", "balanced", "test"]),
                     help="Variant to build (repeatable); default all three."),
        click.option("--seed", type=int, help="Sampling and split seed (default 0)."),
        click.option("--name", help="Dataset name (default emotions)."),
        click.option("--version", "version_", help="Dataset version (default v1)."),
        click.option("--balanced", help="Counts for the balanced variant, e.g. Excitation=4000,Neutral=3000."),
        click.option("--test-size", type=int, help="Size of the test variant (default 5000)."),
        click.option("--split", "split", help="Split ratios TRAIN,TEST or TRAIN,VAL,TEST (default 0.8,0.2)."),
        click.option("--media", type=click.Choice(["link", "copy", "none"]), help="Media as hard links (default), "
                     "copies or none."),
        click.option("--urls-only", is_flag=True, default=None, help="Write urls.csv with labels and no media; "
                     "needs no clean manifest when the labels carry url or platform,platform_id."),
        click.option("--webdataset", is_flag=True, default=None, help="Also write WebDataset tar shards."),
        click.option("--require-complete", is_flag=True, default=None, help="Refuse when a sample is unresolved."),
        click.option("--overwrite", is_flag=True, help="Replace an output folder holding a different build."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _recipe(recipe_path, variants, seed, name, version_, balanced, test_size, split, media, urls_only, webdataset,
            require_complete, check_categories=True, **extra):
    from dataset.recipe import load_recipe

    return load_recipe(
        recipe_path, check_categories=check_categories, variants=list(variants) or None, seed=seed, name=name,
        version=version_, balanced=_balanced(balanced), test_size=test_size, split=_split(split), media=media,
        urls_only=urls_only, webdataset=webdataset, require_complete=require_complete, **extra)


def _report(result) -> None:
    click.echo(f"built {result.out}")
    for variant, info in result.variants.items():
        parts = ", ".join(f"{s} {sum(c.values()):,}" for s, c in info["splits"].items())
        note = f"; shortfalls: {', '.join(info['shortfalls'])}" if info["shortfalls"] else ""
        click.echo(f"  {variant:<9} {info['samples']:>7,} samples ({parts}){note}")
    left = {k: v for k, v in result.left_out.items() if v}
    if left:
        click.echo("  left out: " + ", ".join(f"{k} {v:,}" for k, v in sorted(left.items())))


@click.group()
def dataset() -> None:
    """Build dataset variants (all, balanced, test), splits, card, statistics and exports."""


@dataset.command("build")
@click.option("--labels", "labels_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Final labels (CSV/Parquet: sample_id,category,...); default <data_dir>/labels.csv.")
@click.option("--clean", "clean_path", type=click.Path(path_type=Path),
              help="Clean manifest (folder of shards or one file); default <data_dir>/clean. Optional with "
                   "--urls-only: the labels' url or platform,platform_id columns are enough.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default datasets/<name>/<version>).")
@click.option("--votes", "votes_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Tidy votes table for the vote summary (sample_id,category,stage,confidence).")
@click.option("--qa", "qa_path", type=click.Path(exists=True, path_type=Path),
              help="QA report (JSON) or the QA stage's reports folder; its agreement figures go into the card.")
@recipe_options
def build_cmd(labels_path, clean_path, out, votes_path, qa_path, overwrite, **options) -> None:
    """Build the dataset variants from final labels and the clean manifest (a URL list: from the labels alone)."""
    from dataset.build import build

    recipe = _recipe(**options)
    labels_path = labels_path or _data_dir() / "labels.csv"
    if clean_path is None:
        clean_path = _data_dir() / "clean"
        if recipe.urls_only and not clean_path.exists():
            clean_path = None  # a URL list from the labels alone (Kinetics-style redistribution)
    if not labels_path.exists():
        raise ConfigError(f"labels file {labels_path}: not found",
                          remedy="export the final labels from the annotation app, or pass --labels FILE")
    result = build(recipe, labels_path, clean_path, out, votes_path=votes_path, qa_path=qa_path, overwrite=overwrite)
    _report(result)


@dataset.command("import-folder")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (default datasets/<name>/<version>).")
@click.option("--work", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the cleaned media and derived labels (default <data_dir>/imports/<name>).")
@click.option("--map", "mapping", multiple=True, help="Folder or label name to category, e.g. --map Joy=Excitation.")
@click.option("--categories", type=click.Choice(["auto", "emotions", "source"]), default="auto", show_default=True,
              help="Map onto the six eMotions categories, keep the source's own classes, or decide by whether "
                   "every name maps.")
@click.option("--keep-splits", is_flag=True, help="Use the folder's own train/test split instead of drawing one.")
@click.option("--test-folder", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A separate folder (same layout) whose videos form the test split; SOURCE's form train.")
@click.option("--cache-fps", type=float, default=None,
              help="Most training-cache frames per second (default 30: the source's rate up to 30; 8: smaller).")
@recipe_options
def import_folder_cmd(source, out, work, mapping, categories, keep_splits, test_folder, cache_fps, overwrite,
                      **options) -> None:
    """Import a labelled folder (one sub-folder per category, or files + labels.csv), clean it, build it."""
    from dataset.importer import import_folder

    extra = {"split_column": "split"} if keep_splits else {}
    recipe = _recipe(**options, **extra, check_categories=False)
    aliases = {}
    for item in mapping:
        name, sep, cat = item.partition("=")
        if not sep:
            raise click.BadParameter(f"expected FOLDER=Category, got {item!r}", param_hint="--map")
        aliases[name.strip()] = cat.strip()
    work = work or _data_dir() / "imports" / recipe.name
    result = import_folder(source, recipe, work=work, out=out, aliases=aliases, categories=categories,
                           overwrite=overwrite, test_folder=test_folder, cache_fps=cache_fps, echo=click.echo)
    _report(result)


@dataset.command("stats")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
def stats_cmd(path: Path, as_json: bool) -> None:
    """Print the Table II / Table III statistics of a built dataset (or of one variant folder)."""
    from dataset.report import stats_text

    click.echo(stats_text(path, as_json=as_json))
