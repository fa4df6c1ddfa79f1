import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.taxonomy import CATEGORIES
from qa.consistency import consistency, consistency_ratios, group_results, set_scores, spread, table_one

NAMES = [c.value for c in CATEGORIES]


def relabels(rows) -> pd.DataFrame:
    """rows: (group, set_id, set_category, item, previous_label, [three labels])."""
    out = []
    for group, set_id, set_cat, item, prev, labels in rows:
        for k, label in enumerate(labels):
            out.append({"stage": "sA", "group": group, "set_id": set_id, "set_category": set_cat, "item": item,
                        "previous_label": prev, "rater": f"{group.lower()}{k + 1}", "label": label})
    return pd.DataFrame(out)


N, R, S, E, F, T = "Neutral", "Relaxation", "Sadness", "Excitation", "Fear", "Tension"
HAND = relabels([
    # Group A, set N1 (Neutral, m = 4)
    ("A", "N1", N, "n1", N, [N, N, N]),  # c = 3, majority = previous -> C
    ("A", "N1", N, "n2", N, [N, N, R]),  # c = 2 -> C
    ("A", "N1", N, "n3", N, [R, R, N]),  # c = 1, clear but different
    ("A", "N1", N, "n4", N, [R, S, E]),  # c = 0, "more" -> M
    # Group A, set N2 (Neutral, m = 2): both unanimous
    ("A", "N2", N, "n5", N, [N, N, N]),
    ("A", "N2", N, "n6", N, [N, N, N]),
    # Group A, set F1 (Fear, m = 2)
    ("A", "F1", F, "f1", F, [F, F, F]),  # c = 3 -> C
    ("A", "F1", F, "f2", F, [F, T, S]),  # c = 1, "more" -> M
    # Group B, set F2 (Fear, m = 2): perfect
    ("B", "F2", F, "f3", F, [F, F, F]),
    ("B", "F2", F, "f4", F, [F, F, F]),
])


def test_paper_sample_classification():
    votes = pd.DataFrame({"item": ["x"] * 3 + ["y"] * 3 + ["z"] * 3 + ["w"] * 3,
                          "label": [F, F, F, F, F, T, T, T, F, F, T, S]})
    assert list(group_results(votes)) == [F, F, T, "more"]


def test_hand_computed_s_a_and_s_r():
    # N1: sum c = 3+2+1+0 = 6 of 12 re-labels -> 0.5; C = 2, M = 1, m = 4 -> s = 100 (0.7*2 + 0.3*1) / 4 = 42.5
    # N2: 6/6 -> 1.0; s = 70.        F1: (3+1)/6 = 2/3; C = 1, M = 1 -> s = 100 (0.7) / 2 = 35
    # S_a(A) = (0.5 + 1 + 2/3) / 3 = 0.722222;  w = 1/2, 1/2 (two Neutral sets), 1 (Fear)
    # S_r(A) = (0.5*42.5 + 0.5*70 + 1*35) / (0.5 + 0.5 + 1) = 91.25 / 2 = 45.625
    # S_r(B) = 70, S_a(B) = 1;  mean S_r = 57.8125, population variance = 12.1875^2 = 148.53515625
    res = consistency(HAND)
    a, b = res["groups"]["A"], res["groups"]["B"]
    assert a["S_a"] == pytest.approx(0.7222222, abs=1e-6)
    assert a["S_r"] == pytest.approx(45.625)
    assert b["S_r"] == pytest.approx(70) and b["S_a"] == pytest.approx(1)
    assert res["mean_S_r"] == pytest.approx(57.8125)
    assert res["var_S_r"] == pytest.approx(148.53515625)
    # components: C/m = 2/4, 2/2, 1/2 -> 2/3; M/m = 1/4, 0, 1/2 -> 0.25
    assert a["mean_C_share"] == pytest.approx(2 / 3)
    assert a["mean_M_share"] == pytest.approx(0.25)
    sets = set_scores(HAND).set_index("set_id")
    assert list(sets.loc[["N1", "N2", "F1"], "s"]) == pytest.approx([42.5, 70, 35])


def test_consistency_ratios_by_hand():
    # a1 gave the first label of every row: Neutral sets N, N, R, R, N, N -> 4/6; Fear F, F -> 1
    crs = consistency_ratios(HAND)
    assert crs.loc["a1", N] == pytest.approx(4 / 6)
    assert crs.loc["a1", F] == pytest.approx(1.0)
    # a3: N, R, N, E, N, N -> 4/6 Neutral; F, S -> 1/2 Fear; overall 5/8
    assert crs.loc["a3", F] == pytest.approx(0.5)
    assert crs.loc["a3", "overall"] == pytest.approx(5 / 8)


def test_table_one_mean_and_population_variance():
    mu, var = spread([52.55, 48.78, 54.54])
    assert abs(mu - 51.956667) < 1e-6 and abs(var - 5.705622) < 1e-6
    mu, var = spread([55.53, 54.41, 55.79])
    assert abs(mu - 55.243333) < 1e-6 and abs(var - 0.358489) < 1e-6
    assert round(mu, 2) == 55.24 and round(var, 2) == 0.36


def test_stages_and_table_one_layout():
    both = pd.concat([HAND, HAND.assign(stage="sB", set_id=HAND["set_id"] + "b")])
    res = consistency(both)
    assert set(res["stages"]) == {"sA", "sB"}
    t1 = table_one(res)
    assert t1.loc["sB", ("A", "S_r")] == pytest.approx(45.625)
    assert consistency(both, "sB")["stage"] == "sB"


labels_strategy = st.lists(st.tuples(st.sampled_from(NAMES), st.lists(st.sampled_from(NAMES), min_size=3,
                                                                        max_size=3)), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(labels_strategy, st.integers(1, 4))
def test_s_r_bounds_and_maximum(rows, n_sets):
    data = relabels([("A", f"set{i % n_sets}", prev, f"i{i}", prev, labels)
                     for i, (prev, labels) in enumerate(rows)])
    # set_category must be one per set: use the first sample's previous label for the whole set
    data["set_category"] = data.groupby("set_id")["previous_label"].transform("first")
    res = consistency(data)["groups"]["A"]
    assert 0 <= res["S_r"] <= 70 + 1e-9
    assert 0 <= res["S_a"] <= 1
    sets = set_scores(data)
    all_agree = bool((sets["C"] == sets["m"]).all())
    assert (abs(res["S_r"] - 70) < 1e-9) == all_agree
