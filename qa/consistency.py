"""Cross-check consistency: group results by unique plurality, per-set C_i / M_i / c_ij, S_a (Eq. 2),
S_r (Eq. 3, generalised to unequal set sizes) and consistency ratios per annotator and category."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.errors import ConfigError
from core.taxonomy import CATEGORIES
from qa.sources import category_codes

MORE = "more"
N_CATEGORIES = len(CATEGORIES)
AGREE_WEIGHT, DECISIVE_WEIGHT = 0.7, 0.3  # Eq. 3: paid for C_i and for a clear but different majority


def plurality(counts: np.ndarray) -> np.ndarray:
    """Winning column per row, or -1 where no single category has the top count with at least 2 votes."""
    counts = np.asarray(counts)
    top = counts.max(axis=1)
    winner = counts.argmax(axis=1)
    ties = (counts == top[:, None]).sum(axis=1) > 1
    return np.where((top >= 2) & ~ties, winner, -1)


def group_results(votes: pd.DataFrame, *, item: str = "item", label: str = "label") -> pd.Series:
    """Each item's group result: the unique-plurality category, or "more" (e.g. a 1-1-1 split)."""
    codes, items = pd.factorize(votes[item], sort=False)
    flat = np.bincount(codes * N_CATEGORIES + category_codes(votes[label]), minlength=len(items) * N_CATEGORIES)
    win = plurality(flat.reshape(len(items), N_CATEGORIES))
    names = np.array([c.value for c in CATEGORIES] + [MORE], dtype=object)
    return pd.Series(names[win], index=pd.Index(items, name=item), name="result")


def item_table(relabels: pd.DataFrame) -> pd.DataFrame:
    """One row per re-labelled sample: stage, group, set_id, set_category, previous_label, r, c, result."""
    keys = ["stage", "group", "set_id", "item"]
    frame = relabels
    # one code per (stage, set, item): combine the small factorisations instead of grouping on four string keys
    key = np.zeros(len(frame), dtype=np.int64)
    for col in ("stage", "set_id", "item"):
        col_codes, uniques = pd.factorize(frame[col], sort=False)
        key = key * len(uniques) + col_codes
    codes, _ = pd.factorize(key, sort=False)
    n_items = int(codes.max()) + 1
    flat = np.bincount(codes * N_CATEGORIES + category_codes(frame["label"]), minlength=n_items * N_CATEGORIES)
    counts = flat.reshape(n_items, N_CATEGORIES)
    first = np.full(n_items, -1)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    items = frame.iloc[first][[*keys, "set_category", "previous_label"]].reset_index(drop=True)
    prev = category_codes(items["previous_label"])
    items["r"] = counts.sum(axis=1)
    items["c"] = counts[np.arange(n_items), prev]
    win = plurality(counts)
    items["C"] = win == prev
    items["M"] = win == -1
    return items


def set_scores(relabels: pd.DataFrame) -> pd.DataFrame:
    """Per set: m, sum c_ij, ratings, C_i, M_i, the S_a term and s_i = 100 (0.7 C + 0.3 (m - C - M)) / m."""
    items = item_table(relabels)
    sets = items.groupby(["stage", "group", "set_id"], sort=True).agg(
        set_category=("set_category", "first"), m=("item", "size"), c=("c", "sum"), r=("r", "sum"),
        C=("C", "sum"), M=("M", "sum")).reset_index()
    owners = items.groupby("set_id")["group"].nunique()
    if (owners > 1).any():
        raise ConfigError(f"re-labels: set {owners[owners > 1].index[0]!r} is re-labelled by more than one group")
    sets["agree_share"] = sets["c"] / sets["r"]
    sets["s"] = 100 * (AGREE_WEIGHT * sets["C"] + DECISIVE_WEIGHT * (sets["m"] - sets["C"] - sets["M"])) / sets["m"]
    sets["w"] = 1 / sets.groupby(["stage", "group", "set_category"])["set_id"].transform("size")
    return sets


def _group_summary(sets: pd.DataFrame) -> dict:
    w = sets["w"].to_numpy()
    return {
        "S_a": float(sets["agree_share"].mean()),
        "S_r": float((w * sets["s"]).sum() / w.sum()),
        "mean_C_share": float((sets["C"] / sets["m"]).mean()),
        "mean_M_share": float((sets["M"] / sets["m"]).mean()),
        "n_sets": len(sets),
        "n_items": int(sets["m"].sum()),
        "per_category_s": {str(k): float(v) for k, v in sets.groupby("set_category")["s"].mean().items()},
    }


def spread(values) -> tuple[float, float]:
    """Mean and population variance (ddof = 0, as Sec. III-C's mu and sigma^2) of the groups' scores."""
    arr = np.asarray(list(values), dtype=float)
    return float(arr.mean()), float(arr.var(ddof=0))


def stage_consistency(sets: pd.DataFrame) -> dict:
    """S_a, S_r and components per group of one stage, plus mean and population variance over groups."""
    groups = {str(g): _group_summary(part) for g, part in sets.groupby("group", sort=True)}
    mean_r, var_r = spread(g["S_r"] for g in groups.values())
    mean_a, var_a = spread(g["S_a"] for g in groups.values())
    return {"groups": groups, "mean_S_r": mean_r, "var_S_r": var_r, "mean_S_a": mean_a, "var_S_a": var_a}


def consistency_ratios(relabels: pd.DataFrame) -> pd.DataFrame:
    """CR per annotator (rows) and set category (columns, plus 'overall'): share of re-labels = previous label."""
    agree = category_codes(relabels["label"]) == category_codes(relabels["previous_label"])
    frame = pd.DataFrame({"rater": relabels["rater"].to_numpy(), "category": relabels["set_category"], "agree": agree})
    table = frame.pivot_table(index="rater", columns="category", values="agree", aggfunc="mean", observed=True)
    table = table.reindex(columns=[c.value for c in CATEGORIES if c.value in table.columns])
    table["overall"] = frame.groupby("rater")["agree"].mean()
    return table


def consistency(relabels: pd.DataFrame, stage: str | None = None) -> dict:
    """The `qa consistency` result: one stage's groups (or every stage under "stages"), with CRs."""
    if stage is not None:
        relabels = relabels[relabels["stage"] == stage]
        if relabels.empty:
            raise ConfigError(f"re-labels: no rows for stage {stage!r}")
    sets = set_scores(relabels)
    stages = sorted(sets["stage"].unique())

    def one(st: str) -> dict:
        part = relabels[relabels["stage"] == st]
        result = {"stage": st, **stage_consistency(sets[sets["stage"] == st])}
        crs = consistency_ratios(part)
        result["consistency_ratios"] = {str(r): {c: _f(v) for c, v in row.items()} for r, row in crs.iterrows()}
        member_group = part.drop_duplicates("rater").set_index("rater")["group"]
        result["members"] = {str(r): str(g) for r, g in member_group.items()}
        return result

    if len(stages) == 1:
        return one(stages[0])
    return {"stages": {st: one(st) for st in stages}}


def _f(value: float) -> float | None:
    return None if pd.isna(value) else float(value)


def table_one(result: dict) -> pd.DataFrame:
    """Table I layout: one row per stage, columns (group, S_a) and (group, S_r)."""
    stages = result["stages"] if "stages" in result else {result["stage"]: result}
    rows = {}
    for st, res in stages.items():
        rows[st] = {(g, key): vals[key] for g, vals in res["groups"].items() for key in ("S_a", "S_r")}
    return pd.DataFrame.from_dict(rows, orient="index")
