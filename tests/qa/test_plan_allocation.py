from itertools import combinations, permutations

import numpy as np
import pandas as pd
import pytest

from core.errors import ConfigError
from qa.allocation import allocate, assignment_scores
from qa.crosscheck import exchange_mapping, plan_crosscheck, plan_summary


def labels(per_category: dict[str, int], groups=("A", "B", "C")) -> pd.DataFrame:
    rows = [{"item": f"{g}-{c}-{i}", "group": g, "label": c}
            for g in groups for c, n in per_category.items() for i in range(n)]
    return pd.DataFrame(rows)


FULL = {"Neutral": 600, "Excitation": 400, "Sadness": 200, "Relaxation": 200, "Tension": 200, "Fear": 200,
        "more": 50}


def test_default_plan_matches_the_paper_layout():
    plan, warnings = plan_crosscheck(labels(FULL))
    assert warnings == []
    summary = plan_summary(plan)
    per_stage_group = summary.groupby(["stage", "group"])["sets"].sum()
    assert set(per_stage_group) == {9}  # 9 sets per group and stage
    assert plan.groupby("set_id").size().eq(100).all()
    neutral = summary[(summary["set_category"] == "Neutral")]
    assert set(neutral["sets"]) == {3}
    assert (plan["origin_group"].map({"A": "B", "B": "C", "C": "A"}) == plan["group"]).all()  # cyclic
    assert not plan.duplicated("item").any()  # sA and sB are disjoint
    assert (plan["previous_label"] == plan["set_category"]).all()
    assert "more" not in set(plan["set_category"])


def test_small_category_shrinks_with_a_warning():
    plan, warnings = plan_crosscheck(labels({**FULL, "Fear": 102}))
    assert len(warnings) == 3 and "Fear" in warnings[0] and "sets of 51" in warnings[0]
    assert plan[plan["set_category"] == "Fear"].groupby("set_id").size().eq(51).all()
    plan, warnings = plan_crosscheck(labels({**FULL, "Fear": 1}))
    assert "no sets" in warnings[0]


def test_exchange_mapping():
    assert exchange_mapping(["A", "B", "C"]) == {"A": "B", "B": "C", "C": "A"}
    assert exchange_mapping(["A", "B"], "A:B,B:A") == {"A": "B", "B": "A"}
    with pytest.raises(ConfigError):
        exchange_mapping(["A", "B"], "A:A,B:B")
    with pytest.raises(ConfigError):
        exchange_mapping(["A", "B", "C"], "A:B")


def test_exchange_mapping_still_reads_the_deprecated_equals_form():
    with pytest.deprecated_call(match="deprecated"):
        assert exchange_mapping(["A", "B"], "A=B,B=A") == {"A": "B", "B": "A"}
    with pytest.deprecated_call(), pytest.raises(ConfigError):
        exchange_mapping(["A", "B"], "A=A,B=B")


def people(n_m: int = 9, n_f: int = 5, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [{"person": f"{g}{i}", "gender": g, **{k: float(rng.integers(40, 100)) for k in ("we", "ms", "eb", "cb",
                                                                                            "lp")}}
            for g, n in (("m", n_m), ("f", n_f)) for i in range(n)]
    return pd.DataFrame(rows)


def test_eq1_scores():
    frame = pd.DataFrame([{"person": "x", "gender": "m", "we": 80, "ms": 70, "eb": 60, "cb": 50, "lp": 40}])
    assert assignment_scores(frame)["x"] == pytest.approx(0.4 * 80 + 0.3 * 70 + 0.1 * 150)
    ranks = pd.DataFrame([{"person": p, "gender": "m", "we": 0, "ms": r, "eb": 0, "cb": 0, "lp": 0}
                          for p, r in (("a", 1), ("b", 3))])
    assert list(assignment_scores(ranks, ms_is_rank=True)) == [30.0, 0.0]


def test_allocation_gender_rule_and_balance_near_optimum():
    crowd = people()
    res = allocate(crowd)
    gender = crowd.set_index("person")["gender"]
    for group in res["groups"].values():
        assert sorted(gender[m] for m in group["members"]) == ["f", "m", "m"]
    leaders = [g["leader"] for g in res["groups"].values()]
    assert leaders == list(res["scores"])[:3]
    # Brute force over every same-gender split of the same members (leaders fixed in all orders).
    p = res["scores"]
    males = [m for g in res["groups"].values() for m in g["members"] if gender[m] == "m"]
    females = [m for g in res["groups"].values() for m in g["members"] if gender[m] == "f"]
    best = np.inf
    for a in combinations(males, 2):
        rest = [m for m in males if m not in a]
        for b in combinations(rest, 2):
            c = [m for m in rest if m not in b]
            for fs in permutations(females):
                for ls in permutations(leaders):
                    groups = [[ls[0], *a, fs[0]], [ls[1], *b, fs[1]], [ls[2], *c, fs[2]]]
                    best = min(best, np.var([np.mean([p[x] for x in g]) for g in groups]))
    assert res["variance_of_group_means"] <= best + 0.05  # local search lands close to the optimum
    assert len(res["reserves"]) == 2


def test_allocation_errors():
    with pytest.raises(ConfigError, match="female"):
        allocate(people(n_m=10, n_f=1))
    with pytest.raises(ConfigError):
        allocate(people(), leader_by="age")
