"""Group allocation by Eq. 1: assignment scores, leaders, and members under the gender rule with balanced means."""

from __future__ import annotations

import string
from itertools import combinations

import numpy as np
import pandas as pd

from core.errors import ConfigError

WEIGHTS = (0.4, 0.3, 0.1)  # alpha_1 (we), alpha_2 (ms), alpha_3 (eb + cb + lp)


def assignment_scores(people: pd.DataFrame, *, weights=WEIGHTS, ms_is_rank: bool = False) -> pd.Series:
    """p = a1 we + a2 ms + a3 (eb + cb + lp) per person; an MSCEIT rank (1 = best) is first mapped to 0..100."""
    ms = people["ms"].astype(float)
    if ms_is_rank:
        lo, hi = ms.min(), ms.max()
        ms = pd.Series(100.0, index=ms.index) if hi == lo else 100 * (hi - ms) / (hi - lo)
    a1, a2, a3 = weights
    p = a1 * people["we"] + a2 * ms + a3 * (people["eb"] + people["cb"] + people["lp"])
    return pd.Series(p.to_numpy(dtype=float), index=people["person"].astype(str), name="p")


def _group_names(n: int) -> list[str]:
    return list(string.ascii_uppercase[:n]) if n <= 26 else [f"G{i + 1}" for i in range(n)]


def _variance(groups: list[list[str]], score: dict[str, float]) -> float:
    return float(np.var([np.mean([score[x] for x in g]) for g in groups]))


def _balance(groups: list[list[str]], score: dict[str, float], kind: dict[str, str]) -> None:
    """Best-improvement swaps of two same-kind people between groups until the variance of means stops falling."""
    while True:
        best, best_var = None, _variance(groups, score) - 1e-12
        for (gi, a), (gj, b) in combinations([(gi, x) for gi, g in enumerate(groups) for x in g], 2):
            if gi == gj or kind[a] != kind[b]:
                continue
            trial = [list(g) for g in groups]
            trial[gi][trial[gi].index(a)], trial[gj][trial[gj].index(b)] = b, a
            var = _variance(trial, score)
            if var < best_var:
                best, best_var = trial, var
        if best is None:
            return
        groups[:] = best


def allocate(people: pd.DataFrame, *, n_groups: int = 3, members_per_group: int = 3, leader_by: str = "p",
             gender_rule: bool = True, males_per_group: int = 2, ms_is_rank: bool = False,
             weights=WEIGHTS) -> dict:
    """Leaders (top `n_groups` by p or by lp) and members (2 male + 1 female per group by default) in groups
    whose mean p (leader and members) is as even as same-kind swaps can make it; the rest are reserves."""
    if leader_by not in ("p", "lp"):
        raise ConfigError(f"leader_by must be 'p' or 'lp', got {leader_by!r}")
    score = assignment_scores(people, weights=weights, ms_is_rank=ms_is_rank)
    frame = people.assign(person=people["person"].astype(str)).set_index("person")
    frame["p"] = score
    ranked = frame.sort_values([leader_by, "p"], ascending=False, kind="stable")
    leaders = list(ranked.index[:n_groups])
    if len(leaders) < n_groups:
        raise ConfigError(f"allocation: {len(frame)} people cannot provide {n_groups} leaders")
    rest = frame.drop(index=leaders).sort_values("p", ascending=False, kind="stable")
    if gender_rule:
        need = {"m": n_groups * males_per_group, "f": n_groups * (members_per_group - males_per_group)}
        chosen = {g: list(rest.index[rest["gender"] == g][:k]) for g, k in need.items()}
        short = [f"{k - len(chosen[g])} {'male' if g == 'm' else 'female'}" for g, k in need.items()
                 if len(chosen[g]) < k]
        if short:
            raise ConfigError(f"allocation: the gender rule needs {' and '.join(short)} member(s) more")
        kind = {x: frame.loc[x, "gender"] for x in frame.index}
        pools = [chosen["m"], chosen["f"]]
    else:
        members = list(rest.index[: n_groups * members_per_group])
        if len(members) < n_groups * members_per_group:
            raise ConfigError(f"allocation: {len(rest)} people left for {n_groups * members_per_group} member slots")
        kind = {x: "member" for x in frame.index}
        pools = [members]
    for x in leaders:
        kind[x] = "leader"
    groups = [[leader] for leader in leaders]
    for pool in pools:  # snake draft inside each kind, then improve by swaps
        for i, x in enumerate(pool):
            lap, pos = divmod(i, n_groups)
            groups[pos if lap % 2 == 0 else n_groups - 1 - pos].append(x)
    p = score.to_dict()
    _balance(groups, p, kind)
    names = _group_names(n_groups)
    placed = {x for g in groups for x in g}
    means = [float(np.mean([p[x] for x in g])) for g in groups]
    return {
        "scores": {x: float(v) for x, v in score.sort_values(ascending=False).items()},
        "groups": {name: {"leader": g[0], "members": g[1:], "mean_p": m} for name, g, m in
                   zip(names, groups, means, strict=True)},
        "variance_of_group_means": float(np.var(means)),
        "reserves": [x for x in score.sort_values(ascending=False).index if x not in placed],
        "parameters": {"weights": list(weights), "leader_by": leader_by, "gender_rule": gender_rule,
                       "males_per_group": males_per_group, "members_per_group": members_per_group,
                       "ms_is_rank": ms_is_rank},
    }
