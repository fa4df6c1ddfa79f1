"""Eq. 1 group allocation: assignment scores, leaders, and members under the gender rule with balanced group means.

The one implementation behind the app's `form-groups` and QA's `allocate`: pure Python, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import combinations, product
from math import factorial, prod

from core.errors import ConfigError
from core.groups import group_name

WEIGHTS = (0.4, 0.3, 0.1)  # alpha_1 (we), alpha_2 (ms), alpha_3 (eb + cb + lp)
LEADER_KEYS = ("p", "lp")
EXACT_LIMIT = 10_000  # member dealings searched exhaustively up to this many (3 groups of 2 m + 1 f: 540)


def assignment_score(work_experience, msceit, education, culture, leadership, *, weights=WEIGHTS):
    """Eq. 1: p = a1·we + a2·ms + a3·(eb + cb + lp), every factor on 0-100 (MSCEIT: higher is better).

    Plain arithmetic, so it takes numbers or whole columns (pandas Series, numpy arrays) alike.
    """
    a1, a2, a3 = weights
    return a1 * work_experience + a2 * msceit + a3 * (education + culture + leadership)


@dataclass(frozen=True, slots=True)
class Person:
    """Allocation input: a candidate's name, gender ('m', 'f' or None), Eq. 1 score p and leadership lp."""

    name: str
    gender: str | None
    p: float
    leadership: float


@dataclass(frozen=True, slots=True)
class GroupPlan:
    """One planned group: its name (A, B, …), leader and members."""

    name: str
    leader: Person
    members: tuple[Person, ...]

    @property
    def mean_p(self) -> float:
        people = (self.leader, *self.members)
        return sum(x.p for x in people) / len(people)


@dataclass(frozen=True, slots=True)
class Allocation:
    """Planned groups (group A has the best-ranked leader) and the people left over (best p first)."""

    groups: tuple[GroupPlan, ...]
    reserves: tuple[Person, ...]

    @property
    def variance_of_group_means(self) -> float:
        """Population variance (ddof = 0) of the groups' mean p."""
        means = [g.mean_p for g in self.groups]
        centre = sum(means) / len(means)
        return sum((m - centre) ** 2 for m in means) / len(means)


def _by_p(person: Person) -> tuple[float, str]:
    return -person.p, person.name


def _leader_rank(leader_by: str):
    if leader_by == "lp":
        return lambda x: (-x.leadership, -x.p, x.name)
    return lambda x: (-x.p, -x.leadership, x.name)


def _member_pools(people: list[Person], leaders: list[Person], n_groups: int, members_per_group: int,
                  males_per_group: int, gender_rule: bool) -> dict[str, list[Person]]:
    """Member pools (best p first) per kind; ConfigError naming what is missing when the pool is too small."""
    leader_names = {x.name for x in leaders}
    rest = sorted((x for x in people if x.name not in leader_names), key=_by_p)
    if gender_rule:
        need = {"m": n_groups * males_per_group, "f": n_groups * (members_per_group - males_per_group)}
        pools = {g: [x for x in rest if x.gender == g][:k] for g, k in need.items()}
    else:
        need = {"member": n_groups * members_per_group}
        pools = {"member": rest[: need["member"]]}
    words = {"m": "male", "f": "female"}
    short = [f"{k - len(pools[g])} {words[g]}" for g, k in need.items() if len(pools[g]) < k and g in words]
    total = n_groups * (members_per_group + 1)
    if len(people) >= total and not short:
        return pools
    parts = [f"{len(people)} people cannot fill {n_groups} groups of 1 leader + {members_per_group} members"
             ] if len(people) < total else []
    if short:
        parts.append(f"the gender rule needs {' and '.join(short)} member(s) more")
    raise ConfigError("allocation: " + "; ".join(parts),
                      remedy="add people, form fewer or smaller groups, or turn the gender rule off")


def _spread(groups: list[list[Person]]) -> float:
    """Sum of squared group totals: with equal group sizes and a fixed total, it orders allocations exactly
    as the variance of the group means does."""
    return sum(sum(x.p for x in g) ** 2 for g in groups)


def _deals(n: int, n_groups: int, cap: int) -> Iterator[tuple[int, ...]]:
    """Every way to deal n = n_groups·cap people into groups of `cap` (a group index per person)."""
    counts, deal = [0] * n_groups, []

    def walk(i: int) -> Iterator[tuple[int, ...]]:
        if i == n:
            yield tuple(deal)
            return
        for g in range(n_groups):
            if counts[g] < cap:
                counts[g] += 1
                deal.append(g)
                yield from walk(i + 1)
                deal.pop()
                counts[g] -= 1

    return walk(0)


def _exhaustive(leaders: list[Person], pools: dict[str, list[Person]], caps: dict[str, int]) -> list[list[Person]]:
    """The most even allocation among every same-kind dealing of the pools (first found on ties)."""
    n_groups = len(leaders)
    options = []
    for kind, pool in pools.items():
        sums = []
        for deal in _deals(len(pool), n_groups, caps[kind]):
            vec = [0.0] * n_groups
            for person, g in zip(pool, deal, strict=True):
                vec[g] += person.p
            sums.append((deal, vec))
        options.append(sums)
    base = [x.p for x in leaders]
    best, best_score = None, float("inf")
    for combo in product(*options):
        totals = list(base)
        for _, vec in combo:
            totals = [t + v for t, v in zip(totals, vec, strict=True)]
        score = sum(t * t for t in totals)
        if score < best_score - 1e-9:
            best, best_score = combo, score
    groups = [[leader] for leader in leaders]
    for pool, (deal, _) in zip(pools.values(), best, strict=True):
        for person, g in zip(pool, deal, strict=True):
            groups[g].append(person)
    return groups


def _snake(leaders: list[Person], pools: dict[str, list[Person]]) -> list[list[Person]]:
    """Snake draft inside each kind: best p to group A, B, C, then C, B, A, …"""
    groups, n = [[leader] for leader in leaders], len(leaders)
    for pool in pools.values():
        for i, person in enumerate(pool):
            lap, pos = divmod(i, n)
            groups[pos if lap % 2 == 0 else n - 1 - pos].append(person)
    return groups


def _greedy(leaders: list[Person], pools: dict[str, list[Person]], caps: dict[str, int]) -> list[list[Person]]:
    """Best p first, each into the group with the lowest total that still has a seat of the person's kind."""
    groups = [[leader] for leader in leaders]
    taken = [dict.fromkeys(pools, 0) for _ in leaders]
    for kind, person in sorted(((k, x) for k, pool in pools.items() for x in pool), key=lambda kx: _by_p(kx[1])):
        free = [g for g in range(len(groups)) if taken[g][kind] < caps[kind]]
        g = min(free, key=lambda i: (sum(x.p for x in groups[i]), i))
        groups[g].append(person)
        taken[g][kind] += 1
    return groups


def _balance(groups: list[list[Person]], kinds: dict[str, str]) -> list[list[Person]]:
    """Best-improvement swaps of two same-kind members between groups until the variance of means stops falling.

    A swap of a (group i) with b (group j), d = p_b - p_a, changes the sum of squared group totals by
    2·d·(total_i - total_j) + 2·d². Leaders never move: group A keeps the best-ranked leader.
    """
    totals = [sum(x.p for x in g) for g in groups]
    slots = [(gi, k) for gi, g in enumerate(groups) for k in range(1, len(g))]
    while True:
        best, best_change = None, -1e-9
        for (gi, ki), (gj, kj) in combinations(slots, 2):
            a, b = groups[gi][ki], groups[gj][kj]
            if gi == gj or kinds[a.name] != kinds[b.name]:
                continue
            d = b.p - a.p
            change = 2 * d * (totals[gi] - totals[gj]) + 2 * d * d
            if change < best_change:
                best, best_change = (gi, ki, gj, kj, d), change
        if best is None:
            return groups
        gi, ki, gj, kj, d = best
        groups[gi][ki], groups[gj][kj] = groups[gj][kj], groups[gi][ki]
        totals[gi] += d
        totals[gj] -= d


def _place(leaders: list[Person], pools: dict[str, list[Person]], caps: dict[str, int]) -> list[list[Person]]:
    """Members into the leaders' groups, as evenly as the search can: exhaustive while the number of
    dealings is at most EXACT_LIMIT (the paper's 3 groups of 2 male + 1 female: 540), else swaps from a
    snake draft and from the greedy deal, keeping the better (so never less even than the greedy deal)."""
    count = prod(factorial(len(pool)) // factorial(caps[k]) ** len(leaders) for k, pool in pools.items())
    if count <= EXACT_LIMIT:
        return _exhaustive(leaders, pools, caps)
    kinds = {x.name: k for k, pool in pools.items() for x in pool}
    starts = [_balance(_snake(leaders, pools), kinds), _balance(_greedy(leaders, pools, caps), kinds)]
    return min(starts, key=_spread)  # min keeps the first on a tie


def allocate_groups(people: Iterable[Person], n_groups: int = 3, members_per_group: int = 3, *,
                    gender_rule: bool = True, males_per_group: int | None = None,
                    leader_by: str = "p") -> Allocation:
    """Leaders and balanced groups from Eq. 1 scores (paper Sec. III-B).

    Leaders: the `n_groups` highest p (or highest lp with leader_by='lp'; ties by the other score, then
    name), group A getting the best. Members: the best p of each kind — with the gender rule,
    `males_per_group` men (default members_per_group - 1, i.e. 2 of 3) and the rest women per group —
    placed so that the variance of the groups' mean p (leader and members) is as low as the search finds
    (see `_place`: the optimum for the paper's sizes). The result depends only on the people, not on
    their order.
    Raises ConfigError when the pool cannot fill the groups under the rule.
    """
    if leader_by not in LEADER_KEYS:
        raise ConfigError(f"leader_by must be 'p' or 'lp', got {leader_by!r}")
    if n_groups < 1 or members_per_group < 1:
        raise ConfigError("allocation needs at least one group of at least one member")
    males = members_per_group - 1 if males_per_group is None else males_per_group
    if gender_rule and not 0 <= males <= members_per_group:
        raise ConfigError(f"males per group must lie in 0..{members_per_group}, got {males}")
    everyone = sorted(people, key=lambda x: x.name)
    names = [x.name for x in everyone]
    if len(set(names)) != len(names):
        dup = next(n for i, n in enumerate(names) if n in names[:i])
        raise ConfigError(f"allocation: {dup!r} appears twice")
    leaders = sorted(everyone, key=_leader_rank(leader_by))[:n_groups]
    pools = _member_pools(everyone, leaders, n_groups, members_per_group, males, gender_rule)
    caps = {"m": males, "f": members_per_group - males} if gender_rule else {"member": members_per_group}
    groups = _place(leaders, pools, caps)
    placed = {x.name for g in groups for x in g}
    plans = tuple(GroupPlan(group_name(i), g[0], tuple(sorted(g[1:], key=_by_p))) for i, g in enumerate(groups))
    return Allocation(plans, tuple(sorted((x for x in everyone if x.name not in placed), key=_by_p)))
