"""Stratified, seeded train/val/test splits that keep every near-duplicate group inside one split."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import pandas as pd

from core.errors import ConfigError
from dataset.variants import draw_keys, largest_remainder

SPLIT_ORDER = ("train", "val", "test")
# Split names as public datasets spell them (matched lower-case) -> ours; the one list, the importer uses it too.
SPLIT_ALIASES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
                 "dev": "val", "test": "test", "testing": "test"}


def split_targets(counts: Mapping[str, int], ratios: Mapping[str, float]) -> dict[str, dict[str, int]]:
    """Category -> split -> number of samples: each category divided by largest remainder over the ratios.

    A category with at least one sample per (non-empty) split gets at least one in each, taken from the
    largest split, so that small categories are still evaluated.
    """
    weights = {s: round(r * 1_000_000) for s, r in ratios.items()}
    wanted = [s for s, w in weights.items() if w > 0]
    out: dict[str, dict[str, int]] = {}
    for cat, n in counts.items():
        target = largest_remainder(weights, n)
        if n >= len(wanted):
            for split in wanted:
                if target[split] == 0:
                    target[max(target, key=lambda k: target[k])] -= 1
                    target[split] = 1
        out[cat] = target
    return out


def assign_splits(table: pd.DataFrame, ratios: Mapping[str, float], seed: int) -> pd.Series:
    """Split name per row of `table` (needs sample_id, category and optionally group).

    Groups are placed whole, biggest first, then in seeded random order; each goes to the split whose
    members' categories are furthest below their targets (relative to the target). With no multi-sample
    group every category matches its largest-remainder target exactly.
    """
    if table.empty:
        return pd.Series([], dtype=object, index=table.index)
    groups = table["group"].astype(str) if "group" in table.columns else table["sample_id"].astype(str)
    counts = table["category"].value_counts().to_dict()
    targets = split_targets(counts, ratios)
    names = [s for s in SPLIT_ORDER if s in ratios]
    current = {c: dict.fromkeys(names, 0) for c in counts}

    members: dict[str, list[int]] = {}
    for pos, g in enumerate(groups.tolist()):
        members.setdefault(g, []).append(pos)
    group_names = list(members)
    keys = draw_keys(group_names, seed, "split").tolist()
    sizes = [len(members[g]) for g in group_names]
    order = sorted(range(len(group_names)), key=lambda i: (-sizes[i], keys[i], group_names[i]))
    cats = table["category"].tolist()
    result: list[str | None] = [None] * len(table)
    for i in order:
        rows = members[group_names[i]]
        if len(rows) == 1:  # the common case, kept cheap
            c = cats[rows[0]]
            need = {c: 1}
        else:
            need = Counter(cats[r] for r in rows)
        best, best_score = names[0], None
        for s in names:
            score = 0.0
            for c, k in need.items():
                t = targets[c][s]
                score += k * ((t - current[c][s]) / t if t else -1.0)
            if best_score is None or score > best_score:
                best, best_score = s, score
        for c, k in need.items():
            current[c][best] += k
        for r in rows:
            result[r] = best
    return pd.Series(result, index=table.index, dtype=object)


def given_splits(table: pd.DataFrame, column: str, source: str = "labels") -> pd.Series:
    """Splits taken from a column (train/val/test and common spellings); ConfigError on anything else."""
    if column not in table.columns:
        raise ConfigError(f"{source}: no column {column!r} to take splits from", remedy="fix split_column")
    raw = table[column].astype(str).str.strip().str.lower()
    mapped = raw.map(SPLIT_ALIASES)
    if mapped.isna().any():
        bad = raw[mapped.isna()].iloc[0]
        raise ConfigError(f"{source}: split value {bad!r} in column {column!r}", remedy="use train, val or test")
    return mapped.astype(object)


def straddling_groups(table: pd.DataFrame) -> list[str]:
    """Groups whose members sit in more than one split (should be empty)."""
    if "group" not in table.columns:
        return []
    per = table.groupby("group")["split"].nunique()
    return sorted(per[per > 1].index.astype(str))


def split_table(counts_by: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Split -> category -> count, for stats and the card."""
    out: dict[str, dict[str, int]] = {}
    for (split, cat), n in counts_by.groupby(["split", "category"]).size().items():
        out.setdefault(str(split), {})[str(cat)] = int(n)
    return {s: out[s] for s in SPLIT_ORDER if s in out}
