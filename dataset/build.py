"""The dataset build: labels + clean manifest -> datasets/<name>/<version>/<variant>/ with every file, atomically.

A URL list (`urls_only`) may be built from the labels alone, without a clean manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from core.errors import ConfigError
from core.manifest import file_sha256
from dataset import card, exports, stats
from dataset.inputs import (
    join,
    labels_alone,
    manifest_files,
    media_root,
    read_clean,
    read_labels,
    resolve_media,
    vote_summary,
)
from dataset.recipe import DatasetRecipe, dump_yaml
from dataset.splits import assign_splits, given_splits, straddling_groups
from dataset.variants import select

MAX_LISTED = 10  # missing media files named in the error message


@dataclass
class BuildResult:
    """Where the build went and the headline numbers of each variant."""

    out: Path
    left_out: dict[str, int]
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)


def default_out(recipe: DatasetRecipe) -> Path:
    return Path("datasets") / recipe.name / recipe.version


def _sha_file(path: Path | None) -> str | None:
    return file_sha256(path) if path is not None else None


def _clean_digest(path: Path) -> str:
    return _files_digest(manifest_files(path))


def _files_digest(files: list[Path]) -> str:
    h = hashlib.sha256()
    for file in files:
        h.update(file.name.encode() + b"\0")
        h.update(bytes.fromhex(file_sha256(file)))
    return h.hexdigest()


def _check_out(out: Path, fingerprint: str, overwrite: bool) -> None:
    """Refuse an output folder that holds something other than this very build (unless `overwrite`)."""
    if not out.exists():
        return
    if not out.is_dir():
        raise ConfigError(f"output {out} exists and is not a folder", remedy="choose another --out")
    if not any(out.iterdir()) or overwrite:
        return
    try:
        previous = json.loads((out / "build.json").read_text(encoding="utf-8")).get("fingerprint")
    except (OSError, ValueError, AttributeError):
        previous = None
    if previous != fingerprint:
        raise ConfigError(f"output folder {out} already holds a different build",
                          remedy="pass --overwrite to replace it, or choose another --out / --version")


def _swap_into_place(tmp: Path, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)


def prepare(recipe: DatasetRecipe, labels_path: Path, clean_path: Path | None, votes_path: Path | None = None
            ) -> tuple[pd.DataFrame, pd.DataFrame | None, dict[str, int]]:
    """Read, check and join the inputs: (resolved samples, clean manifest or None, left-out counts).

    Without a clean manifest (`clean_path` None) only a URL list can be built, from the labels' own
    url or platform + platform_id columns.
    """
    vocab = recipe.vocab()
    if clean_path is None and not recipe.urls_only:
        raise ConfigError("without a clean manifest only a URL list can be built",
                          remedy="pass --clean FOLDER, or build a URL list from the labels alone with --urls-only")
    labels = read_labels(labels_path, vocab)
    if recipe.require_complete and labels.left_out.get("unresolved"):
        raise ConfigError(f"labels file {labels_path}: {labels.left_out['unresolved']:,} samples are unresolved",
                          remedy="finish annotation or build without --require-complete")
    if clean_path is None:
        clean, table, left_out = None, labels_alone(labels), dict(labels.left_out)
    else:
        clean = read_clean(clean_path)
        table, left_out = join(labels, clean, include_duplicates=recipe.include_duplicates)
    if table.empty:
        reasons = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in sorted(left_out.items()) if v)
        raise ConfigError(f"labels file {labels_path}: no sample is left to build (left out: {reasons or 'none'})")
    if votes_path is not None:
        summary = vote_summary(votes_path, vocab)
        table = table.drop(columns=[c for c in ("member_votes", "confidence_mean") if c in table.columns])
        table = table.merge(summary, on="sample_id", how="left")
    with_media = recipe.media != "none" and not recipe.urls_only
    if with_media:
        table, missing = resolve_media(table, media_root(table, clean_path))
        if missing:
            shown = ", ".join(missing[:MAX_LISTED]) + (f" and {len(missing) - MAX_LISTED} more"
                                                        if len(missing) > MAX_LISTED else "")
            raise ConfigError(f"{len(missing):,} media files named by the clean manifest are missing: {shown}",
                              remedy="re-run the clean stage, or build with --media none")
    else:
        for col in (*exports.CACHE_KINDS, "web_mp4"):
            table[col] = None
    return table, clean, left_out


def build(
    recipe: DatasetRecipe,
    labels_path: Path | str,
    clean_path: Path | str | None,
    out: Path | str | None = None,
    *,
    votes_path: Path | str | None = None,
    qa_path: Path | str | None = None,
    overwrite: bool = False,
    extra_left_out: dict[str, int] | None = None,
) -> BuildResult:
    """Build every variant of `recipe` into `out` (default datasets/<name>/<version>); returns the numbers.

    `clean_path` None builds a URL list (`recipe.urls_only`) from the labels alone. Raises ConfigError for
    bad input (before writing anything). The folder appears complete or not at all.
    """
    recipe.balanced_targets()  # category names are checked before any work
    labels_path = Path(labels_path)
    clean_path = Path(clean_path) if clean_path is not None else None
    votes_path = Path(votes_path) if votes_path is not None else None
    target = Path(out) if out is not None else default_out(recipe)
    qa = card.read_qa(qa_path)
    table, clean, left_out = prepare(recipe, labels_path, clean_path, votes_path)
    left_out.update({k: v for k, v in (extra_left_out or {}).items() if v})

    resolved = recipe.resolved(labels=labels_path, clean=clean_path, votes=votes_path, qa=qa_path)
    inputs = {
        "labels_name": labels_path.name,
        "labels_sha256": _sha_file(labels_path),
        "clean_rows": len(clean) if clean is not None else None,
        "clean_sha256": _clean_digest(clean_path) if clean_path is not None else None,
        "votes_sha256": _sha_file(votes_path),
        "qa_sha256": _files_digest(card.qa_files(qa_path)) if qa_path is not None else None,
    }
    fingerprint = hashlib.sha256(json.dumps([resolved, inputs], sort_keys=True).encode()).hexdigest()
    _check_out(target, fingerprint, overwrite)

    tmp = target.with_name(f".{target.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    result = BuildResult(out=target, left_out=left_out)
    digests: dict[str, str] = {}
    try:
        for variant in recipe.variants:
            result.variants[variant] = build_variant(
                variant, recipe, table, clean, tmp / variant, resolved=resolved, inputs=inputs,
                left_out=left_out, qa=qa, digests=digests)
        root = exports.Writer(tmp, "none")
        root.text("recipe.yaml", dump_yaml(resolved))
        root.text("build.json", json.dumps({"fingerprint": fingerprint, "inputs": inputs, "left_out": left_out,
                                            "variants": result.variants}, indent=2, sort_keys=True) + "\n")
        _swap_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return result


def build_variant(variant: str, recipe: DatasetRecipe, table: pd.DataFrame, clean: pd.DataFrame | None,
                  folder: Path, *, resolved: dict, inputs: dict, left_out: dict, qa: dict | None,
                  digests: dict[str, str]) -> dict[str, Any]:
    """Select, split and write one variant folder; returns its headline numbers."""
    vocab = recipe.vocab()
    sel = select(variant, table, balanced=recipe.balanced_targets(), test_size=recipe.test_size, seed=recipe.seed,
                 names=vocab.names)
    chosen = sel.table
    ratios = recipe.split.ratios()
    if recipe.split_column:
        chosen["split"] = given_splits(chosen, recipe.split_column).to_numpy()
    else:
        if "split" in chosen.columns:  # a split the labels came with is kept, under another name
            chosen = chosen.rename(columns={"split": "source_split"})
        chosen["split"] = assign_splits(chosen, ratios, recipe.seed).to_numpy()
        bad = straddling_groups(chosen)
        if bad:  # cannot happen with whole-group placement; kept as a guard against regressions
            raise RuntimeError(f"near-duplicate groups straddle splits: {bad[:5]}")
    with_media = recipe.media != "none" and not recipe.urls_only
    built = exports.layout(chosen, with_media)
    manifest = exports.manifest_frame(built, vocab)

    writer = exports.Writer(folder, recipe.media, digests, trust_names=not recipe.rehash_media)
    exports.write_manifests(writer, manifest, vocab)
    urls_missing = 0
    if recipe.urls_only:
        urls_missing = exports.write_urls(writer, built, manifest)
    else:
        if with_media:
            exports.write_media(writer, built)
        exports.write_hf_metadata(writer, manifest, vocab)
    if recipe.webdataset and with_media:
        exports.write_webdataset(writer, manifest, recipe.shard_size)

    numbers = stats.compute(manifest, raw=clean, names=vocab.names)
    numbers.update({"variant": variant, "asked": sel.asked, "taken": sel.taken, "shortfalls": sel.shortfalls,
                    "left_out": left_out})
    figures = stats.render_figures(numbers)
    for name, data in figures.items():
        writer.write(f"figures/{name}", data)
    votes = {
        "decided_stage": {str(k): int(v) for k, v in manifest["decided_stage"].dropna().astype(str)
                          .value_counts().sort_index().items()},
        "confidence_mean": (float(pd.to_numeric(manifest["confidence_mean"], errors="coerce").mean())
                            if manifest["confidence_mean"].notna().any() else None),
    }
    ctx = {"recipe": resolved, "variant": variant, "stats": numbers, "ratios": ratios,
           "selection": {"asked": sel.asked, "taken": sel.taken, "shortfalls": sel.shortfalls},
           "left_out": left_out, "inputs": inputs, "qa": qa, "figures": sorted(figures), "votes": votes,
           "urls_missing": urls_missing,
           "files": {"media": with_media, "urls": recipe.urls_only, "webdataset": recipe.webdataset and with_media}}
    writer.text("card.md", card.render(ctx))
    writer.text("stats.json", json.dumps(numbers, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    writer.text("recipe.yaml", dump_yaml({**resolved, "variant": variant}))
    writer.write_sums()
    return {"samples": len(manifest), "splits": numbers["splits"], "shortfalls": sel.shortfalls}
