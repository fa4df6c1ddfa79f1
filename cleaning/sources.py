"""Inputs of a cleaning run: a crawl output folder, any folder of videos, or a manifest file."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from core.manifest import STATS_SUFFIX
from core.records import VIDEO_EXTENSIONS, CleanVideo

# crawler keys that clash with cleaning's own manifest columns keep their value under raw_<key>
# (`platform` is carried as it is: the clean row's platform is the crawler's)
_OWN_KEYS = frozenset(CleanVideo.model_fields) - {"platform"}


@dataclass(frozen=True, slots=True)
class InputVideo:
    """One file to clean: where it is, its path as recorded, and metadata carried from upstream."""

    path: Path
    source_path: str
    meta: dict[str, Any] = field(default_factory=dict)


def display_path(path: Path) -> str:
    """A path as UTF-8 text; bytes that are not UTF-8 appear as \\x.. escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _walk(root: Path) -> list[Path]:
    """Video files under `root`, following symlinks but entering each real directory once (loop-safe)."""
    found: list[Path] = []
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            st = folder.stat()
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in seen:
            continue
        seen.add((st.st_dev, st.st_ino))
        try:
            entries = sorted(os.scandir(folder), key=lambda e: os.fsencode(e.name))
        except OSError:
            continue
        for entry in entries:
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
            except OSError:  # e.g. a symlink pointing at itself
                is_dir = False
            if is_dir:
                if not entry.name.startswith("."):
                    stack.append(path)
            elif path.suffix.lower() in VIDEO_EXTENSIONS and not entry.name.startswith("."):
                found.append(path)
    return sorted(found, key=lambda p: os.fsencode(p))


def _carry(row: dict[str, Any]) -> dict[str, Any]:
    meta = {}
    for key, value in row.items():
        if key in ("local_path", "path"):
            continue
        meta[f"raw_{key}" if key in _OWN_KEYS else key] = value
    return meta


def _crawl_rows(root: Path) -> list[tuple[Path, dict[str, Any]]]:
    """(shard folder, row) for every row of every complete JSONL shard under `root` that names a file."""
    rows = []
    for stats in sorted(root.rglob(f"*{STATS_SUFFIX}")):
        shard = stats.with_name(stats.name.removesuffix(STATS_SUFFIX) + ".jsonl")
        if not shard.is_file():
            continue
        for line in shard.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if isinstance(row, dict) and row.get("local_path"):
                    rows.append((shard.parent, row))
    return rows


def _from_rows(base: Path, rows: list[tuple[Path, dict[str, Any]]]) -> list[InputVideo]:
    videos = []
    for shard_dir, row in rows:
        if row.get("status", "downloaded") != "downloaded":
            continue  # nothing on disk for failed or skipped downloads
        rel = Path(str(row.get("local_path") or row.get("path") or row.get("source_path")))
        path = rel if rel.is_absolute() else base / rel
        if not path.exists() and not rel.is_absolute() and (shard_dir / rel).exists():
            path = shard_dir / rel
        videos.append(InputVideo(path, display_path(path), _carry(row)))
    return videos


def _manifest_file(path: Path) -> list[InputVideo]:
    if path.suffix == ".parquet":
        import pandas as pd

        rows = pd.read_parquet(path).to_dict(orient="records")
    else:
        rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    named = [(path.parent, r) for r in rows if r.get("local_path") or r.get("path") or r.get("source_path")]
    if not named:
        raise ConfigError(f"manifest {path} has no rows with local_path, path or source_path")
    return _from_rows(path.parent, named)


def discover(source: Path | str) -> list[InputVideo]:
    """The videos a run cleans, in a stable order; ConfigError when `source` is missing or unusable."""
    root = Path(source)
    if root.is_file():
        if root.suffix.lower() in (".jsonl", ".json", ".parquet"):
            return _manifest_file(root)
        return [InputVideo(root, display_path(root))]
    if not root.is_dir():
        raise ConfigError(f"--source {display_path(root)} is neither a folder nor a manifest file")
    crawl = _crawl_rows(root)
    if crawl:
        return _from_rows(root, crawl)
    return [InputVideo(p, display_path(p)) for p in _walk(root)]
