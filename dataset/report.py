"""Reading a built dataset back: its variants' statistics, printed as the paper's Tables II and III."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from dataset.recipe import VARIANTS
from dataset.stats import splits_markdown, table_ii_markdown, table_iii_markdown


def load_stats(path: Path | str) -> dict[str, dict[str, Any]]:
    """Variant -> stats.json content, for a dataset folder (with variant sub-folders) or one variant folder."""
    root = Path(path)
    if (root / "stats.json").exists():
        folders = {root.name: root}
    else:
        folders = {v: root / v for v in VARIANTS if (root / v / "stats.json").exists()}
    if not folders:
        raise ConfigError(f"{root}: not a built dataset (no stats.json found)",
                          remedy="point at datasets/<name>/<version> or one of its variant folders")
    out = {}
    for name, folder in folders.items():
        try:
            out[name] = json.loads((folder / "stats.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{folder / 'stats.json'}: unreadable ({exc})") from None
    return out


def stats_text(path: Path | str, *, as_json: bool = False) -> str:
    """The statistics of every variant as Markdown tables (or JSON)."""
    data = load_stats(path)
    if as_json:
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)
    parts = []
    for name, stats in data.items():
        parts += [f"## {name} ({stats['samples']:,} samples)", "", "Table II — per category", "",
                  table_ii_markdown(stats["table_ii"]), "", "Table III — per platform", "",
                  table_iii_markdown(stats["table_iii"]), "", "Splits", "", splits_markdown(stats["splits"]), ""]
        shortfalls = stats.get("shortfalls") or {}
        for cat, s in shortfalls.items():
            parts.append(f"shortfall: {cat} asked {s['asked']:,}, available {s['available']:,}")
        if shortfalls:
            parts.append("")
    return "\n".join(parts).rstrip() + "\n"
