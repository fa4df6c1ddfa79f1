"""Mean opinion score of label quality (5-point ACR): per-dataset MOS with item-level t intervals, votes
histogram, per-rater bias, rater agreement and a between-dataset test."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from core.errors import ConfigError

SCALE = {1: "Bad", 2: "Poor", 3: "Fair", 4: "Good", 5: "Excellent"}
CI_METHOD = ("Student t over item means (item = unit), t(1-a/2, n_items-1) * sd(item means) / sqrt(n_items)")


def t_interval(values, confidence: float = 0.95) -> tuple[float, float, float, float]:
    """(mean, sample SD with ddof = 1, low, high) of a Student t interval; nan bounds for fewer than 2 values."""
    from scipy.stats import t

    arr = np.asarray(values, dtype=float)
    mean = float(arr.mean())
    if len(arr) < 2:
        return mean, math.nan, math.nan, math.nan
    sd = float(arr.std(ddof=1))
    half = float(t.ppf(0.5 + confidence / 2, len(arr) - 1)) * sd / math.sqrt(len(arr))
    return mean, sd, mean - half, mean + half


def _alpha(frame: pd.DataFrame, level: str) -> float | None:
    import krippendorff

    wide = frame.pivot_table(index="rater", columns=["dataset", "item"], values="rating", aggfunc="first")
    data = wide.to_numpy(dtype=float)
    if data.shape[0] < 2 or ((~np.isnan(data)).sum(axis=0) >= 2).sum() == 0:
        return None
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            value = float(krippendorff.alpha(reliability_data=data, level_of_measurement=level,
                                             value_domain=[1, 2, 3, 4, 5]))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def mos_summary(ratings: pd.DataFrame, *, confidence: float = 0.95, clip: bool = True) -> dict:
    """Per-dataset MOS report from a ratings table (dataset, item, rater, rating 1..5)."""
    if ratings.empty:
        raise ConfigError("MOS: no ratings")
    datasets = {}
    item_means_all = {}
    grand = float(ratings["rating"].mean())
    for name, part in ratings.groupby("dataset", sort=True):
        item_means = part.groupby("item")["rating"].mean()
        item_means_all[str(name)] = item_means.to_numpy()
        mos, sd, low, high = t_interval(item_means, confidence)
        clipped = clip and math.isfinite(low) and (low < 1 or high > 5)
        if clip and math.isfinite(low):
            low, high = max(low, 1.0), min(high, 5.0)
        hist = part["rating"].value_counts().reindex(range(1, 6), fill_value=0)
        datasets[str(name)] = {
            "mos": mos, "sd_item_means": sd, "sd_votes": float(part["rating"].std(ddof=1)) if len(part) > 1 else None,
            "ci_low": low, "ci_high": high, "ci_clipped_to_scale": bool(clipped),
            "median": float(part["rating"].median()), "good_or_better": float((part["rating"] >= 4).mean()),
            "histogram": {str(k): int(v) for k, v in hist.items()},
            "n_items": len(item_means), "n_votes": len(part), "n_raters": int(part["rater"].nunique()),
            "rater_bias": {str(r): float(v - mos) for r, v in part.groupby("rater")["rating"].mean().items()},
        }
    result = {
        "scale": SCALE, "rated": "label quality: does the label fit the video", "confidence": confidence,
        "ci_method": CI_METHOD + (", clipped to [1, 5]" if clip else ""),
        "datasets": datasets, "grand_mean": grand,
        "rater_mean": {str(r): float(v) for r, v in ratings.groupby("rater")["rating"].mean().items()},
        "rater_agreement": {"krippendorff_alpha_ordinal": _alpha(ratings, "ordinal"),
                            "krippendorff_alpha_interval": _alpha(ratings, "interval")},
        "between_datasets": None,
    }
    groups = [v for v in item_means_all.values() if len(v) >= 2]
    if len(groups) >= 2:
        from scipy.stats import kruskal

        try:
            stat, p = kruskal(*groups)
            result["between_datasets"] = {"test": "Kruskal-Wallis on item means", "H": float(stat), "p": float(p)}
        except ValueError:
            result["between_datasets"] = None
    return result
