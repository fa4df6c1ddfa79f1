"""Audited labels reach the dataset: a rebuild from the new export is a new version whose card counts the changes."""

import pandas as pd
import pytest

from core.errors import ConfigError
from dataset.build import build
from dataset.recipe import load_recipe
from tests.dataset.conftest import sample_id, write_project

COUNTS = {"Excitation": 6, "Fear": 6, "Neutral": 6, "Relaxation": 6, "Sadness": 6, "Tension": 6}
AUDITED = {0: "Fear", 7: "Neutral", 8: "Tension"}  # sample index -> the category the expert's audit gave it


def test_rebuild_with_audited_labels_is_a_new_version_and_the_card_counts_the_changes(tmp_path):
    labels, clean = write_project(tmp_path, COUNTS)

    def audited(i: int, _clean: dict, label: dict) -> None:
        if i in AUDITED:
            label["final_category"], label["decided_stage"] = AUDITED[i], "audit"

    audited_labels, _ = write_project(tmp_path / "after", COUNTS, row_hook=audited)
    v1 = build(load_recipe(media="none", version="v1", variants=["all"]), labels, clean, tmp_path / "ds" / "v1")
    with pytest.raises(ConfigError, match="already holds a different build"):
        build(load_recipe(media="none", version="v1", variants=["all"]), audited_labels, clean, v1.out)
    v2 = build(load_recipe(media="none", version="v2", variants=["all"]), audited_labels, clean,
               tmp_path / "ds" / "v2")
    card1, card2 = (out / "all" / "card.md" for out in (v1.out, v2.out))
    line = "Labels changed by the expert's audit of likely label errors (model in the loop, decided stage `audit`): "
    assert line + "0." in card1.read_text() and line + "3." in card2.read_text()
    manifest = pd.read_parquet(v2.out / "all" / "manifest.parquet").set_index("sample_id")
    changed = manifest[manifest["decided_stage"] == "audit"]
    assert changed["category"].to_dict() == {sample_id(i): cat for i, cat in AUDITED.items()}
