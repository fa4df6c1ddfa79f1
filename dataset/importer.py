"""Importing a public labelled video folder: scan its layout, clean it with the clean stage, build it."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from core.errors import ConfigError, NotBuiltYet
from core.manifest import atomic_write_text
from core.records import VIDEO_EXTENSIONS
from core.taxonomy import Category
from dataset.recipe import DatasetRecipe
from dataset.splits import SPLIT_ALIASES

# Folder names public emotion datasets use for the eMotions categories (matched case-insensitively).
FOLDER_ALIASES = {
    "excited": "Excitation", "excitement": "Excitation", "sad": "Sadness", "afraid": "Fear", "scared": "Fear",
    "neutrality": "Neutral", "calm": "Relaxation", "relaxed": "Relaxation", "relax": "Relaxation", "tense": "Tension",
}


CATEGORY_MODES = ("auto", "emotions", "source")


def _emotions_name(name: str, aliases: Mapping[str, str]) -> str | None:
    """The eMotions category a folder or label name stands for (via `aliases`, then built-in ones), or None."""
    key = name.strip().lower()
    target = {k.strip().lower(): v for k, v in aliases.items()}.get(key, name)
    try:
        return Category.parse(target).value
    except ValueError:
        return FOLDER_ALIASES.get(target.strip().lower())


def _source_name(name: str, aliases: Mapping[str, str]) -> str:
    """A source class name as the dataset spells it (after `aliases`)."""
    return {k.strip().lower(): v.strip() for k, v in aliases.items()}.get(name.strip().lower(), name.strip())


def scan(folder: Path | str, aliases: Mapping[str, str] | None = None, categories: str = "auto") -> pd.DataFrame:
    """Labelled files of `folder`: (file relative to it, category, other columns) — one row per video.

    With a `labels.csv` (file,category[,...]) its rows are used (other columns carried, e.g. split);
    otherwise the category comes from the folders on each file's path, and a train/test folder becomes
    the `split` column. `categories`: `emotions` maps every name onto the six eMotions categories
    (Excited -> Excitation and the like; `aliases` adds more) and refuses what does not map; `source`
    keeps the dataset's own classes (e.g. the eight of VideoEmotion-8), taking the first folder that is
    not a split folder; `auto` maps when every name maps and keeps the source classes otherwise.
    `frame.attrs["vocabulary"]` says which was used ("emotions" or "source").
    """
    if categories not in CATEGORY_MODES:
        raise ConfigError(f"categories must be one of {', '.join(CATEGORY_MODES)}, got {categories!r}")
    root = Path(folder)
    aliases = dict(aliases or {})
    labels_csv = root / "labels.csv"
    if labels_csv.exists():
        frame, raw = _from_labels_csv(root, labels_csv)
        where = [f"labels file {labels_csv} line {i + 2}" for i in range(len(frame))]
    else:
        frame, raw, where = _from_folders(root)
    mapped = [_emotions_name(name, aliases) for name in raw]
    unmapped = next((i for i, m in enumerate(mapped) if m is None), None)
    if categories == "emotions" or (categories == "auto" and unmapped is None):
        if unmapped is not None:
            raise ConfigError(f"{where[unmapped]}: {raw[unmapped]!r} is not an eMotions category",
                              remedy="map it with --map NAME=Category, or keep the source classes with "
                                     "--categories source")
        frame["category"] = mapped
        frame.attrs["vocabulary"] = "emotions"
    else:
        frame["category"] = [_source_name(name, aliases) for name in raw]
        frame.attrs["vocabulary"] = "source"
    return frame


def _from_folders(root: Path) -> tuple[pd.DataFrame, list[str], list[str]]:
    videos = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS
                    and not any(part.startswith(".") for part in p.relative_to(root).parts))
    if not videos:
        raise ConfigError(f"{root}: no video files and no labels.csv",
                          remedy="use one sub-folder per category, or a labels.csv (file,category) beside the files")
    rows, raw, where = [], [], []
    for path in videos:
        rel = path.relative_to(root)
        folders = [p for p in rel.parts[:-1] if p.lower() not in SPLIT_ALIASES]
        if not folders:
            raise ConfigError(f"{root}: {rel.as_posix()} is not inside a category folder",
                              remedy="use one sub-folder per category, or a labels.csv (file,category)")
        # The category folder: the first one that names an eMotions category, else the first one.
        raw.append(next((f for f in folders if _emotions_name(f, {}) is not None), folders[0]))
        where.append(f"{root}: folder of {rel.as_posix()}")
        split = next((SPLIT_ALIASES[p.lower()] for p in rel.parts[:-1] if p.lower() in SPLIT_ALIASES), None)
        row = {"file": rel.as_posix(), "category": None}
        if split is not None:
            row["split"] = split
        rows.append(row)
    return pd.DataFrame(rows), raw, where


def _from_labels_csv(root: Path, path: Path) -> tuple[pd.DataFrame, list[str]]:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ConfigError(f"labels file {path}: malformed CSV ({str(exc).strip().splitlines()[-1]})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in ("file", "category") if c not in frame.columns]
    if missing:
        raise ConfigError(f"labels file {path}: missing column(s) {', '.join(missing)}",
                          remedy="the header must include file,category")
    for line, (file, raw) in enumerate(zip(frame["file"], frame["category"], strict=True), start=2):
        if not raw.strip():
            raise ConfigError(f"labels file {path} line {line}: empty category")
        if not (root / file).is_file():
            raise ConfigError(f"labels file {path} line {line}: file {file!r} not found in {root}")
    if "split" in frame.columns:
        frame["split"] = frame["split"].str.strip().str.lower().map(SPLIT_ALIASES).fillna(frame["split"])
    return frame, frame["category"].tolist()


def with_test_folder(files: pd.DataFrame, test_root: Path, aliases: Mapping[str, str] | None) -> pd.DataFrame:
    """`files` (train) joined with the videos of a separate test folder (absolute paths, split test), both read
    with one vocabulary: the test folder's names must map the way the train folder's did."""
    test = scan(test_root, aliases, files.attrs["vocabulary"])
    train = files.assign(split=files["split"].fillna("train") if "split" in files.columns else "train")
    test = test.assign(file=[(test_root / f).as_posix() for f in test["file"]], split="test")
    joined = pd.concat([train, test], ignore_index=True)
    joined.attrs["vocabulary"] = files.attrs["vocabulary"]
    return joined


def run_clean(source_manifest: Path, clean_dir: Path, cache_fps: float | None = None) -> None:
    """Run the clean stage (probe, filters, dedupe, normalisation) through the CLI registry."""
    import click

    from core.cli import COMMANDS, cli

    if "clean" not in COMMANDS:
        raise NotBuiltYet("import-folder needs the clean stage (`emotions clean`), which this version lacks")
    try:
        extra = ["--cache-fps", f"{cache_fps:g}"] if cache_fps is not None else []
        cli.main(["clean", "run", "--source", str(source_manifest), "--out", str(clean_dir), *extra],
                 prog_name="emotions", standalone_mode=False)
    except click.ClickException as exc:
        raise ConfigError(f"clean stage refused the import: {exc.format_message()}") from None


def labels_from_clean(files: pd.DataFrame, source: Path, clean_dir: Path) -> tuple[pd.DataFrame, dict[str, int]]:
    """Match scanned files to clean-manifest rows (by absolute source path); returns labels and dropped counts.

    Files with identical content share a clean id: with one category the first file is kept and the
    others are counted as `duplicate_files`; with different categories the label is ambiguous and every
    such file is left out (`conflicting_duplicates`).
    """
    from dataset.inputs import read_clean

    clean = read_clean(clean_dir)
    by_path: dict[str, str] = {}
    for sid, src in zip(clean["id"], clean["source_path"], strict=True):
        by_path.setdefault(os.path.normpath(str(src)), sid)
    ids = [by_path.get(os.path.normpath(str((source / f).resolve()))) for f in files["file"]]
    unmatched = [f for f, i in zip(files["file"], ids, strict=True) if i is None]
    if unmatched:
        raise ConfigError(f"clean manifest in {clean_dir} has no row for {len(unmatched)} imported files, "
                          f"e.g. {unmatched[0]}", remedy="clean into an empty --work folder")
    labels = files.assign(sample_id=ids)
    n_cats = labels.groupby("sample_id")["category"].transform("nunique")
    conflicting = n_cats.gt(1)
    first = labels.loc[~conflicting].drop_duplicates("sample_id", keep="first")
    counts = {"duplicate_files": int((~conflicting).sum()) - len(first),
              "conflicting_duplicates": int(conflicting.sum())}
    cols = ["sample_id", "category", *[c for c in first.columns if c not in ("sample_id", "category")]]
    return first[cols].reset_index(drop=True), counts


def import_folder(
    source: Path | str,
    recipe: DatasetRecipe,
    *,
    work: Path | str,
    out: Path | str | None = None,
    aliases: Mapping[str, str] | None = None,
    categories: str = "auto",
    overwrite: bool = False,
    test_folder: Path | str | None = None,
    cache_fps: float | None = None,
    echo: Callable[[str], None] = lambda _msg: None,
):
    """Scan `source`, clean its videos into `work`/clean, write `work`/labels.csv and build the dataset.

    With `test_folder`, its videos form the test split and those of `source` the train split (a split folder
    inside `source`, e.g. val/, keeps its own); `cache_fps` caps the training cache's frame rate."""
    from dataset.build import build

    source = Path(source).resolve()
    work = Path(work)
    files = scan(source, aliases, categories)
    if test_folder is not None:
        files = with_test_folder(files, Path(test_folder).resolve(), aliases)
        recipe = recipe.model_copy(update={"split_column": "split"})
    if files.attrs["vocabulary"] == "source" and recipe.categories is None:
        names = sorted(set(files["category"]))
        recipe = recipe.model_copy(update={"categories": tuple(names)})
        echo(f"keeping the source's own {len(names)} classes: {', '.join(recipe.vocab().names)}")
    defaults = type(recipe).model_fields
    if recipe.provenance == defaults["provenance"].default:
        recipe = recipe.model_copy(update={"provenance": (
            f"Imported from the labelled folder `{source.name}` with `emotions dataset import-folder` (labels as "
            "given by the source); probed, filtered, de-duplicated and normalised by the clean stage.")})
    if recipe.description == defaults["description"].default:
        recipe = recipe.model_copy(update={"description": f"Videos of `{source.name}` with their source labels."})
    echo(f"found {len(files):,} labelled videos in {source}")
    manifest = work / "import.jsonl"
    rows = [{"path": str((source / f).resolve()), "import_file": f, "category": c}
            for f, c in zip(files["file"], files["category"], strict=True)]
    atomic_write_text(manifest, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    clean_dir = work / "clean"
    run_clean(manifest, clean_dir, cache_fps)
    labels, dropped = labels_from_clean(files, source, clean_dir)
    labels_path = work / "labels.csv"
    atomic_write_text(labels_path, labels.to_csv(index=False, lineterminator="\n"))
    for reason, n in dropped.items():
        if n:
            echo(f"left out {n} files: {reason.replace('_', ' ')}")
    return build(recipe, labels_path, clean_dir, out, overwrite=overwrite, extra_left_out=dropped)
