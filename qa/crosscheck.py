"""Cross-check planning: draw per-group sets of one previous label for stages sA / sB and exchange them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from core.errors import ConfigError
from core.taxonomy import Category

# Sets per category and stage, in the paper's set order (this order fixes the index i of Eq. 2 / 3).
DEFAULT_LAYOUT: dict[str, int] = {
    Category.NEUTRAL.value: 3, Category.EXCITATION.value: 2, Category.SADNESS.value: 1,
    Category.RELAXATION.value: 1, Category.TENSION.value: 1, Category.FEAR.value: 1,
}
PLAN_COLUMNS = ["stage", "group", "origin_group", "set_id", "set_category", "item", "previous_label"]


def exchange_mapping(groups: Sequence[str], spec: str | Mapping[str, str] = "cyclic") -> dict[str, str]:
    """origin group -> re-labelling group. 'cyclic' sends A->B->C->A; or an explicit 'A=B,B=C,C=A' / dict.

    Every group must receive from exactly one other group (a permutation without fixed points).
    """
    groups = sorted(groups)
    if spec == "cyclic":
        if len(groups) < 2:
            raise ConfigError("cross-check needs at least two groups")
        return {g: groups[(i + 1) % len(groups)] for i, g in enumerate(groups)}
    if isinstance(spec, str):
        try:
            mapping = dict(part.split("=", 1) for part in spec.replace(" ", "").split(","))
        except ValueError:
            raise ConfigError(f"exchange mapping {spec!r}: expected 'cyclic' or 'A=B,B=C,C=A'") from None
    else:
        mapping = dict(spec)
    if sorted(mapping) != groups or sorted(mapping.values()) != groups:
        raise ConfigError(f"exchange mapping {mapping}: must send each of {', '.join(groups)} to exactly one group")
    if any(k == v for k, v in mapping.items()):
        raise ConfigError(f"exchange mapping {mapping}: a group may not re-label its own sets")
    return mapping


def plan_crosscheck(
    labels: pd.DataFrame,
    *,
    set_size: int = 100,
    layout: Mapping[str, int] | None = None,
    stages: Sequence[str] = ("sA", "sB"),
    exchange: str | Mapping[str, str] = "cyclic",
    seed: int = 0,
) -> tuple[pd.DataFrame, list[str]]:
    """Draw disjoint sets per (origin group, category) and assign them to re-labelling groups.

    `labels` has columns item, group, label (the group's majority result; "more" samples are never drawn).
    When a category holds fewer than sets x set_size samples, its sets shrink to an equal smaller size and a
    warning says so. Returns the plan (PLAN_COLUMNS, one row per sample) and the warnings.
    """
    layout = dict(layout or DEFAULT_LAYOUT)
    if set_size < 1:
        raise ConfigError("cross-check set size must be at least 1")
    usable = labels[labels["label"].isin(list(layout))]
    if usable.empty:
        raise ConfigError("cross-check planning: no labelled samples (every result is 'more' or the table is empty)")
    groups = sorted(labels["group"].astype(str).unique())
    mapping = exchange_mapping(groups, exchange)
    rng = np.random.default_rng(seed)
    rows, warnings = [], []
    for group in groups:
        mine = usable[usable["group"].astype(str) == group]
        for category, per_stage in layout.items():
            pool = mine.loc[mine["label"] == category, "item"].to_numpy()
            pool = pool[rng.permutation(len(pool))]
            needed = per_stage * len(stages)
            size = min(set_size, len(pool) // needed) if needed else 0
            if size < set_size and needed:
                how = f"sets of {size}" if size else "no sets"
                warnings.append(f"group {group}: {len(pool)} {category} samples for {needed} sets of {set_size}: {how}")
            if size == 0:
                continue
            for s, stage in enumerate(stages):
                for n in range(per_stage):
                    start = (s * per_stage + n) * size
                    set_id = f"{stage}-{group}-{category}-{n + 1}"
                    for item in pool[start:start + size]:
                        rows.append((stage, mapping[group], group, set_id, category, item, category))
    return pd.DataFrame(rows, columns=PLAN_COLUMNS), warnings


def plan_summary(plan: pd.DataFrame) -> pd.DataFrame:
    """Sets and samples per stage, re-labelling group and category."""
    return (plan.groupby(["stage", "group", "origin_group", "set_category"], sort=True)
            .agg(sets=("set_id", "nunique"), samples=("item", "size")).reset_index())
