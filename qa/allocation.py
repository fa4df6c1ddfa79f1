"""Group allocation by Eq. 1 for QA: scores from a people table, then the shared allocation (core.allocation)."""

from __future__ import annotations

import pandas as pd

from core.allocation import WEIGHTS, Person, allocate_groups, assignment_score


def assignment_scores(people: pd.DataFrame, *, weights=WEIGHTS, ms_is_rank: bool = False) -> pd.Series:
    """p = a1 we + a2 ms + a3 (eb + cb + lp) per person; an MSCEIT rank (1 = best) is first mapped to 0..100."""
    ms = people["ms"].astype(float)
    if ms_is_rank:
        lo, hi = ms.min(), ms.max()
        ms = pd.Series(100.0, index=ms.index) if hi == lo else 100 * (hi - ms) / (hi - lo)
    p = assignment_score(people["we"], ms, people["eb"], people["cb"], people["lp"], weights=weights)
    return pd.Series(p.to_numpy(dtype=float), index=people["person"].astype(str), name="p")


def allocate(people: pd.DataFrame, *, n_groups: int = 3, members_per_group: int = 3, leader_by: str = "p",
             gender_rule: bool = True, males_per_group: int = 2, ms_is_rank: bool = False,
             weights=WEIGHTS) -> dict:
    """Leaders (top `n_groups` by p or by lp) and members (2 male + 1 female per group by default) in groups
    whose mean p (leader and members) is as even as same-kind swaps can make it; the rest are reserves.

    The allocation itself is the app's `form-groups` one (core.allocation.allocate_groups).
    """
    score = assignment_scores(people, weights=weights, ms_is_rank=ms_is_rank)
    candidates = [Person(name, gender, float(p), float(lp)) for name, gender, p, lp in
                  zip(score.index, people["gender"], score, people["lp"], strict=True)]
    plan = allocate_groups(candidates, n_groups, members_per_group, gender_rule=gender_rule,
                           males_per_group=males_per_group, leader_by=leader_by)
    ranked = sorted(score.items(), key=lambda kv: (-kv[1], kv[0]))
    return {
        "scores": {x: float(v) for x, v in ranked},
        "groups": {g.name: {"leader": g.leader.name, "members": [m.name for m in g.members], "mean_p": g.mean_p}
                   for g in plan.groups},
        "variance_of_group_means": plan.variance_of_group_means,
        "reserves": [x.name for x in plan.reserves],
        "parameters": {"weights": list(weights), "leader_by": leader_by, "gender_rule": gender_rule,
                       "males_per_group": males_per_group, "members_per_group": members_per_group,
                       "ms_is_rank": ms_is_rank},
    }
