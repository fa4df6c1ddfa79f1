"""Small synthetic QA inputs: member/leader/expert votes, cross-check re-labels and MOS ratings."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.taxonomy import CATEGORIES
from qa.consistency import plurality

NAMES = [c.value for c in CATEGORIES]
SHARE = np.array([11739, 954, 8795, 2214, 2090, 2204]) / 27996  # Table II, taxonomy order


def _vote(rng, truth: int, skill: float) -> int:
    return truth if rng.random() < skill else int(rng.integers(0, 6))


def votes(n_items: int = 120, seed: int = 0) -> pd.DataFrame:
    """Votes of 3 groups (3 members each) with the escalation ladder applied; app-like columns."""
    rng = np.random.default_rng(seed)
    skill = {f"{g}{k}": 0.55 + 0.1 * k for g in "abc" for k in range(1, 4)}
    rows = []
    for i in range(n_items):
        group = "ABC"[i % 3]
        truth = int(rng.choice(6, p=SHARE))
        cast = []
        for k in range(1, 4):
            rater = f"{group.lower()}{k}"
            cast.append(_vote(rng, truth, skill[rater]))
            rows.append((f"s{i}", rater, "member", group, "member", NAMES[cast[-1]], round(rng.uniform(0.3, 1), 1)))
        for stage, voter in (("leader", f"lead{group}"), ("exchange", "leadX"), ("expert", "expert")):
            counts = np.bincount(cast, minlength=6)[None, :]
            if plurality(counts)[0] >= 0:
                break
            cast.append(truth if stage == "expert" else _vote(rng, truth, 0.8))
            rows.append((f"s{i}", voter, stage, group if stage != "expert" else "", stage, NAMES[cast[-1]], 0.8))
    return pd.DataFrame(rows, columns=["item", "rater", "role", "group", "stage", "category", "confidence"])


def relabels(m: int = 10, seed: int = 0, stages=("sA", "sB")) -> pd.DataFrame:
    """Cross-check re-labels in the paper's layout (9 sets per group and stage, cyclic exchange), m per set."""
    from qa.crosscheck import DEFAULT_LAYOUT

    rng = np.random.default_rng(seed)
    rows = []
    for stage in stages:
        for origin, group in (("A", "B"), ("B", "C"), ("C", "A")):
            for category, n_sets in DEFAULT_LAYOUT.items():
                for n in range(n_sets):
                    set_id = f"{stage}-{origin}-{category}-{n + 1}"
                    for j in range(m):
                        for k in range(1, 4):
                            rater = f"{group.lower()}{k}"
                            label = _vote(rng, NAMES.index(category), 0.5 + 0.1 * k)
                            rows.append((stage, group, set_id, category, f"{set_id}-{j}", category, rater,
                                         NAMES[label]))
    return pd.DataFrame(rows, columns=["stage", "group", "set_id", "set_category", "item", "previous_label", "rater",
                                       "label"])


def ratings(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [(d, f"{d}-{i}", f"e{r}", int(np.clip(round(rng.normal(base, 0.8)), 1, 5)))
            for d, base in (("eMotions", 4.0), ("Ekman6", 3.4), ("VideoEmotion8", 3.1))
            for i in range(8) for r in range(4)]
    return pd.DataFrame(rows, columns=["dataset", "item", "rater", "rating"])
