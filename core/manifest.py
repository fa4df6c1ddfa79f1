"""Manifest I/O shared by the offline stages: atomic writes, JSONL shards, and their stats files.

A shard `<name>.jsonl` is complete exactly when its `<name>_stats.json` exists; the stats file is
written last, atomically, so a crash can never make a partial shard look done.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

SHARD_SUFFIX = ".jsonl"
STATS_SUFFIX = "_stats.json"
DATASET_MANIFEST_NAMES = ("manifest.parquet", "manifest.csv", "manifest.jsonl")


def find_dataset_manifest(dataset: Path | str, variant: str = "all") -> Path:
    """A built dataset's manifest: a manifest file, a folder holding one, or a version folder (then `variant/`)."""
    from core.errors import ConfigError

    path = Path(dataset)
    if path.is_file():
        return path
    for folder in (path, path / variant):
        for name in DATASET_MANIFEST_NAMES:
            if (folder / name).is_file():
                return folder / name
    raise ConfigError(f"no dataset manifest under {path}",
                      remedy="point --dataset at datasets/<name>/<version>[/<variant>] or a manifest file")


def file_digest(path: Path | str) -> hashlib._Hash:
    """The sha256 object of a file's bytes (`.update()` it further, e.g. to finish a resumed download)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256")


def file_sha256(path: Path | str) -> str:
    """sha256 hex digest of a file."""
    return file_digest(path).hexdigest()


def atomic_write_bytes(path: Path | str, data: bytes) -> Path:
    """Write `data` to `path` via a temporary file in the same folder, fsync, then rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def atomic_write_text(path: Path | str, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path | str, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True, default=str))


def shard_name(prefix: str, index: int) -> str:
    return f"{prefix}-{index:05d}"


def stats_path(shard: Path) -> Path:
    return shard.with_name(shard.name.removesuffix(SHARD_SUFFIX) + STATS_SUFFIX)


def write_shard(
    folder: Path | str, prefix: str, index: int, rows: Iterable[Mapping[str, Any]], stats: Mapping[str, Any]
) -> Path:
    """Write one complete shard (rows as JSONL) and then its stats file; returns the shard path."""
    shard = Path(folder) / f"{shard_name(prefix, index)}{SHARD_SUFFIX}"
    lines = [json.dumps(dict(r), ensure_ascii=False, sort_keys=True, default=str) for r in rows]
    atomic_write_text(shard, "".join(line + "\n" for line in lines))
    atomic_write_json(stats_path(shard), {"rows": len(lines), **stats})
    return shard


def complete_shards(folder: Path | str, prefix: str | None = None) -> list[Path]:
    """Shards in `folder` whose stats file exists, in name order (incomplete ones are ignored)."""
    pattern = f"{prefix}-*{SHARD_SUFFIX}" if prefix else f"*{SHARD_SUFFIX}"
    return [p for p in sorted(Path(folder).glob(pattern)) if stats_path(p).exists()]


def read_rows(source: Path | str) -> Iterator[dict[str, Any]]:
    """Rows of a manifest: a single JSONL file, or every complete shard of a folder."""
    path = Path(source)
    files = [path] if path.is_file() else complete_shards(path)
    for file in files:
        with file.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line)
