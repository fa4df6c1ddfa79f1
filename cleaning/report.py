"""Statistics of a cleaning output: status/reason counts, the paper's Tables II and III, and Fig. 5c."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from core.manifest import atomic_write_bytes, complete_shards, read_rows

HISTOGRAM = "duration_hist.png"


def load_rows(out: Path | str) -> list[dict[str, Any]]:
    """The final manifest rows of a cleaning output folder (ConfigError when there is none)."""
    folder = Path(out) / "manifest"
    if not folder.is_dir() or not complete_shards(folder):
        raise ConfigError(f"{out} holds no cleaning manifest", remedy="run `emotions clean run` first")
    return list(read_rows(folder))


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts by status and reason, per-platform raw vs kept (Table III) and kept-video statistics (Table II)."""
    kept = [r for r in rows if r["status"] == "kept"]
    durations = [float(r["duration_s"]) for r in kept if r.get("duration_s") is not None]
    frames = sum(round(float(r["duration_s"]) * float(r["fps"])) for r in kept
                 if r.get("duration_s") is not None and r.get("fps"))
    platforms: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = platforms.setdefault(row.get("platform") or "unknown", {"raw": 0, "kept": 0})
        entry["raw"] += 1
        entry["kept"] += row["status"] == "kept"
    for entry in platforms.values():
        entry["kept_rate"] = round(entry["kept"] / entry["raw"], 4) if entry["raw"] else 0.0
    table2 = {
        "count": len(kept),
        "total_s": round(sum(durations), 2),
        "shortest_s": round(min(durations), 2) if durations else None,
        "longest_s": round(max(durations), 2) if durations else None,
        "average_s": round(sum(durations) / len(durations), 2) if durations else None,
        "frames": frames,
    }
    return {
        "videos": len(rows),
        "status": dict(sorted(Counter(r["status"] for r in rows).items())),
        "reasons": dict(sorted(Counter(r["reason"] for r in rows if r.get("reason")).items())),
        "platforms": dict(sorted(platforms.items())),
        "table2": table2,
    }


def duration_histogram(rows: list[dict[str, Any]], target: Path, bins: int = 30) -> Path:
    """PNG histogram of kept durations (the paper's Fig. 5c), written atomically."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    durations = [float(r["duration_s"]) for r in rows if r["status"] == "kept" and r.get("duration_s") is not None]
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    ax.hist(durations, bins=bins, color="#4c72b0", edgecolor="white")
    ax.set_xlabel("duration (s)")
    ax.set_ylabel("videos")
    ax.set_title(f"Duration of kept videos (n = {len(durations)})")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return atomic_write_bytes(target, buf.getvalue())


def render_text(summary: dict[str, Any]) -> str:
    """The summary as aligned plain-text tables."""
    lines = [f"videos {summary['videos']}", "", "status"]
    lines += [f"  {k:<12} {v:>8}" for k, v in summary["status"].items()]
    if summary["reasons"]:
        lines += ["", "reasons"] + [f"  {k:<18} {v:>8}" for k, v in summary["reasons"].items()]
    lines += ["", "by platform (Table III)", f"  {'platform':<14} {'raw':>8} {'kept':>8} {'rate':>7}"]
    lines += [f"  {p:<14} {e['raw']:>8} {e['kept']:>8} {e['kept_rate']:>7.1%}" for p, e in summary["platforms"].items()]
    t = summary["table2"]
    lines += ["", "kept videos (Table II)"]
    lines += [f"  {k:<12} {'-' if v is None else v:>12}" for k, v in t.items()]
    return "\n".join(lines)
