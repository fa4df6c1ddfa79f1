import pandas as pd
import pytest

from core.errors import ConfigError
from qa.swaps import LabelSource, SwapParams, infer_members, run_swaps

F, T = "Fear", "Tension"


def pilot(m: int = 4, raters=("g1", "g2", "g3", "g4", "w1", "w2")) -> pd.DataFrame:
    """Every annotator re-labelled both Fear sets: g* always agree with the previous label, w* always say Tension.

    Set FA is re-labelled by group A, set FB by group B.
    """
    rows = []
    for set_id, group in (("FA", "A"), ("FB", "B")):
        for j in range(m):
            for rater in raters:
                rows.append({"stage": "sA", "group": group, "set_id": set_id, "set_category": F,
                             "item": f"{set_id}{j}", "previous_label": F, "rater": rater,
                             "label": F if rater.startswith("g") else T})
    return pd.DataFrame(rows)


MEMBERS = {"g1": "A", "g2": "A", "g3": "A", "g4": "B", "w1": "B", "w2": "B"}


def test_one_swap_equalises_the_groups_and_the_loop_stops():
    # Baseline: A = three agreeing members -> every sample C -> S_r = 70.
    # B = g4 + w1 + w2: the two w's form a clear Tension majority -> s = 30.  mu0 = 50, var0 = 400.
    # Swapping g1 (CR 1, group A) with w1 (CR 0, group B) gives A = {g2, g3, w1} -> 70 and
    # B = {g1, g4, w2} -> 70: mu = 70 > 50 and var = 0 < tau, so the loop stops after that one swap.
    result = run_swaps(pilot(), MEMBERS, params=SwapParams(tau=1.0))
    assert result["baseline"]["mu"] == pytest.approx(50) and result["baseline"]["var"] == pytest.approx(400)
    assert result["status"] == "converged"
    assert len(result["steps"]) == 1
    step = result["steps"][0]
    assert (step["high"], step["low"], step["rule"]) == ("g1", "w1", "literal")
    assert step["mu_after"] == pytest.approx(70) and step["var_after"] == pytest.approx(0)
    assert result["changed"] == {"g1": {"from": "A", "to": "B"}, "w1": {"from": "B", "to": "A"}}
    assert result["projected_labels"] == 0  # every needed re-label was measured


def test_gender_rule_only_swaps_same_gender():
    genders = {"g1": "f", "g2": "m", "g3": "m", "g4": "m", "w1": "m", "w2": "f"}
    result = run_swaps(pilot(), MEMBERS, genders, SwapParams(tau=1.0))
    step = result["steps"][0]
    assert genders[step["high"]] == genders[step["low"]]


def test_not_converged_keeps_the_best_allocation():
    result = run_swaps(pilot(), MEMBERS, params=SwapParams(tau=-1.0, rounds=2))
    assert result["status"] == "not converged"
    assert result["final"]["mu"] == pytest.approx(70)


def test_projection_fills_missing_relabels_deterministically():
    own = pilot()
    own = own[own["group"] == own["rater"].map(MEMBERS)]  # each annotator only labelled their group's set
    first = run_swaps(own, MEMBERS, params=SwapParams(tau=1.0))
    second = run_swaps(own, MEMBERS, params=SwapParams(tau=1.0))
    assert first["projected_labels"] > 0
    assert first["steps"] == second["steps"]
    assert first["steps"][0]["high"].startswith("g") and first["steps"][0]["low"].startswith("w")
    assert first["status"] == "converged"


def test_infer_members_and_errors():
    own = pilot()
    own = own[own["group"] == own["rater"].map(MEMBERS)]
    assert infer_members(own) == MEMBERS
    with pytest.raises(ConfigError, match="no group known"):
        run_swaps(pilot(), {"g1": "A"})
    with pytest.raises(ConfigError):
        run_swaps(pilot(), MEMBERS, params=SwapParams(mode="random"))
    assert LabelSource.from_relabels(pilot()).labels("g1", "FB").eq(F).all()


def test_direction_guard_falls_back_to_balancing():
    # A = {g1, w1, w2} is the weak group (S_r 30), B = {g2, g3, w3} the strong one (70). The literal pair is g1 (top
    # CR, lowest id) with w3, but moving g1 out of the weak group would widen the gap: the guard switches to the
    # balancing rule, which takes the best member of B (g2) and the worst of A (w1).
    data = pilot(raters=("g1", "g2", "g3", "w1", "w2", "w3"))
    members = {"g1": "A", "w1": "A", "w2": "A", "g2": "B", "g3": "B", "w3": "B"}
    step = run_swaps(data, members, params=SwapParams(rounds=1))["steps"][0]
    assert (step["high"], step["low"], step["rule"]) == ("g2", "w1", "balancing")
    unguarded = run_swaps(data, members, params=SwapParams(rounds=1, direction_guard=False))["steps"][0]
    assert (unguarded["high"], unguarded["low"], unguarded["rule"]) == ("g1", "w3", "literal")


def test_cr_against_own_group_majority():
    # In B = {g4, w1, w2} the group result is Tension: against it the w's are consistent and g4 is not, so the
    # intra-group reading picks a different pair than the previous-label reading.
    result = run_swaps(pilot(), MEMBERS, params=SwapParams(cr="majority", rounds=1))
    first = result["steps"][0]
    assert first["cr_high"] == 1.0 and first["cr_low"] == 0.0
    assert first["low"] == "g4"
