"""Bad input is refused with one clear line naming the offending row, or left out and counted."""

from pathlib import Path

import pandas as pd
import pytest

from core.errors import ConfigError
from dataset.build import build
from dataset.inputs import join, read_clean, read_labels
from dataset.recipe import load_recipe
from tests.dataset.conftest import sample_id

SMALL = {"Excitation": 6, "Fear": 4, "Neutral": 5}


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_column_names_what_was_found(tmp_path):
    path = _write(tmp_path / "l.csv", "id_of_sample,category\nx,Fear\n")
    with pytest.raises(ConfigError, match=r"missing column\(s\) sample_id \(found: id_of_sample, category\)"):
        read_labels(path)


def test_malformed_csv_and_non_utf8_and_empty_files(tmp_path):
    with pytest.raises(ConfigError, match="malformed CSV"):
        read_labels(_write(tmp_path / "a.csv", 'sample_id,category\n"x,Fear\ny,Fear,extra,more\n'))
    bad = tmp_path / "b.csv"
    bad.write_bytes(b"sample_id,category\nx,\xff\xfe\n")
    with pytest.raises(ConfigError, match="line 2: not UTF-8"):
        read_labels(bad)
    with pytest.raises(ConfigError, match="empty file"):
        read_labels(_write(tmp_path / "c.csv", "\n"))
    with pytest.raises(ConfigError, match="no data rows"):
        read_labels(_write(tmp_path / "d.csv", "sample_id,category\n"))
    with pytest.raises(ConfigError, match="not a readable Parquet file"):
        read_labels(_write(tmp_path / "e.parquet", "not parquet"))


def test_unknown_category_names_the_line(tmp_path):
    path = _write(tmp_path / "l.csv", "sample_id,category\na,Fear\nb,Joy\n")
    with pytest.raises(ConfigError) as err:
        read_labels(path)
    assert "line 3: unknown category 'Joy'" in err.value.one_line()
    assert "known: Excitation, Fear" in err.value.one_line()


def test_duplicate_sample_ids_name_both_lines(tmp_path):
    path = _write(tmp_path / "l.csv", "sample_id,category\na,Fear\nb,Neutral\na,Fear\n")
    with pytest.raises(ConfigError, match="line 4: sample_id 'a' repeats line 2"):
        read_labels(path)


def test_blank_id_and_unknown_status(tmp_path):
    with pytest.raises(ConfigError, match="line 3: empty sample_id"):
        read_labels(_write(tmp_path / "a.csv", "sample_id,category\na,Fear\n ,Fear\n"))
    with pytest.raises(ConfigError, match="line 2: unknown status 'maybe'"):
        read_labels(_write(tmp_path / "b.csv", "sample_id,category,status\na,Fear,maybe\n"))


def test_unresolved_and_excluded_are_left_out_and_counted(tmp_path):
    path = _write(tmp_path / "l.csv", "sample_id,final_category,status,extra\n"
                  "a,fear,resolved,1\nb,,open,2\nc,Neutral,excluded,3\nd,,,4\n")
    labels = read_labels(path)
    assert labels.table["sample_id"].tolist() == ["a"]
    assert labels.table["category"].tolist() == ["Fear"]  # case-insensitive, canonical spelling
    assert labels.table["extra"].tolist() == ["1"]  # carried along
    assert labels.left_out == {"unresolved": 2, "excluded": 1}


def test_parquet_labels_are_read(tmp_path):
    path = tmp_path / "l.parquet"
    pd.DataFrame({"sample_id": ["a", "b"], "category": ["Fear", "Tension"], "score": [1, 2]}).to_parquet(path)
    labels = read_labels(path)
    assert labels.table["category"].tolist() == ["Fear", "Tension"]
    dup = tmp_path / "d.parquet"
    pd.DataFrame({"sample_id": ["a", "a"], "category": ["Fear", "Fear"]}).to_parquet(dup)
    with pytest.raises(ConfigError, match="row 2: sample_id 'a' repeats row 1"):
        read_labels(dup)


def test_labels_for_samples_missing_from_the_manifest_are_refused(project, tmp_path):
    labels, clean = project(SMALL, extra_labels=[{"sample_id": "feedbeef", "final_category": "Fear"}])
    with pytest.raises(ConfigError) as err:
        join(read_labels(labels), read_clean(clean))
    assert "line 17: sample_id 'feedbeef' is not in the clean manifest" in err.value.one_line()


def test_samples_rejected_by_cleaning_are_left_out_and_counted(project):
    def hook(i, row, label):
        if i < 2:
            row["status"], row["reason"] = "rejected", "too_short"
        if i == 2:
            row["status"], row["duplicate_of"] = "duplicate", sample_id(3)

    labels, clean = project(SMALL, row_hook=hook)
    table, left_out = join(read_labels(labels), read_clean(clean))
    assert len(table) == 12
    assert left_out == {"unresolved": 0, "excluded": 0, "clean_rejected": 2, "clean_duplicate": 1}
    table, left_out = join(read_labels(labels), read_clean(clean), include_duplicates=True)
    assert len(table) == 13


def test_require_complete_refuses_unresolved_labels(project, tmp_path):
    labels, clean = project(SMALL, extra_labels=[{"sample_id": "x", "final_category": "", "status": "open"}])
    with pytest.raises(ConfigError, match="1 samples are unresolved"):
        build(load_recipe(require_complete=True, media="none"), labels, clean, tmp_path / "out")
    result = build(load_recipe(media="none"), labels, clean, tmp_path / "out")
    assert result.left_out["unresolved"] == 1
    assert "unresolved: 1" in (tmp_path / "out" / "all" / "card.md").read_text()


def test_missing_media_files_are_listed(project, tmp_path):
    labels, clean = project(SMALL, media=True)
    victims = sorted((clean / "web").rglob("*.mp4"))[:2]
    for v in victims:
        v.unlink()
    with pytest.raises(ConfigError) as err:
        build(load_recipe(), labels, clean, tmp_path / "out")
    line = err.value.one_line()
    assert line.startswith("2 media files named by the clean manifest are missing: ")
    assert all(str(v) in line for v in victims)
    assert not (tmp_path / "out").exists()


def test_output_holding_a_different_build_is_refused_unless_overwrite(project, tmp_path):
    labels, clean = project(SMALL)
    out = tmp_path / "out"
    build(load_recipe(media="none"), labels, clean, out)
    build(load_recipe(media="none"), labels, clean, out)  # the same build again: allowed
    with pytest.raises(ConfigError, match="already holds a different build"):
        build(load_recipe(media="none", seed=3), labels, clean, out)
    build(load_recipe(media="none", seed=3), labels, clean, out, overwrite=True)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="already holds a different build"):
        build(load_recipe(media="none"), labels, clean, other)
    assert (other / "notes.txt").read_text() == "mine"


def test_clean_manifest_problems(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        read_clean(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no complete shard"):
        read_clean(tmp_path / "empty")
    _write(tmp_path / "m.jsonl", '{"id": "a"}\n')
    with pytest.raises(ConfigError, match="no 'status' field"):
        read_clean(tmp_path / "m.jsonl")
    _write(tmp_path / "n.jsonl", '{"id": "a", "status": "kept"}\n{oops\n')
    with pytest.raises(ConfigError, match="malformed row"):
        read_clean(tmp_path / "n.jsonl")


def test_bad_recipe_values_are_one_clear_line(tmp_path):
    with pytest.raises(ConfigError, match="split ratios must add up to 1"):
        load_recipe(split={"train": 0.7, "test": 0.2})
    with pytest.raises(ConfigError, match="unknown category 'Joy'"):
        load_recipe(balanced={"Joy": 3})
    recipe = tmp_path / "r.yaml"
    recipe.write_text("seed: [1\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_recipe(recipe)
    recipe.write_text("test_size: 10\nvariants: test,all\n")
    assert load_recipe(recipe).variants == ("all", "test")


def test_a_build_with_nothing_left_is_refused(project, tmp_path):
    def hook(i, row, label):
        row["status"] = "rejected"

    labels, clean = project({"Fear": 3}, row_hook=hook)
    with pytest.raises(ConfigError, match="no sample is left to build \\(left out: clean rejected 3\\)"):
        build(load_recipe(media="none"), labels, clean, tmp_path / "out")
