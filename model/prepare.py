"""Training-cache files for raw videos, made by the clean stage itself (its analyse + normalise steps).

`model predict` and the test/profiling helpers call this, so raw videos reach the network through the very
frames and MFCC the trainer reads: one preprocessing path. The clean stage runs through the CLI registry
(stages talk through files, not imports), with only the steps that make the cache: no filters, no
de-duplication, no web MP4.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from core.errors import ConfigError, NotBuiltYet
from core.manifest import atomic_write_text

CACHE_STEPS = ("probe", "analyse", "normalise")


@dataclass(frozen=True)
class Cached:
    """One video after the clean stage: its cache files, or the reason it has none."""

    video: str
    frames: Path | None
    mfcc: Path | None
    error: str | None = None
    fps: float | None = None


def cache_recipe(max_fps: float, short_side: int, n_mfcc: int) -> dict:
    """The clean recipe that writes only the training cache, with the given frame rate cap and sizes."""
    return {"steps": list(CACHE_STEPS), "cache": {"fps": max_fps, "short_side": short_side, "n_mfcc": n_mfcc},
            "web": {"enabled": False}, "dedupe": {"exact": False, "near": False}}


def run_clean_stage(videos: Sequence[str | Path], work: Path, recipe: dict, *, workers: int | None = None
                    ) -> dict[str, dict]:
    """Clean `videos` into `work`/clean with `recipe`; returns the clean manifest row of each input path."""
    import click
    import pandas as pd

    from core.cli import COMMANDS, cli

    if "clean" not in COMMANDS:
        raise NotBuiltYet("preparing videos needs the clean stage (`emotions clean`), which this install lacks")
    work.mkdir(parents=True, exist_ok=True)
    paths = [os.path.abspath(str(v)) for v in videos]
    source = work / "videos.jsonl"
    atomic_write_text(source, "".join(json.dumps({"path": p}) + "\n" for p in paths))
    recipe_file = work / "clean-recipe.yaml"
    atomic_write_text(recipe_file, yaml.safe_dump(recipe, sort_keys=False))
    out = work / "clean"
    n = workers or max(1, min(len(paths), os.cpu_count() or 1))
    args = ["clean", "run", "--source", str(source), "--out", str(out), "--recipe", str(recipe_file),
            "--workers", str(n)]
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # its summary line is not part of our output
            cli.main(args, prog_name="emotions", standalone_mode=False)
    except click.ClickException as exc:
        raise ConfigError(f"the clean stage refused the videos: {exc.format_message()}") from None
    rows = pd.read_parquet(out / "manifest.parquet").to_dict("records")
    by_path = {os.path.normpath(str(r["source_path"])): r for r in rows}
    return {p: {**by_path[os.path.normpath(p)], "_root": str(out)} for p in paths}


def cache_videos(videos: Sequence[str | Path], work: Path, *, max_fps: float, short_side: int, n_mfcc: int,
                 workers: int | None = None) -> list[Cached]:
    """Frames + MFCC of each video under `work`, made exactly as cleaning makes the training cache."""
    rows = run_clean_stage(videos, work, cache_recipe(max_fps, short_side, n_mfcc), workers=workers)
    out = []
    for video, path in zip(videos, rows, strict=True):
        row = rows[path]
        root = Path(row["_root"])
        if row["status"] != "kept" or not row.get("frames"):
            why = row.get("detail") or row.get("reason") or "not cached"
            out.append(Cached(str(video), None, None, f"{row.get('reason')}: {why}"))
            continue
        mfcc = row.get("mfcc")
        out.append(Cached(str(video), root / row["frames"], root / mfcc if isinstance(mfcc, str) and mfcc else None,
                          fps=row.get("cache_fps")))
    return out
