import pytest

from annotation_app.services.ladder import LADDER, decide, pattern_of, winner

# stage 1 members: 3 or 2-1 resolve, 1-1-1 goes to the leader
MEMBER_ROWS = [
    (["Fear", "Fear", "Fear"], True, "Fear", "3"),
    (["Fear", "Sadness", "Fear"], True, "Fear", "2-1"),
    (["Sadness", "Fear", "Fear"], True, "Fear", "2-1"),
    (["Fear", "Sadness", "Tension"], False, None, "1-1-1"),
]
# stage 2 leader (4th vote): from 1-1-1, 2-1-1 resolves, 1-1-1-1 goes to the exchange leader
LEADER_ROWS = [
    (["Fear", "Sadness", "Tension", "Sadness"], True, "Sadness", "2-1-1"),
    (["Fear", "Sadness", "Tension", "Neutral"], False, None, "1-1-1-1"),
]
# stage 3 exchange (5th vote): from 1-1-1-1, 2-1-1-1 resolves, 1-1-1-1-1 goes to the expert
EXCHANGE_ROWS = [
    (["Fear", "Sadness", "Tension", "Neutral", "Tension"], True, "Tension", "2-1-1-1"),
    (["Fear", "Sadness", "Tension", "Neutral", "Relaxation"], False, None, "1-1-1-1-1"),
]


@pytest.mark.parametrize(("votes", "resolved", "category", "pattern"), MEMBER_ROWS)
def test_member_stage(votes, resolved, category, pattern):
    d = decide(votes, "member")
    assert (d.resolved, d.category, d.pattern) == (resolved, category, pattern)
    assert d.decided_stage == ("member" if resolved else None)
    assert d.next_stage == (None if resolved else "leader")


@pytest.mark.parametrize(("votes", "resolved", "category", "pattern"), LEADER_ROWS)
def test_leader_stage(votes, resolved, category, pattern):
    d = decide(votes, "leader")
    assert (d.resolved, d.category, d.pattern) == (resolved, category, pattern)
    assert d.next_stage == (None if resolved else "exchange")


@pytest.mark.parametrize(("votes", "resolved", "category", "pattern"), EXCHANGE_ROWS)
def test_exchange_stage(votes, resolved, category, pattern):
    d = decide(votes, "exchange")
    assert (d.resolved, d.category, d.pattern) == (resolved, category, pattern)
    assert d.next_stage == (None if resolved else "expert")


@pytest.mark.parametrize("rule", ["plurality", "strict"])
def test_expert_always_final_with_own_category(rule):
    votes = ["Fear", "Sadness", "Tension", "Neutral", "Relaxation", "Excitation"]
    d = decide(votes, "expert", rule)
    assert (d.resolved, d.category, d.decided_stage, d.next_stage) == (True, "Excitation", "expert", None)
    # even when the expert sides with a category that already had a vote
    assert decide([*votes[:5], "Fear"], "expert", rule).category == "Fear"


@pytest.mark.parametrize(("votes", "stage", "next_stage"), [
    (["Fear", "Fear", "Sadness", "Sadness"], "leader", "exchange"),          # 2-2
    (["Fear", "Fear", "Sadness", "Sadness", "Tension"], "exchange", "expert"),  # 2-2-1
    (["Fear", "Sadness"], "member", "leader"),                               # 1-1 with a missing member
    (["Fear", "Fear", "Sadness", "Sadness"], "member", "leader"),            # 2-2 with a fourth member
])
def test_ties_escalate(votes, stage, next_stage):
    d = decide(votes, stage)
    assert not d.resolved and d.next_stage == next_stage


def test_generalised_two_member_stage_resolves_on_two():
    assert decide(["Fear", "Fear"], "member").category == "Fear"
    assert decide(["Fear"], "member").next_stage == "leader"  # a single vote is never a majority


@pytest.mark.parametrize(("votes", "stage", "resolved"), [
    (["Fear", "Fear", "Fear"], "member", True),
    (["Fear", "Fear", "Sadness"], "member", True),                       # 2 of 3 is a strict majority
    (["Fear", "Sadness", "Tension", "Fear"], "leader", False),           # 2-1-1: 2 of 4 is not
    (["Fear", "Sadness", "Tension", "Neutral", "Fear"], "exchange", False),  # 2-1-1-1: 2 of 5 is not
])
def test_strict_rule(votes, stage, resolved):
    d = decide(votes, stage, "strict")
    assert d.resolved is resolved
    if not resolved:
        assert d.next_stage == LADDER[LADDER.index(stage) + 1]


def test_winner_and_pattern_helpers():
    assert winner([]) is None
    assert winner(["A", "A", "B", "B", "C", "C", "C"]) == "C"
    assert pattern_of(["x", "y", "x", "z", "x"]) == "3-1-1"
    with pytest.raises(ValueError, match="unknown vote rule"):
        winner(["A", "A"], "mode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown stage"):
        decide(["A"], "boss")
    with pytest.raises(ValueError, match="without votes"):
        decide([], "member")
