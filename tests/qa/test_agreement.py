import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import ConfigError
from core.taxonomy import CATEGORIES
from qa.agreement import (
    agreement,
    agreement_from_counts,
    cohen_kappa,
    coincidences,
    count_table,
    fleiss_equal,
    gwet_generalised,
    krippendorff_nominal,
    pairwise_cohen,
)

TOL = 5e-4
NAMES = [c.value for c in CATEGORIES]

# V1: Wikipedia's Fleiss example, 10 subjects x 14 raters x 5 categories (counts).
V1 = np.array([
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
])


def votes_from_counts(counts: np.ndarray) -> pd.DataFrame:
    rows = []
    for i, row in enumerate(counts):
        rater = 0
        for j, n in enumerate(row):
            for _ in range(int(n)):
                rows.append({"item": f"i{i}", "rater": f"r{rater}", "category": NAMES[j]})
                rater += 1
    return pd.DataFrame(rows)


def test_wikipedia_fleiss_example():
    res = fleiss_equal(V1)
    assert abs(res["kappa"] - 0.209931) < TOL
    assert abs(res["kappa"] - 0.210) < TOL
    assert abs(res["observed"] - 0.378022) < 1e-6
    assert abs(res["expected"] - 0.212755) < 1e-6
    assert abs(res["randolph"] - 0.222527) < 1e-6


def test_wikipedia_example_gwet_and_krippendorff():
    gen = gwet_generalised(V1)
    assert abs(gen["kappa"] - 0.20993070) < 1e-7  # equal raters: Gwet's generalisation is Fleiss
    assert abs(gen["ac1"] - 0.225614) < 1e-6
    assert abs(krippendorff_nominal(V1) - 0.215574) < 1e-6


def test_wikipedia_example_through_votes_pads_to_six_categories():
    # Five categories used; the sixth column stays empty: Fleiss unchanged, Randolph uses q = 6.
    result = agreement(votes_from_counts(V1))
    assert abs(result["fleiss_kappa"] - 0.209931) < 1e-6
    assert result["fleiss_method"] == "fleiss"
    p_bar = 0.378021978
    assert abs(result["randolph_kappa"] - (p_bar - 1 / 6) / (1 - 1 / 6)) < 1e-6
    assert result["n_items"] == 10 and result["n_ratings"] == 140
    assert set(result["per_category"]) == set(NAMES)
    assert result["per_category"][NAMES[5]] is None  # nobody chose it


def test_krippendorff_docstring_example_with_missing_raters():
    nan = np.nan
    data = [
        [nan, nan, nan, nan, nan, 3, 4, 1, 2, 1, 1, 3, 3, nan, 3],
        [1, nan, 2, 1, 3, 3, 4, 3, nan, nan, nan, nan, nan, nan, nan],
        [nan, nan, 2, 1, 3, 4, 4, nan, 2, 1, 1, 3, 3, nan, 4],
    ]
    import krippendorff

    assert abs(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal") - 0.691358) < 1e-6
    assert abs(krippendorff.alpha(reliability_data=data, level_of_measurement="interval") - 0.810845) < 1e-6
    rows = [{"item": f"u{u}", "rater": f"c{c}", "category": NAMES[int(v) - 1]}
            for c, line in enumerate(data) for u, v in enumerate(line) if not math.isnan(v)]
    result = agreement(pd.DataFrame(rows))
    assert abs(result["krippendorff_alpha"] - 0.691358) < 1e-6
    assert result["fleiss_method"] == "gwet-generalised"  # 1..3 raters per item


def test_cohen_examples():
    assert abs(cohen_kappa([[20, 5], [10, 15]]) - 0.4) < 1e-9
    sas = [[0, 4, 1], [0, 8, 0], [0, 1, 5]]
    assert abs(cohen_kappa(sas) - 0.4842) < 5e-5
    assert abs(cohen_kappa(sas, "linear") - 0.4701) < 5e-5
    assert abs(cohen_kappa([[13, 0, 0], [0, 20, 7], [0, 4, 56]]) - 0.7964094) < 1e-7


def test_total_disagreement_is_minus_half_and_single_category_is_undefined():
    assert abs(fleiss_equal(np.array([[1, 1, 1], [1, 1, 1]]))["kappa"] + 0.5) < 1e-9
    res = agreement_from_counts(np.array([[3, 0, 0, 0, 0, 0]] * 4))
    assert res["fleiss_kappa"] is None
    assert any("undefined" in n for n in res["notes"])


def test_single_rater_is_a_clear_error():
    votes = pd.DataFrame({"item": ["a", "b"], "rater": ["r", "r"], "category": ["Fear", "Sadness"]})
    with pytest.raises(ConfigError, match="two raters per item"):
        agreement(votes)


def test_by_group_and_pairwise_cohen():
    votes = votes_from_counts(V1[:, :5])
    votes["group"] = np.where(votes["item"].isin(["i0", "i1", "i2"]), "A", "B")
    res = agreement(votes, by="group")
    assert set(res["by_group"]) == {"A", "B"}
    assert res["by_group"]["A"]["n_items"] == 3
    pairs = pairwise_cohen(votes_from_counts(np.array([[2, 0, 0, 0, 0, 0], [0, 2, 0, 0, 0, 0]])))
    assert pairs.loc[0, "kappa"] == pytest.approx(1.0)


def test_coincidences_are_symmetric_and_count_pairs():
    counts, _ = count_table(votes_from_counts(np.array([[2, 1, 0, 0, 0, 0]])))
    co = coincidences(counts)
    assert co[0, 0] == 2 and co[0, 1] == 2 and co[1, 0] == 2 and co.sum() == 6


counts_strategy = st.integers(2, 6).flatmap(
    lambda n: st.lists(st.lists(st.integers(0, 5), min_size=n, max_size=n), min_size=2, max_size=12))


@settings(max_examples=40, deadline=None)
@given(counts_strategy, st.randoms(use_true_random=False))
def test_kappa_is_invariant_to_permuting_items_and_raters(labels, rnd):
    votes = pd.DataFrame([{"item": f"i{i}", "rater": f"r{r}", "category": NAMES[c]}
                          for i, row in enumerate(labels) for r, c in enumerate(row)])
    base = agreement(votes)
    shuffled = votes.sample(frac=1, random_state=rnd.randint(0, 10_000)).reset_index(drop=True)
    mapping = {f"r{k}": f"r{v}" for k, v in enumerate(rnd.sample(range(6), 6))}
    shuffled["rater"] = shuffled["rater"].map(mapping)
    other = agreement(shuffled)
    for key in ("fleiss_kappa", "krippendorff_alpha", "randolph_kappa", "observed_agreement"):
        a, b = base[key], other[key]
        assert (a is None and b is None) or abs(a - b) < 1e-9


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=2, max_size=20), st.integers(2, 5))
def test_perfect_agreement_gives_one(categories, raters):
    if len(set(categories)) < 2:
        categories = [*categories, (categories[0] + 1) % 6]
    votes = pd.DataFrame([{"item": f"i{i}", "rater": f"r{r}", "category": NAMES[c]}
                          for i, c in enumerate(categories) for r in range(raters)])
    res = agreement(votes)
    assert res["fleiss_kappa"] == pytest.approx(1.0)
    assert res["krippendorff_alpha"] == pytest.approx(1.0)
    assert res["observed_agreement"] == pytest.approx(1.0)


def test_gwet_generalisation_by_hand_for_unequal_raters():
    # item 1: 2 raters agree (A, A)        -> agreement 2*1 / (2*1) = 1
    # item 2: 3 raters all differ (A, B, C) -> 0
    # item 3: 3 raters (A, A, B)           -> 2*1 / (3*2) = 1/3          p_a = (1 + 0 + 1/3) / 3 = 4/9
    # pi_A = (1 + 1/3 + 2/3) / 3 = 2/3, pi_B = (1/3 + 1/3) / 3 = 2/9, pi_C = 1/9  -> P_e = 41/81
    # kappa = (36/81 - 41/81) / (40/81) = -1/8
    counts = np.array([[2, 0, 0, 0, 0, 0], [1, 1, 1, 0, 0, 0], [2, 1, 0, 0, 0, 0]])
    res = agreement_from_counts(counts)
    assert res["fleiss_method"] == "gwet-generalised"
    assert res["fleiss_kappa"] == pytest.approx(-0.125)
    assert res["observed_agreement"] == pytest.approx(4 / 9)
    assert res["randolph_kappa"] == pytest.approx((4 / 9 - 1 / 6) / (5 / 6))
    with pytest.raises(AssertionError):  # why statsmodels is not called here: it assumes equal raters
        from statsmodels.stats.inter_rater import fleiss_kappa

        fleiss_kappa(counts)
