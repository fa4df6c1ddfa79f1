"""Splits: stratified within one sample per category, seeded, and near-duplicate groups kept whole."""

import pandas as pd
import pytest

from core.errors import ConfigError
from dataset.splits import assign_splits, given_splits, split_targets, straddling_groups
from tests.dataset.conftest import sample_id


def _table(counts, group_size=1):
    rows, i = [], 0
    for cat, n in counts.items():
        for k in range(n):
            rows.append({"sample_id": sample_id(i), "category": cat, "group": f"{cat}-{k // group_size}"})
            i += 1
    return pd.DataFrame(rows)


@pytest.mark.parametrize("ratios", [{"train": 0.8, "test": 0.2}, {"train": 0.8, "val": 0.1, "test": 0.1}])
def test_every_category_is_split_to_its_target(ratios):
    counts = {"Excitation": 1173, "Fear": 95, "Neutral": 879, "Sadness": 7}
    table = _table(counts)
    table["split"] = assign_splits(table, ratios, seed=0)
    for cat, n in counts.items():
        got = table[table["category"] == cat]["split"].value_counts().to_dict()
        for split, ratio in ratios.items():
            assert abs(got.get(split, 0) - n * ratio) <= 1, (cat, split, got)
    assert split_targets({"Fear": 954}, {"train": 0.8, "test": 0.2}) == {"Fear": {"train": 763, "test": 191}}
    # a small category still gets one test sample when it has at least one per split
    assert split_targets({"Fear": 2, "Sadness": 1}, {"train": 0.8, "test": 0.2}) == {
        "Fear": {"train": 1, "test": 1}, "Sadness": {"train": 1, "test": 0}}


def test_groups_never_straddle_and_counts_stay_close():
    table = _table({"Excitation": 600, "Neutral": 400}, group_size=3)
    table["split"] = assign_splits(table, {"train": 0.8, "test": 0.2}, seed=1)
    assert straddling_groups(table) == []
    test_share = (table["split"] == "test").mean()
    assert abs(test_share - 0.2) < 0.01


def test_mixed_category_groups_stay_together():
    table = _table({"Excitation": 100, "Fear": 100})
    table.loc[table.index % 10 == 0, "group"] = "shared"  # one group spanning both categories
    table["split"] = assign_splits(table, {"train": 0.8, "test": 0.2}, seed=0)
    assert table[table["group"] == "shared"]["split"].nunique() == 1


def test_seed_changes_the_split_and_repeats_it():
    table = _table({"Excitation": 100})
    a = assign_splits(table, {"train": 0.8, "test": 0.2}, seed=0).tolist()
    assert a == assign_splits(table, {"train": 0.8, "test": 0.2}, seed=0).tolist()
    assert a != assign_splits(table, {"train": 0.8, "test": 0.2}, seed=1).tolist()


def test_given_splits_accept_common_spellings_and_refuse_others():
    table = pd.DataFrame({"split": ["Train", "validation", "TEST"]})
    assert given_splits(table, "split").tolist() == ["train", "val", "test"]
    with pytest.raises(ConfigError, match="split value 'holdout'"):
        given_splits(pd.DataFrame({"split": ["holdout"]}), "split")
    with pytest.raises(ConfigError, match="no column 'fold'"):
        given_splits(table, "fold")
