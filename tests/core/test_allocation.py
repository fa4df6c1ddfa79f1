import random
from itertools import combinations, permutations

import pytest

from core import allocation
from core.allocation import Person, allocate_groups, assignment_score
from core.errors import ConfigError


def pool(n_male: int, n_female: int) -> list[Person]:
    people = [Person(f"m{i}", "m", 90 - 3 * i, 10 * (i % 5)) for i in range(n_male)]
    return people + [Person(f"f{i}", "f", 85 - 4 * i, 50 + i) for i in range(n_female)]


def shape(plan) -> dict[str, tuple[str, list[str]]]:
    return {g.name: (g.leader.name, [m.name for m in g.members]) for g in plan.groups}


def test_eq_1_weights():
    assert assignment_score(100, 50, 10, 20, 30) == pytest.approx(0.4 * 100 + 0.3 * 50 + 0.1 * 60)
    assert assignment_score(1, 1, 1, 1, 1, weights=(1, 2, 3)) == 12


def test_paper_groups_are_the_most_even_the_gender_rule_allows():
    plan = allocate_groups(pool(10, 5), 3)
    # the greedy deal (best first into the lowest total) gave A m0+m3,m5,f3 / B m1+f1,m4,m6 / C f0+m2,f2,m7
    # with group means 79.75 / 79.5 / 78.75 (variance 0.18); the balanced plan reaches 79.5 / 79.25 / 79.25
    assert shape(plan) == {"A": ("m0", ["f1", "m5", "m6"]), "B": ("m1", ["m2", "f2", "m7"]),
                           "C": ("f0", ["m3", "m4", "f3"])}
    assert plan.variance_of_group_means == pytest.approx(0.013889, abs=1e-6)
    assert [x.name for x in plan.reserves] == ["f4", "m8", "m9"]
    leaders = [g.leader for g in plan.groups]
    males = [m for g in plan.groups for m in g.members if m.gender == "m"]
    females = [m for g in plan.groups for m in g.members if m.gender == "f"]
    best = min(
        sum((sum(x.p for x in g) / 4 - 79.333333) ** 2 for g in groups)
        for a in combinations(males, 2) for b in combinations([m for m in males if m not in a], 2)
        for fs in permutations(females)
        for groups in [[[leaders[0], *a, fs[0]], [leaders[1], *b, fs[1]],
                        [leaders[2], *[m for m in males if m not in a and m not in b], fs[2]]]])
    assert plan.variance_of_group_means == pytest.approx(best / 3, abs=1e-6)


def test_result_does_not_depend_on_input_order_and_leaders_rank_the_groups():
    people = pool(12, 6)
    plan = allocate_groups(people, 3, leader_by="lp")
    assert [g.leader.name for g in plan.groups] == ["f5", "f4", "f3"]  # highest leadership first
    for seed in range(5):
        random.Random(seed).shuffle(people)
        assert allocate_groups(people, 3, leader_by="lp") == plan
    for group in plan.groups:
        assert sorted(m.gender for m in group.members) == ["f", "m", "m"]


def test_large_pools_are_never_less_even_than_the_greedy_deal():
    rng = random.Random(7)
    people = [Person(f"p{i:02d}", "m" if i % 3 else "f", rng.uniform(30, 95), rng.uniform(0, 100))
              for i in range(40)]
    plan = allocate_groups(people, 6)  # far past the exhaustive limit: swaps from two starts
    leaders = [g.leader for g in plan.groups]
    caps = {"m": 2, "f": 1}
    pools = {k: sorted((x for x in people if x.gender == k and x not in leaders), key=lambda x: (-x.p, x.name))
             [: 6 * caps[k]] for k in caps}
    greedy = allocation._greedy(leaders, pools, caps)
    assert allocation._spread([[g.leader, *g.members] for g in plan.groups]) <= allocation._spread(greedy)
    for group in plan.groups:
        assert sorted(m.gender for m in group.members) == ["f", "m", "m"]


def test_without_the_gender_rule_and_with_other_sizes():
    plan = allocate_groups(pool(12, 0), 3, gender_rule=False)
    assert [len(g.members) for g in plan.groups] == [3, 3, 3]
    plan = allocate_groups(pool(8, 8), 3, 4, males_per_group=2)
    for group in plan.groups:
        assert sorted(m.gender for m in group.members) == ["f", "f", "m", "m"]


def test_errors_say_what_is_missing():
    with pytest.raises(ConfigError, match="the gender rule needs 3 female member"):
        allocate_groups(pool(12, 0), 3)
    with pytest.raises(ConfigError, match="5 people cannot fill 3 groups of 1 leader \\+ 3 members; the gender rule"):
        allocate_groups(pool(3, 2), 3)
    with pytest.raises(ConfigError, match="leader_by"):
        allocate_groups(pool(10, 5), 3, leader_by="age")
    with pytest.raises(ConfigError, match="appears twice"):
        allocate_groups([*pool(10, 5), Person("m0", "m", 1, 1)], 3)
