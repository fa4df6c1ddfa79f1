"""Variant selection (all / balanced / test): seeded, order-independent sampling and largest-remainder quotas."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dataset.vocab import EMOTIONS


def draw_keys(ids: pd.Series | list[str], seed: int, purpose: str) -> np.ndarray:
    """A seeded pseudo-random uint64 per id (BLAKE2b of seed, purpose and id).

    Keys depend only on the id, so a draw does not change when the input rows are reordered, and it is
    the same on every platform and library version.
    """
    salt = f"{seed}:{purpose}:".encode()
    values = ids.tolist() if isinstance(ids, pd.Series) else list(ids)
    out = np.empty(len(values), dtype=np.uint64)
    for i, sid in enumerate(values):
        digest = hashlib.blake2b(salt + str(sid).encode(), digest_size=8).digest()
        out[i] = int.from_bytes(digest, "big")
    return out


def largest_remainder(counts: Mapping[str, int], total: int) -> dict[str, int]:
    """Split `total` over the keys of `counts` in proportion to them, summing exactly to `total`.

    Each key gets the floor of its exact quota; the units left go to the largest remainders (ties:
    key order). Integer arithmetic only, so no float ties. Quotas never exceed the counts when
    `total` <= sum(counts).
    """
    keys = list(counts)
    n = sum(counts.values())
    if n == 0 or total <= 0:
        return dict.fromkeys(keys, 0)
    base = {k: counts[k] * total // n for k in keys}
    rem = {k: counts[k] * total % n for k in keys}
    left = total - sum(base.values())
    for k in sorted(keys, key=lambda k: (-rem[k], keys.index(k)))[:left]:
        base[k] += 1
    return base


@dataclass
class Selection:
    """The rows of one variant and how its per-category numbers came out."""

    table: pd.DataFrame
    asked: dict[str, int | None] = field(default_factory=dict)  # None: every sample of the category
    taken: dict[str, int] = field(default_factory=dict)
    shortfalls: dict[str, dict[str, int]] = field(default_factory=dict)  # category -> {asked, available}


def category_counts(table: pd.DataFrame, names: Sequence[str] = EMOTIONS.names) -> dict[str, int]:
    """Samples per category in class-index order (every category of `names` present, zero when empty)."""
    counts = table["category"].value_counts()
    return {n: int(counts.get(n, 0)) for n in names}


def _take(table: pd.DataFrame, quotas: Mapping[str, int | None], seed: int, purpose: str,
          names: Sequence[str]) -> Selection:
    if any(v is not None for v in quotas.values()):
        keys = draw_keys(table["sample_id"], seed, purpose)
    else:  # every sample is taken: no draw needed
        keys = np.zeros(len(table), dtype=np.uint64)
    ordered = table.assign(_key=keys).sort_values(["category", "_key", "sample_id"], kind="stable")
    available = category_counts(table, names)
    parts, taken, shortfalls = [], {}, {}
    for cat, rows in ordered.groupby("category", sort=True):
        want = quotas.get(cat)
        n = len(rows) if want is None else min(want, len(rows))
        if want is not None and want > len(rows):
            shortfalls[cat] = {"asked": int(want), "available": len(rows)}
        parts.append(rows.iloc[:n])
        taken[cat] = n
    chosen = pd.concat(parts) if parts else ordered.iloc[:0]
    chosen = chosen.drop(columns="_key").sort_values("sample_id", kind="stable").reset_index(drop=True)
    for cat, want in quotas.items():  # asked for a category that has no sample at all
        if want and not available.get(cat):
            shortfalls[cat] = {"asked": int(want), "available": 0}
    return Selection(
        table=chosen,
        asked={n: quotas.get(n) for n in names},
        taken={n: taken.get(n, 0) for n in names},
        shortfalls=dict(sorted(shortfalls.items())),
    )


def select_all(table: pd.DataFrame, names: Sequence[str] = EMOTIONS.names) -> Selection:
    """Every resolved sample."""
    return _take(table, {}, 0, "all", names)


def select_balanced(table: pd.DataFrame, targets: Mapping[str, int], seed: int,
                    names: Sequence[str] = EMOTIONS.names) -> Selection:
    """`targets[c]` random samples of each named category, every sample of the others (all when short)."""
    return _take(table, dict(targets), seed, "balanced", names)


def select_test(table: pd.DataFrame, size: int, seed: int, names: Sequence[str] = EMOTIONS.names) -> Selection:
    """`size` random samples whose per-category counts are the largest-remainder shares of `table`."""
    counts = category_counts(table, names)
    total = sum(counts.values())
    quotas = largest_remainder(counts, min(size, total))
    sel = _take(table, quotas, seed, "test", names)
    sel.asked = {c: int(v) for c, v in largest_remainder(counts, size).items()} if total else sel.asked
    if size > total:
        sel.shortfalls["(total)"] = {"asked": int(size), "available": int(total)}
    return sel


SELECTORS = {
    "all": lambda table, balanced, test_size, seed, names: select_all(table, names),
    "balanced": lambda table, balanced, test_size, seed, names: select_balanced(table, balanced, seed, names),
    "test": lambda table, balanced, test_size, seed, names: select_test(table, test_size, seed, names),
}


def select(variant: str, table: pd.DataFrame, *, balanced: Mapping[str, int], test_size: int, seed: int,
           names: Sequence[str] = EMOTIONS.names) -> Selection:
    """The selection of `variant` (a key of SELECTORS) over the categories `names`."""
    try:
        selector = SELECTORS[variant]
    except KeyError:
        raise ValueError(f"unknown variant {variant!r}; known: {', '.join(SELECTORS)}") from None
    return selector(table, balanced, test_size, seed, names)
