import random

import pytest

from core.crosscheck import DEFAULT_LAYOUT, draw_sets, stage_sizes
from core.errors import ConfigError

CYCLIC = {"A": "B", "B": "C", "C": "A"}


def labels(per_category: dict[str, int], groups=("A", "B", "C")) -> list[tuple[str, str, str]]:
    return [(f"{g}-{c}-{i}", g, c) for g in groups for c, n in per_category.items() for i in range(n)]


def as_tuples(sets):
    return [(s.stage, s.origin_group, s.target_group, s.category, s.number, s.items) for s in sets]


def test_stage_sizes_share_short_categories_evenly():
    assert stage_sizes(600, 3, 2, 100) == [100, 100, 100]
    assert stage_sizes(250, 3, 1, 100) == [84, 83, 83]
    assert stage_sizes(102, 1, 2, 100) == [51]
    assert stage_sizes(1, 3, 1, 100) == [1, 0, 0]
    assert stage_sizes(1, 1, 2, 100) == [0]


def test_the_paper_layout_and_disjoint_stages():
    sets, warnings = draw_sets(labels({"Neutral": 600, "Excitation": 400, "Fear": 200, "Sadness": 200,
                                       "Relaxation": 200, "Tension": 200, "more": 9}), CYCLIC, stages=("sA", "sB"))
    assert warnings == []
    assert len(sets) == 3 * 2 * sum(DEFAULT_LAYOUT.values())
    assert {len(s.items) for s in sets} == {100}
    items = [i for s in sets for i in s.items]
    assert len(items) == len(set(items)) and not any("more" in i for i in items)
    assert sets[0].set_id == "sA-A-Neutral-1" and sets[0].target_group == "B"


def test_the_draw_depends_on_the_seed_not_on_the_input_order():
    rows = labels({"Fear": 30, "Neutral": 40})
    first, _ = draw_sets(rows, CYCLIC, set_size=5, seed=3)
    shuffled = list(rows)
    random.Random(1).shuffle(shuffled)
    assert as_tuples(draw_sets(shuffled, CYCLIC, set_size=5, seed=3)[0]) == as_tuples(first)
    assert as_tuples(draw_sets(rows, CYCLIC, set_size=5, seed=4)[0]) != as_tuples(first)


def test_drawing_sb_from_what_sa_left_equals_drawing_both_at_once():
    rows = labels({"Fear": 30, "Neutral": 40, "Tension": 12})
    both, _ = draw_sets(rows, CYCLIC, stages=("sA", "sB"), set_size=5, seed=9)
    sa, _ = draw_sets(rows, CYCLIC, stages=("sA",), set_size=5, seed=9)
    used = {i for s in sa for i in s.items}
    sb, _ = draw_sets([r for r in rows if r[0] not in used], CYCLIC, stages=("sB",), set_size=5, seed=9)
    assert sorted(as_tuples(both)) == sorted(as_tuples(sa + sb))


def test_short_categories_shrink_with_a_warning_and_lonely_groups_hand_out_nothing():
    sets, warnings = draw_sets(labels({"Fear": 102, "Neutral": 1}, groups=("A",)), {"A": "B"}, stages=("sA", "sB"),
                               layout={"Neutral": 3, "Fear": 1})
    assert [(s.stage, s.category, len(s.items)) for s in sets] == [("sA", "Fear", 51), ("sB", "Fear", 51)]
    assert warnings == ["group A: 1 Neutral samples for 6 sets of 100: no sets",
                        "group A: 102 Fear samples for 2 sets of 100: 2 sets of 51"]
    sets, _ = draw_sets(labels({"Fear": 5}), {"A": "A", "B": "C"})
    assert {s.origin_group for s in sets} == {"B"}  # A has no other partner, C none at all
    with pytest.raises(ConfigError):
        draw_sets([], CYCLIC, set_size=0)
