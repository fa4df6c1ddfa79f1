"""Inter-rater agreement over tidy votes: Fleiss (or Gwet's generalisation), per-category kappa, Randolph,
Gwet AC1, Krippendorff's alpha (nominal), Cohen pairs and the category coincidence matrix."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pandas as pd

from core.errors import ConfigError
from core.taxonomy import CATEGORIES
from qa.sources import category_codes

N_CATEGORIES = len(CATEGORIES)


def count_table(votes: pd.DataFrame, *, item: str = "item", category: str = "category") -> tuple[np.ndarray, pd.Index]:
    """Item x category counts n_ij (columns in taxonomy order, always all six) and the item labels."""
    codes, items = pd.factorize(votes[item], sort=False)
    cats = category_codes(votes[category])
    flat = np.bincount(codes * N_CATEGORIES + cats, minlength=len(items) * N_CATEGORIES)
    return flat.reshape(len(items), N_CATEGORIES), pd.Index(items, name=item)


def _nan_to_none(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def fleiss_equal(counts: np.ndarray) -> dict[str, float]:
    """Fleiss (1971) and Randolph kappa via statsmodels for a table with the same number of raters per row."""
    from statsmodels.stats.inter_rater import fleiss_kappa

    counts = np.asarray(counts, dtype=float)
    n_sub = counts.shape[0]
    n = counts.sum(axis=1)[0]
    p_j = counts.sum(axis=0) / counts.sum()
    p_bar = float(((counts * counts).sum(axis=1) - n).mean() / (n * (n - 1)))
    p_e = float((p_j * p_j).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = float(fleiss_kappa(counts, method="fleiss")) if p_e < 1 else math.nan
        randolph = float(fleiss_kappa(counts, method="randolph"))
        pq = p_j * (1 - p_j)
        # Fleiss, Nee & Landis (1979) standard error under H0: kappa = 0 (a test, not a CI).
        se0 = math.sqrt(2 / (n_sub * n * (n - 1))) * math.sqrt(pq.sum() ** 2 - (pq * (1 - 2 * p_j)).sum()) / pq.sum()
    return {"kappa": kappa, "randolph": randolph, "observed": p_bar, "expected": p_e,
            "se0": se0, "z": kappa / se0 if se0 > 0 else math.nan}


def gwet_generalised(counts: np.ndarray, q: int | None = None) -> dict[str, float]:
    """Fleiss, Randolph and AC1 with Gwet's handling of unequal raters r_i per item.

    p_a = mean over items with r_i >= 2 of sum_k r_ik (r_ik - 1) / (r_i (r_i - 1));
    pi_k = mean over items with r_i >= 1 of r_ik / r_i.
    """
    counts = np.asarray(counts, dtype=float)
    q = q or counts.shape[1]
    r = counts.sum(axis=1)
    pairable = r >= 2
    if not pairable.any():
        raise ConfigError("agreement needs at least one item with two or more ratings")
    rp = r[pairable]
    p_a = float(((counts[pairable] * (counts[pairable] - 1)).sum(axis=1) / (rp * (rp - 1))).mean())
    rated = r >= 1
    pi = (counts[rated] / r[rated, None]).mean(axis=0)
    pe_fleiss = float((pi * pi).sum())
    pe_ac1 = float((pi * (1 - pi)).sum() / (q - 1))
    return {
        "kappa": (p_a - pe_fleiss) / (1 - pe_fleiss) if pe_fleiss < 1 else math.nan,
        "randolph": (p_a - 1 / q) / (1 - 1 / q),
        "ac1": (p_a - pe_ac1) / (1 - pe_ac1),
        "observed": p_a,
        "expected": pe_fleiss,
    }


def per_category_kappa(counts: np.ndarray) -> np.ndarray:
    """kappa_j = 1 - sum_i n_ij (r_i - n_ij)/(r_i - 1) / (sum_i r_i p_j q_j) over items with r_i >= 2.

    With equal r_i = n this is Fleiss' (1971) per-category kappa; nan for a category nobody (or everybody) chose.
    """
    counts = np.asarray(counts, dtype=float)
    r = counts.sum(axis=1)
    keep = r >= 2
    counts, r = counts[keep], r[keep]
    p = counts.sum(axis=0) / r.sum()
    disagreement = (counts * (r[:, None] - counts) / (r[:, None] - 1)).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1 - disagreement / (r.sum() * p * (1 - p))


def krippendorff_nominal(counts: np.ndarray) -> float:
    """Krippendorff's alpha (nominal) from item x category counts; items with < 2 ratings drop out."""
    import krippendorff

    counts = np.asarray(counts)
    counts = counts[counts.sum(axis=1) >= 2]
    if len(counts) == 0:
        return math.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(krippendorff.alpha(value_counts=counts, level_of_measurement="nominal"))


def coincidences(counts: np.ndarray) -> np.ndarray:
    """Category x category matrix of ordered rater pairs within items (how raters' categories co-occur)."""
    counts = np.asarray(counts, dtype=float)
    return counts.T @ counts - np.diag(counts.sum(axis=0))


def agreement_from_counts(counts: np.ndarray) -> dict:
    """Every agreement statistic of a count table (six category columns), as a JSON-ready dict."""
    counts = np.asarray(counts)
    r = counts.sum(axis=1)
    if len(r) == 0 or r.sum() == 0:
        raise ConfigError("agreement: no votes")
    if r.max() < 2:
        raise ConfigError("agreement needs at least two raters per item; every item has a single rating")
    equal = bool(r.min() == r.max())
    gen = gwet_generalised(counts)
    if equal:
        stats = fleiss_equal(counts)
        method = "fleiss"
    else:
        stats = dict(gen)
        stats.update(se0=math.nan, z=math.nan)
        method = "gwet-generalised"
    per_cat = per_category_kappa(counts)
    notes = []
    if not math.isfinite(stats["kappa"]):
        notes.append("Fleiss kappa undefined: every vote is in one category (expected agreement is 1)")
    if not equal:
        notes.append(f"raters per item vary ({int(r.min())}..{int(r.max())}): Gwet's generalised Fleiss kappa")
    return {
        "fleiss_kappa": _nan_to_none(stats["kappa"]),
        "fleiss_method": method,
        "krippendorff_alpha": _nan_to_none(krippendorff_nominal(counts)),
        "randolph_kappa": _nan_to_none(stats["randolph"]),
        "gwet_ac1": _nan_to_none(gen["ac1"]),
        "observed_agreement": _nan_to_none(stats["observed"]),
        "expected_agreement": _nan_to_none(stats["expected"]),
        "se0": _nan_to_none(stats["se0"]),
        "z": _nan_to_none(stats["z"]),
        "per_category": {c.value: _nan_to_none(k) for c, k in zip(CATEGORIES, per_cat, strict=True)},
        "n_items": len(r),
        "n_ratings": int(r.sum()),
        "raters_per_item": {"min": int(r.min()), "max": int(r.max())},
        "notes": notes,
    }


def agreement(votes: pd.DataFrame, *, by: str | None = None) -> dict:
    """Agreement of a votes table (item, rater, category); with `by`, also per value of that column."""
    counts, _ = count_table(votes)
    result = agreement_from_counts(counts)
    result["n_raters"] = int(votes["rater"].nunique())
    if by is not None:
        if by not in votes.columns:
            raise ConfigError(f"votes: cannot split by {by!r}: no such column (found: {', '.join(votes.columns)})")
        parts = {}
        for key, part in votes.groupby(by, sort=True, observed=True):
            try:
                parts[str(key)] = agreement(part)
            except ConfigError as exc:  # e.g. a group with a single rater: say so, keep the other groups
                parts[str(key)] = {"error": exc.message}
        result["by_" + by] = parts
    return result


def cohen_kappa(table: np.ndarray, weights: str | None = None) -> float:
    """Cohen's kappa of a k x k table (rows rater 1, columns rater 2) via statsmodels."""
    from statsmodels.stats.inter_rater import cohens_kappa

    return float(cohens_kappa(np.asarray(table, dtype=float), wt=weights, return_results=False))


def pairwise_cohen(votes: pd.DataFrame, min_common: int = 1) -> pd.DataFrame:
    """Cohen's kappa for every pair of raters on the items both rated (columns a, b, n_common, kappa)."""
    wide = votes.pivot(index="item", columns="rater", values="category")
    rows = []
    for a, b in combinations(sorted(wide.columns, key=str), 2):
        both = wide[[a, b]].dropna()
        if len(both) < min_common:
            continue
        table = np.zeros((N_CATEGORIES, N_CATEGORIES))
        np.add.at(table, (category_codes(both[a]), category_codes(both[b])), 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            kappa = cohen_kappa(table)
        rows.append({"a": a, "b": b, "n_common": len(both), "kappa": _nan_to_none(kappa)})
    return pd.DataFrame(rows, columns=["a", "b", "n_common", "kappa"])
