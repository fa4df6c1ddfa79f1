"""Crawl state on disk: the open shard journal, sealed shards, media by sha256, and what is already done.

Layout of a crawl folder:
    recipe.yaml                      the resolved recipe of the last run
    manifests/<prefix>-NNNNN.jsonl   one RawVideo row per line; appended and fsynced row by row
    manifests/<prefix>-NNNNN_stats.json   written when the shard is sealed (then the shard is done)
    media/<sha[:2]>/<sha256><ext>    downloaded files, each stored once
    .state/tmp/*.part                partial downloads, resumed with Range after a crash
    .state/discovered-<prefix>-<fingerprint>.jsonl   discovered references (+ .done once discovery
                                     finished); the fingerprint covers what discovery depends on
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from core.manifest import SHARD_SUFFIX, shard_name, stats_path, write_shard
from core.records import RawVideo

MEDIA_EXTS = {"video/mp4": ".mp4", "video/webm": ".webm", "video/quicktime": ".mov", "video/x-matroska": ".mkv",
              "video/x-flv": ".flv", "video/3gpp": ".3gp", "video/mp2t": ".ts"}


def media_ext(content_type: str, url: str) -> str:
    if content_type in MEDIA_EXTS:
        return MEDIA_EXTS[content_type]
    suffix = Path(url.split("?", 1)[0]).suffix.lower()
    return suffix if suffix in MEDIA_EXTS.values() else ".mp4"


def _read_jsonl(path: Path) -> tuple[list[dict[str, Any]], int]:
    """Rows of a JSONL file and the byte length of its valid prefix (a torn last line is dropped)."""
    rows: list[dict[str, Any]] = []
    good = 0
    with path.open("rb") as handle:
        for line in handle:
            if not line.endswith(b"\n"):
                break
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                break
            good += len(line)
    return rows, good


class CrawlState:
    """Thread-safe record keeping of one worker's output in a crawl folder."""

    def __init__(self, out: Path, prefix: str = "raw", shard_size: int = 1000, retry_failed: bool = False,
                 fsync: bool = True) -> None:
        self.out = Path(out)
        self.prefix = prefix
        self.shard_size = shard_size
        self.fsync = fsync  # a killed process loses nothing written; fsync also survives power loss
        self.manifests = self.out / "manifests"
        self.media = self.out / "media"
        self.tmp = self.out / ".state" / "tmp"
        for folder in (self.manifests, self.media, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self.done: set[str] = set()
        self.shas: dict[str, str] = {}  # sha256 -> key of the row that stored it
        self.downloaded = 0
        self.resumed_rows = 0  # rows found from earlier runs
        self._retry_failed = retry_failed
        self._open_rows: list[dict[str, Any]] = []
        self._handle: TextIO | None = None  # append handle of the open shard
        self._media_dirs: set[str] = set()  # media/<aa> folders known to exist
        self._started = datetime.now(UTC)
        self._load()

    # ---- loading -------------------------------------------------------------------------------
    def _shards(self) -> list[Path]:
        return sorted(self.manifests.glob(f"{self.prefix}-[0-9][0-9][0-9][0-9][0-9]{SHARD_SUFFIX}"))

    def _load(self) -> None:
        shards = self._shards()
        self.index = 0
        for shard in shards:
            rows, good = _read_jsonl(shard)
            index = int(shard.name.removesuffix(SHARD_SUFFIX).rsplit("-", 1)[1])
            if stats_path(shard).exists():
                self.index = max(self.index, index + 1)
            else:  # the open shard of a previous run: keep its complete rows, drop a torn tail
                if good != shard.stat().st_size:
                    with shard.open("r+b") as handle:
                        handle.truncate(good)
                self._open_rows = rows
                self.index = index
            for row in rows:
                self._register(row)
            self.resumed_rows += len(rows)

    def _register(self, row: dict[str, Any]) -> None:
        status = row.get("status")
        keys = [k for k in (row.get("key"), row.get("ref_key")) if k]
        if status == "failed" and self._retry_failed:
            self.done.difference_update(keys)
            return
        self.done.update(keys)
        if status == "downloaded":
            self.downloaded += 1
            if row.get("sha256"):
                self.shas.setdefault(row["sha256"], row.get("key") or "")

    # ---- queries -------------------------------------------------------------------------------
    def is_done(self, *keys: str | None) -> bool:
        with self._lock:
            return any(k in self.done for k in keys if k)

    # ---- writing -------------------------------------------------------------------------------
    @property
    def shard_path(self) -> Path:
        return self.manifests / f"{shard_name(self.prefix, self.index)}{SHARD_SUFFIX}"

    def store_media(self, part: Path, sha256: str, ext: str) -> str:
        """Move a complete temp file to media/<sha[:2]>/<sha><ext>; returns the path relative to the folder."""
        target = self.media / sha256[:2] / f"{sha256}{ext}"
        if sha256[:2] not in self._media_dirs:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._media_dirs.add(sha256[:2])
        os.replace(part, target)
        return target.relative_to(self.out).as_posix()

    def record(self, video: RawVideo, key: str, ref_key: str | None = None, **extra: Any) -> dict[str, Any]:
        """Append one row to the open shard (fsynced unless disabled), mark its keys done, seal the shard when full."""
        row = video.model_dump(mode="json")
        row.update(key=key, ref_key=ref_key or key, **extra)
        line = json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n"
        fd = None
        with self._lock:
            if self._handle is None:
                self._handle = self.shard_path.open("a", encoding="utf-8")
            self._handle.write(line)
            self._handle.flush()
            if self.fsync:
                fd = os.dup(self._handle.fileno())
            self._open_rows.append(row)
            self._register(row)
            if len(self._open_rows) >= self.shard_size:
                self.seal()
        if fd is not None:  # outside the lock: other threads keep reading the state meanwhile
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        return row

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None

    def claim_sha(self, sha256: str, key: str) -> str | None:
        """Reserve `sha256` for `key`; returns the key that already holds it, if any."""
        with self._lock:
            holder = self.shas.get(sha256)
            if holder is None:
                self.shas[sha256] = key
            return holder

    def seal(self, **stats: Any) -> Path | None:
        """Write the open shard's stats file (making it done) and start a new shard; None if empty."""
        with self._lock:
            if not self._open_rows:
                return None
            self.close()  # the shard file is replaced by its complete, atomically written copy
            shard = write_shard(self.manifests, self.prefix, self.index, self._open_rows,
                                {**shard_stats(self._open_rows), "start_time": self._started.isoformat(),
                                 "end_time": datetime.now(UTC).isoformat(), **stats})
            self._open_rows = []
            self.index += 1
            self._started = datetime.now(UTC)
            return shard


def shard_stats(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts of a shard's rows: by status, platform and failure reason, plus bytes downloaded."""
    statuses = Counter(r.get("status") for r in rows)
    return {
        "count": len(rows),
        "successes": statuses.get("downloaded", 0),
        "failed": statuses.get("failed", 0),
        "skipped": statuses.get("skipped", 0),
        "bytes_downloaded": sum(r.get("bytes") or 0 for r in rows if r.get("status") == "downloaded"),
        "platforms": dict(Counter(r.get("platform") for r in rows)),
        "status_dict": dict(Counter(r.get("reason") for r in rows if r.get("reason")).most_common(50)),
    }

