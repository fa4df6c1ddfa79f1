"""Dataset statistics: the paper's Table II (per category) and Table III (per platform), and their figures."""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from dataset.vocab import EMOTIONS

SHORT_CLIP_S = 30.0
TOP_TOPICS = 20  # the paper reports the share of clips up to 30 s (Fig. 5c)


def _frames(table: pd.DataFrame) -> pd.Series:
    """Frames per clip: `n_frames` when cleaning recorded it, else duration x fps (NaN when unknown)."""
    if "n_frames" in table.columns:
        given = pd.to_numeric(table["n_frames"], errors="coerce")
    else:
        given = pd.Series(np.nan, index=table.index)
    fps = pd.to_numeric(table["fps"], errors="coerce") if "fps" in table.columns else np.nan
    estimate = (pd.to_numeric(table["duration_s"], errors="coerce") * fps).round()
    return given.fillna(estimate)


def _row(name: str, dur: pd.Series, frames: pd.Series, n: int) -> dict[str, Any]:
    d = dur.dropna()
    f = frames.dropna()
    return {
        "category": name,
        "videos": int(n),
        "total_s": round(float(d.sum()), 2) if len(d) else None,
        "shortest_s": round(float(d.min()), 2) if len(d) else None,
        "longest_s": round(float(d.max()), 2) if len(d) else None,
        "average_s": round(float(d.mean()), 2) if len(d) else None,
        "frames": int(f.sum()) if len(f) else None,
    }


def table_ii(table: pd.DataFrame, names: Sequence[str] = EMOTIONS.names) -> list[dict[str, Any]]:
    """Per category (class order) and Overall: videos, total/shortest/longest/average seconds, frames."""
    dur = pd.to_numeric(table["duration_s"], errors="coerce")
    frames = _frames(table)
    rows = []
    for cat in names:
        mask = table["category"].eq(cat)
        rows.append(_row(cat, dur[mask], frames[mask], int(mask.sum())))
    rows.append(_row("Overall", dur, frames, len(table)))
    return rows


def table_iii(raw: pd.DataFrame | None, labelled: pd.DataFrame) -> list[dict[str, Any]]:
    """Per platform: count and share among raw videos (the clean manifest) and labelled ones (this variant)."""
    def counts(frame: pd.DataFrame) -> pd.Series:
        return frame["platform"].fillna("unknown").astype(str).replace("", "unknown").value_counts()

    lab = counts(labelled)
    raw_c = counts(raw) if raw is not None else pd.Series(dtype=int)
    platforms = sorted(set(lab.index) | set(raw_c.index))
    rows = []
    for kind, series in (("raw", raw_c), ("labelled", lab)):
        total = int(series.sum())
        if kind == "raw" and raw is None:
            continue
        per = {p: {"count": int(series.get(p, 0)),
                   "ratio": round(100.0 * int(series.get(p, 0)) / total, 2) if total else 0.0} for p in platforms}
        rows.append({"data": kind, "platforms": per, "sum": total})
    return rows


def duration_summary(table: pd.DataFrame) -> dict[str, Any]:
    """Histogram counts (10 s bins) and the share of clips of at most 30 s."""
    dur = pd.to_numeric(table["duration_s"], errors="coerce").dropna()
    if dur.empty:
        return {"known": 0, "share_le_30s": None, "bins_s": [], "counts": []}
    top = max(10.0, float(np.ceil(dur.max() / 10.0) * 10.0))
    edges = np.arange(0.0, top + 10.0, 10.0)
    counts, _ = np.histogram(dur.to_numpy(), bins=edges)
    return {
        "known": len(dur),
        "share_le_30s": round(100.0 * float((dur <= SHORT_CLIP_S).mean()), 2),
        "bins_s": [int(e) for e in edges.tolist()],
        "counts": [int(c) for c in counts.tolist()],
    }


def topics(table: pd.DataFrame, top: int = TOP_TOPICS) -> list[list[Any]]:
    """The most frequent hashtags (lower-case, without '#') as [tag, videos] pairs — Fig. 5a's data."""
    if "hashtags" not in table.columns:
        return []
    counter: Counter[str] = Counter()
    for value in table["hashtags"].tolist():
        if isinstance(value, str):
            items = re.split(r"[#,;\s]+", value)
        elif isinstance(value, list | tuple | np.ndarray):
            items = [str(v) for v in value]
        else:
            continue
        counter.update({t.strip().lstrip("#").lower() for t in items if t and t.strip().lstrip("#")})
    return [[tag, n] for tag, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]


def compute(table: pd.DataFrame, raw: pd.DataFrame | None = None,
            names: Sequence[str] = EMOTIONS.names) -> dict[str, Any]:
    """Every statistic of one variant (JSON-ready): tables II/III, durations, splits x categories."""
    splits: dict[str, dict[str, int]] = {}
    if "split" in table.columns and len(table):
        for (s, c), n in table.groupby(["split", "category"]).size().items():
            splits.setdefault(str(s), {})[str(c)] = int(n)
    return {
        "samples": len(table),
        "categories": list(names),
        "table_ii": table_ii(table, names),
        "table_iii": table_iii(raw, table),
        "durations": duration_summary(table),
        "topics": topics(table),
        "splits": {s: {c: splits.get(s, {}).get(c, 0) for c in names}
                   for s in ("train", "val", "test") if s in splits},
    }


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def table_ii_markdown(rows: list[dict[str, Any]]) -> str:
    """Table II as Markdown (seconds and frames as plain numbers, not 10^4)."""
    lines = ["| Category | Videos | Total (s) | Shortest (s) | Longest (s) | Average (s) | Frames |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        name = f"**{r['category']}**" if r["category"] == "Overall" else r["category"]
        lines.append(f"| {name} | {_fmt(r['videos'])} | {_fmt(r['total_s'])} | {_fmt(r['shortest_s'])} | "
                     f"{_fmt(r['longest_s'])} | {_fmt(r['average_s'])} | {_fmt(r['frames'])} |")
    return "\n".join(lines)


def table_iii_markdown(rows: list[dict[str, Any]]) -> str:
    """Table III as Markdown: one No./Ratio column pair per platform."""
    if not rows:
        return "_no platform information_"
    platforms = list(rows[0]["platforms"])
    head = "| Data | " + " | ".join(f"{p} No. | {p} Ratio" for p in platforms) + " | Sum |"
    sep = "|---|" + "---:|---:|" * len(platforms) + "---:|"
    lines = [head, sep]
    for r in rows:
        cells = " | ".join(f"{_fmt(r['platforms'][p]['count'])} | {r['platforms'][p]['ratio']:.2f}%" for p in platforms)
        lines.append(f"| {r['data'].capitalize()} | {cells} | {_fmt(r['sum'])} |")
    return "\n".join(lines)


def splits_markdown(splits: dict[str, dict[str, int]]) -> str:
    """Split x category counts as Markdown."""
    if not splits:
        return "_no splits_"
    order = ("train", "val", "test")
    names = [s for s in order if s in splits] + [s for s in splits if s not in order]
    lines = ["| Category | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for cat in splits[names[0]]:
        lines.append(f"| {cat} | " + " | ".join(_fmt(splits[s].get(cat, 0)) for s in names) + " |")
    lines.append("| **Overall** | " + " | ".join(_fmt(sum(splits[s].values())) for s in names) + " |")
    return "\n".join(lines)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    # No software/date metadata, so the same data gives the same bytes.
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    return buf.getvalue()


def render_figures(stats: dict[str, Any]) -> dict[str, bytes]:
    """Category distribution, duration histogram (Fig. 5c) and, with hashtags, top topics (Fig. 5a) as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written: dict[str, bytes] = {}
    cats = [r for r in stats["table_ii"] if r["category"] != "Overall"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    names = [r["category"] for r in cats]
    values = [r["videos"] for r in cats]
    bars = ax.bar(names, values, color="#4c72b0")
    ax.bar_label(bars, labels=[f"{v:,}" for v in values], fontsize=8)
    ax.set_ylabel("videos")
    ax.set_title("Videos per category")
    fig.subplots_adjust(left=0.12, right=0.97, top=0.9, bottom=0.15)
    written["category_distribution.png"] = _png(fig)
    plt.close(fig)

    dur = stats["durations"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    if dur["counts"]:
        edges = dur["bins_s"]
        ax.bar(edges[:-1], dur["counts"], width=9.0, align="edge", color="#55a868")
        ax.set_title(f"Duration distribution ({dur['share_le_30s']:.2f}% of clips ≤ 30 s)")
    else:
        ax.set_title("Duration distribution (no durations known)")
    ax.set_xlabel("duration (s)")
    ax.set_ylabel("videos")
    fig.subplots_adjust(left=0.12, right=0.97, top=0.9, bottom=0.15)
    written["duration_distribution.png"] = _png(fig)
    plt.close(fig)

    if stats.get("topics"):
        tags = stats["topics"][::-1]
        fig, ax = plt.subplots(figsize=(6, 0.25 * len(tags) + 1.2))
        ax.barh([t for t, _ in tags], [n for _, n in tags], color="#c44e52")
        ax.set_xlabel("videos")
        ax.set_title("Most frequent topics (hashtags)")
        fig.subplots_adjust(left=0.3, right=0.97, top=0.9, bottom=0.12)
        written["topics.png"] = _png(fig)
        plt.close(fig)
    return written
