"""Variant selection: largest-remainder quotas, balanced targets and shortfalls, seeded order-independent draws."""

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from dataset.variants import draw_keys, largest_remainder, select_all, select_balanced, select_test
from tests.dataset.conftest import PAPER_COUNTS, sample_id


def _table(counts):
    rows, i = [], 0
    for cat, n in counts.items():
        for _ in range(n):
            rows.append({"sample_id": sample_id(i), "category": cat})
            i += 1
    return pd.DataFrame(rows)


def test_largest_remainder_on_the_paper_counts():
    quotas = largest_remainder(PAPER_COUNTS, 5000)
    assert quotas == {"Excitation": 2097, "Fear": 170, "Neutral": 1571, "Relaxation": 395, "Sadness": 373,
                      "Tension": 394}
    assert sum(quotas.values()) == 5000


@given(st.lists(st.integers(0, 500), min_size=1, max_size=8), st.integers(0, 2000))
def test_largest_remainder_is_exact_and_within_one_of_the_quota(counts, total):
    keyed = {f"k{i}": n for i, n in enumerate(counts)}
    quotas = largest_remainder(keyed, total)
    n = sum(counts)
    if n == 0:
        assert set(quotas.values()) == {0}
        return
    assert sum(quotas.values()) == total
    for k, c in keyed.items():
        exact = c * total / n
        assert exact - 1 < quotas[k] < exact + 1


def test_balanced_takes_targets_and_every_sample_of_other_categories():
    table = _table({"Excitation": 50, "Fear": 7, "Neutral": 40, "Sadness": 3})
    sel = select_balanced(table, {"Excitation": 20, "Neutral": 15}, seed=0)
    counts = sel.table["category"].value_counts().to_dict()
    assert counts == {"Excitation": 20, "Neutral": 15, "Fear": 7, "Sadness": 3}
    assert sel.shortfalls == {}
    assert sel.asked["Fear"] is None and sel.asked["Excitation"] == 20


def test_balanced_shortfall_is_recorded_and_all_are_taken():
    table = _table({"Excitation": 5, "Fear": 2})
    sel = select_balanced(table, {"Excitation": 20, "Neutral": 3}, seed=0)
    assert sel.taken["Excitation"] == 5
    assert sel.shortfalls == {"Excitation": {"asked": 20, "available": 5}, "Neutral": {"asked": 3, "available": 0}}


def test_test_variant_is_exact_and_proportional():
    table = _table({"Excitation": 301, "Fear": 29, "Neutral": 170})
    sel = select_test(table, 100, seed=3)
    assert len(sel.table) == 100
    assert sel.taken == {**dict.fromkeys(["Relaxation", "Sadness", "Tension"], 0),
                         **largest_remainder({"Excitation": 301, "Fear": 29, "Neutral": 170}, 100)}


def test_test_variant_larger_than_the_data_takes_everything_and_says_so():
    table = _table({"Excitation": 3, "Fear": 2})
    sel = select_test(table, 10, seed=0)
    assert len(sel.table) == 5
    assert sel.shortfalls["(total)"] == {"asked": 10, "available": 5}


def test_draw_does_not_depend_on_row_order_but_on_the_seed():
    table = _table({"Excitation": 200, "Neutral": 100})
    shuffled = table.sample(frac=1.0, random_state=1)
    a = select_balanced(table, {"Excitation": 30}, seed=5).table["sample_id"].tolist()
    b = select_balanced(shuffled, {"Excitation": 30}, seed=5).table["sample_id"].tolist()
    c = select_balanced(table, {"Excitation": 30}, seed=6).table["sample_id"].tolist()
    assert a == b
    assert a != c
    assert len(select_all(table).table) == 300


def test_draw_keys_are_stable_values():
    keys = draw_keys(["a", "b"], 0, "test")
    assert keys.dtype.name == "uint64"
    assert keys.tolist() == draw_keys(pd.Series(["a", "b"]), 0, "test").tolist()
    assert keys.tolist() != draw_keys(["a", "b"], 1, "test").tolist()
