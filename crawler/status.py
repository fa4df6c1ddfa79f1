"""`crawl status`: counts of a crawl folder by platform and status, errors by reason, shards done/open."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from core.manifest import SHARD_SUFFIX, stats_path


def crawl_status(out: Path) -> dict[str, Any]:
    """Summary of every manifest row under `out/manifests` (sealed and open shards; last row per key wins)."""
    folder = Path(out) / "manifests"
    if not folder.is_dir():
        raise ConfigError(f"{out} is not a crawl folder (no manifests/ inside)", remedy="pass the --out of a crawl")
    latest: dict[str, dict[str, Any]] = {}
    sealed = opened = 0
    for shard in sorted(folder.glob(f"*{SHARD_SUFFIX}")):
        if stats_path(shard).exists():
            sealed += 1
        else:
            opened += 1
        with shard.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a torn last line of a shard still being written
                latest[row.get("key") or str(len(latest))] = row
    rows = list(latest.values())
    by_platform: dict[str, Counter[str]] = {}
    for row in rows:
        by_platform.setdefault(str(row.get("platform")), Counter())[str(row.get("status"))] += 1
    media = [p for p in (Path(out) / "media").rglob("*") if p.is_file()] if (Path(out) / "media").is_dir() else []
    return {
        "out": str(out),
        "videos": len(rows),
        "by_status": dict(Counter(str(r.get("status")) for r in rows)),
        "by_platform": {p: dict(c) for p, c in sorted(by_platform.items())},
        "errors": dict(Counter(str(r.get("reason")) for r in rows if r.get("status") == "failed").most_common()),
        "skips": dict(Counter(str(r.get("reason")) for r in rows if r.get("status") == "skipped").most_common()),
        "bytes": sum(r.get("bytes") or 0 for r in rows if r.get("status") == "downloaded"),
        "media_files": len(media),
        "shards": {"sealed": sealed, "open": opened},
        "partial_downloads": len(list((Path(out) / ".state" / "tmp").glob("*.part"))),
    }


def format_status(summary: dict[str, Any]) -> str:
    """The summary as a small human-readable table."""
    lines = [f"{summary['out']}: {summary['videos']} videos, {summary['bytes'] / 1e6:.1f} MB in "
             f"{summary['media_files']} files; shards {summary['shards']['sealed']} sealed, "
             f"{summary['shards']['open']} open"]
    statuses = ("downloaded", "failed", "skipped")
    lines.append(f"{'platform':<24}" + "".join(f"{s:>12}" for s in statuses))
    for platform, counts in summary["by_platform"].items():
        lines.append(f"{platform:<24}" + "".join(f"{counts.get(s, 0):>12}" for s in statuses))
    for title, key in (("errors", "errors"), ("skips", "skips")):
        if summary[key]:
            lines.append(f"{title}: " + ", ".join(f"{k} {v}" for k, v in summary[key].items()))
    return "\n".join(lines)
