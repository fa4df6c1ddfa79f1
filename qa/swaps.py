"""The personnel-adjustment loop: per category, swap a high-CR and a low-CR member across groups until the
groups' mean consistency beats the baseline and their variance falls below a threshold."""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from core.errors import ConfigError
from core.taxonomy import CATEGORIES
from qa.consistency import MORE, group_results, set_scores, spread
from qa.crosscheck import DEFAULT_LAYOUT


@dataclass(frozen=True)
class SwapParams:
    """Every knob of the loop (qa.md §2 defaults; tau = 1.0 is one of the values the paper's path allows)."""

    metric: str = "S_r"  # or "S_a"
    cr: str = "previous"  # CR against the previous label, or "majority": against the member's own group result
    tau: float = 1.0  # stop when the population variance of the groups' metric is below tau ...
    delta: float = 0.0  # ... and their mean beats the baseline mean by more than delta
    mode: str = "literal"  # or "balancing"
    direction_guard: bool = True
    gender_rule: bool = True
    category_order: tuple[str, ...] | str = tuple(DEFAULT_LAYOUT)  # or "variance"
    acceptance: str = "keep"  # or "undo"
    tabu: bool = True
    rounds: int = 3
    seed: int = 0

    def check(self) -> None:
        if (self.metric not in ("S_r", "S_a") or self.mode not in ("literal", "balancing")
                or self.cr not in ("previous", "majority")
                or self.acceptance not in ("keep", "undo") or self.rounds < 1):
            raise ConfigError(f"swap parameters: invalid combination {asdict(self)}")


@dataclass
class LabelSource:
    """Re-labels per (rater, set): measured ones from data; missing ones projected from the rater's own CR."""

    sets: pd.DataFrame  # group (re-labelling group of the set), set_id, set_category, item, previous_label
    measured: pd.DataFrame  # rater, set_id, item, label, set_category, previous_label
    seed: int = 0
    cache: dict[tuple[str, str], pd.Series] = field(default_factory=dict)
    projected: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def from_relabels(cls, relabels: pd.DataFrame, seed: int = 0) -> LabelSource:
        sets = relabels.drop_duplicates(["set_id", "item"])[
            ["group", "set_id", "set_category", "item", "previous_label"]].reset_index(drop=True)
        measured = relabels[["rater", "set_id", "item", "label", "set_category", "previous_label"]].copy()
        measured["rater"] = measured["rater"].astype(str)
        source = cls(sets=sets, measured=measured, seed=seed)
        for (r, s), part in measured.groupby(["rater", "set_id"], sort=False):
            source.cache[(r, s)] = part.set_index("item")["label"]
        return source

    def labels(self, rater: str, set_id: str) -> pd.Series:
        """Item -> label of `rater` on set `set_id` (projected once, then reused, when never measured)."""
        key = (rater, set_id)
        if key not in self.cache:
            self.cache[key] = self._project(rater, set_id)
            self.projected.add(key)
        return self.cache[key]

    def _project(self, rater: str, set_id: str) -> pd.Series:
        rows = self.sets[self.sets["set_id"] == set_id]
        category = rows["set_category"].iloc[0]
        everyone = self.measured[self.measured["set_category"] == category]
        own = everyone[everyone["rater"] == rater]
        if own.empty:
            own = self.measured[self.measured["rater"] == rater]
        basis = own if not own.empty else everyone
        rate = float((basis["label"] == basis["previous_label"]).mean()) if not basis.empty else 0.5
        wrong = _usual_wrong(own[own["set_category"] == category]) or _usual_wrong(everyone) or _next(category)
        rng = np.random.default_rng(self.seed + zlib.crc32(f"{rater}|{set_id}".encode()))
        agree = np.zeros(len(rows), dtype=bool)
        agree[rng.permutation(len(rows))[: round(rate * len(rows))]] = True
        return pd.Series(np.where(agree, rows["previous_label"].to_numpy(), wrong), index=rows["item"].to_numpy())


def _usual_wrong(frame: pd.DataFrame) -> str | None:
    wrong = frame.loc[frame["label"] != frame["previous_label"], "label"]
    return None if wrong.empty else str(wrong.value_counts().sort_index().idxmax())


def _next(category: str) -> str:
    names = [c.value for c in CATEGORIES]
    return names[(names.index(category) + 1) % len(names)]


def assemble(members: dict[str, str], source: LabelSource) -> pd.DataFrame:
    """The re-labels table for an allocation: each group's current members on that group's sets."""
    parts = []
    for set_id, rows in source.sets.groupby("set_id", sort=True):
        group = rows["group"].iloc[0]
        base = rows.set_index("item")
        for rater in sorted(r for r, g in members.items() if g == group):
            labels = source.labels(rater, set_id).reindex(base.index)
            parts.append(base.reset_index().assign(rater=rater, label=labels.to_numpy(), stage="swap"))
    table = pd.concat(parts, ignore_index=True)
    return table.dropna(subset=["label"])


@dataclass
class State:
    members: dict[str, str]
    relabels: pd.DataFrame
    sets: pd.DataFrame
    scores: dict[str, float]
    mu: float
    var: float


def evaluate(members: dict[str, str], source: LabelSource, metric: str) -> State:
    relabels = assemble(members, source)
    sets = set_scores(relabels)
    scores = {}
    for g, part in sets.groupby("group", sort=True):
        scores[str(g)] = float(part["agree_share"].mean()) if metric == "S_a" else \
            float((part["w"] * part["s"]).sum() / part["w"].sum())
    mu, var = spread(scores.values())
    return State(dict(members), relabels, sets, scores, mu, var)


def _category_view(state: State, category: str, metric: str, cr: str = "previous") -> tuple[pd.Series, pd.Series]:
    """CR_{a,k} of every member on its group's category-k sets, and each group's category-k consistency."""
    rel = state.relabels[state.relabels["set_category"] == category]
    if cr == "majority":
        key = rel["set_id"].astype(str) + "|" + rel["item"].astype(str)
        target = key.map(group_results(rel.assign(key=key), item="key", label="label"))
        decided = (target != MORE).to_numpy()
        agree = rel["label"].astype(str).to_numpy() == target.to_numpy()
        crs = pd.Series(agree[decided]).groupby(rel["rater"].to_numpy()[decided]).mean()
    else:
        crs = (rel["label"] == rel["previous_label"]).groupby(rel["rater"]).mean()
    sets = state.sets[state.sets["set_category"] == category]
    col = "agree_share" if metric == "S_a" else "s"
    return crs, sets.groupby("group")[col].mean()


def _pick(crs, cons, members, genders, params, tabu) -> tuple[str, str, str] | None:
    """(high-CR member, low-CR member, rule used) or None."""

    def allowed(x, y):
        return (members[x] != members[y] and crs[x] > crs[y] and frozenset((x, y)) not in tabu
                and (not params.gender_rule or genders.get(x) == genders.get(y)))

    def best(xs, ys):
        pairs = [(crs[x] - crs[y], -crs[x], x, y) for x in xs for y in ys if allowed(x, y)]
        return min(pairs, key=lambda t: (-t[0], t[1], t[2], t[3]))[2:] if pairs else None

    raters = sorted(crs.index)
    if params.mode == "literal":
        pair = best(raters, raters)
        if pair is None:
            return None
        x, y = pair
        if not params.direction_guard or cons.get(members[x], 0) > cons.get(members[y], 0):
            return x, y, "literal"
    if len(cons) < 2:
        return None
    order = cons.sort_values(kind="stable")
    lo, hi = order.index[0], order.index[-1]
    if cons[lo] >= cons[hi]:
        return None
    pair = best([r for r in raters if members[r] == hi], [r for r in raters if members[r] == lo])
    return (*pair, "balancing") if pair else None


def run_swaps(relabels: pd.DataFrame, members: dict[str, str], genders: dict[str, str] | None = None,
              params: SwapParams | None = None, source: LabelSource | None = None) -> dict:
    """Run qa.md §2 on one stage's re-labels; returns status, baseline, steps (audit log) and final allocation."""
    params = params or SwapParams()
    params.check()
    genders = genders or {}
    source = source or LabelSource.from_relabels(relabels, params.seed)
    unknown = sorted(set(relabels["rater"].astype(str)) - set(members))
    if unknown:
        raise ConfigError(f"swaps: no group known for annotator(s) {', '.join(unknown)}")
    state = evaluate(members, source, params.metric)
    mu0, var0, baseline_scores = state.mu, state.var, state.scores
    steps, qualified, highest = [], None, state
    status = "not converged"
    for rnd in range(1, params.rounds + 1):
        tabu: set[frozenset] = set()
        order = list(params.category_order) if params.category_order != "variance" else \
            _by_variance(state, params.metric)
        for category in order:
            crs, cons = _category_view(state, category, params.metric, params.cr)
            pick = _pick(crs, cons, state.members, genders, params, tabu if params.tabu else set())
            if pick is None:
                continue
            x, y, rule = pick
            moved = dict(state.members)
            moved[x], moved[y] = state.members[y], state.members[x]
            new = evaluate(moved, source, params.metric)
            undone = params.acceptance == "undo" and new.mu < state.mu and new.var > state.var
            steps.append({
                "round": rnd, "category": category, "rule": rule, "high": x, "low": y,
                "cr_high": float(crs[x]), "cr_low": float(crs[y]),
                "high_from": state.members[x], "high_to": state.members[y],
                "mu_before": state.mu, "var_before": state.var, "mu_after": new.mu, "var_after": new.var,
                "scores_after": new.scores, "undone": undone,
                "projected": sorted(f"{r}@{s}" for r, s in source.projected if r in (x, y)),
            })
            tabu.add(frozenset((x, y)))
            if undone:
                continue
            state = new
            if state.mu > mu0 and (qualified is None or state.var < qualified.var):
                qualified = state
            if state.mu > highest.mu:
                highest = state
            if state.mu > mu0 + params.delta and state.var < params.tau:
                status = "converged"
                break
        if status == "converged":
            break
    # Not converged: the lowest variance among allocations that beat the baseline mean, else the highest mean.
    final = state if status == "converged" else (qualified or highest)
    return {
        "status": status, "parameters": asdict(params),
        "baseline": {"mu": mu0, "var": var0, "scores": baseline_scores},
        "steps": steps,
        "final": {"mu": final.mu, "var": final.var, "scores": final.scores, "members": final.members},
        "changed": {r: {"from": members[r], "to": g} for r, g in final.members.items() if members[r] != g},
        "projected_labels": len(source.projected),
    }


def _by_variance(state: State, metric: str) -> list[str]:
    col = "agree_share" if metric == "S_a" else "s"
    per = state.sets.groupby(["set_category", "group"])[col].mean().groupby(level=0).var(ddof=0)
    return list(per.sort_values(ascending=False, kind="stable").index)


def infer_members(relabels: pd.DataFrame) -> dict[str, str]:
    """Each annotator's group: the group whose sets they re-labelled most (ties: first group by name)."""
    counts = relabels.groupby(["rater", "group"]).size().reset_index(name="n")
    counts = counts.sort_values(["rater", "n", "group"], ascending=[True, False, True])
    return {str(r): str(g) for r, g in counts.drop_duplicates("rater")[["rater", "group"]].itertuples(index=False)}
