"""Cross-check planning: draw per-group sets of one previous label for stages sA / sB and exchange them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from core.crosscheck import DEFAULT_LAYOUT, draw_sets
from core.errors import ConfigError
from core.groups import exchange_partners

__all__ = ["DEFAULT_LAYOUT", "PLAN_COLUMNS", "exchange_mapping", "plan_crosscheck", "plan_summary"]

PLAN_COLUMNS = ["stage", "group", "origin_group", "set_id", "set_category", "item", "previous_label"]


def exchange_mapping(groups: Sequence[str], spec: str | Mapping[str, str] = "cyclic") -> dict[str, str]:
    """origin group -> re-labelling group. 'cyclic' sends A->B->C->A; or an explicit 'A:B,B:C,C:A' / dict.

    Every group must receive from exactly one other group (a permutation without fixed points). The
    older 'A=B' form is still read, with a DeprecationWarning.
    """
    return exchange_partners(groups, spec, complete=True)


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
    The sampling is the app's (core.crosscheck.draw_sets): when a category holds fewer than sets x set_size
    samples, every stage gets an equal share, spread evenly over its sets, and a warning says so. Returns
    the plan (PLAN_COLUMNS, one row per sample) and the warnings.
    """
    layout = dict(layout or DEFAULT_LAYOUT)
    if not labels["label"].isin(list(layout)).any():
        raise ConfigError("cross-check planning: no labelled samples (every result is 'more' or the table is empty)")
    mapping = exchange_mapping(labels["group"].astype(str).unique().tolist(), exchange)
    triples = zip(labels["item"].astype(str), labels["group"].astype(str), labels["label"], strict=True)
    sets, warnings = draw_sets(triples, mapping, stages=list(stages), set_size=set_size, layout=layout, seed=seed)
    rows = [(s.stage, s.target_group, s.origin_group, s.set_id, s.category, item, s.category)
            for s in sets for item in s.items]
    return pd.DataFrame(rows, columns=PLAN_COLUMNS), warnings


def plan_summary(plan: pd.DataFrame) -> pd.DataFrame:
    """Sets and samples per stage, re-labelling group and category."""
    return (plan.groupby(["stage", "group", "origin_group", "set_category"], sort=True)
            .agg(sets=("set_id", "nunique"), samples=("item", "size")).reset_index())
