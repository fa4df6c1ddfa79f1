"""`emotions dataset …` commands: build, stats, and one-line errors."""

import json

import pandas as pd

from core.cli import main
from tests.dataset.conftest import write_project


def test_build_then_stats(tmp_path, capsys):
    labels, clean = write_project(tmp_path, {"Excitation": 30, "Fear": 4, "Neutral": 20})
    out = tmp_path / "ds"
    rc = main(["dataset", "build", "--labels", str(labels), "--clean", str(clean), "--out", str(out),
               "--balanced", "Excitation=10,Neutral=10", "--test-size", "20", "--media", "none"])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert f"built {out}" in text
    assert "balanced       24 samples" in text
    assert sorted(p.name for p in out.iterdir()) == ["all", "balanced", "build.json", "recipe.yaml", "test"]

    assert main(["dataset", "stats", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "## all (54 samples)" in shown and "| Fear | 4 |" in shown and "Table III" in shown
    assert main(["dataset", "stats", str(out / "test"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == ["test"] and data["test"]["samples"] == 20


def test_variant_seed_and_split_options(tmp_path, capsys):
    labels, clean = write_project(tmp_path, {"Excitation": 30, "Fear": 10})
    out = tmp_path / "ds"
    rc = main(["dataset", "build", "--labels", str(labels), "--clean", str(clean), "--out", str(out),
               "--variant", "all", "--seed", "9", "--split", "0.6,0.2,0.2", "--media", "none"])
    assert rc == 0, capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == ["all", "build.json", "recipe.yaml"]
    recipe = (out / "all" / "recipe.yaml").read_text()
    assert "seed: 9" in recipe and "val: 0.2" in recipe


def test_default_output_folder_is_datasets_name_version(tmp_path, monkeypatch, capsys):
    labels, clean = write_project(tmp_path, {"Excitation": 5, "Fear": 5})
    monkeypatch.chdir(tmp_path)
    rc = main(["dataset", "build", "--labels", str(labels), "--clean", str(clean), "--name", "mini",
               "--version", "v2", "--variant", "all", "--media", "none"])
    assert rc == 0, capsys.readouterr()
    assert (tmp_path / "datasets" / "mini" / "v2" / "all" / "manifest.parquet").exists()


def test_errors_are_one_line_and_non_zero(tmp_path, capsys):
    labels, clean = write_project(tmp_path, {"Excitation": 3})
    bad = tmp_path / "bad.csv"
    bad.write_text("sample_id,category\nabc,Joy\n")
    rc = main(["dataset", "build", "--labels", str(bad), "--clean", str(clean), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert err[0].startswith(f"error: labels file {bad} line 2: unknown category 'Joy'")
    rc = main(["dataset", "build", "--labels", str(tmp_path / "none.csv"), "--clean", str(clean)])
    assert rc == 2 and "not found" in capsys.readouterr().err
    rc = main(["dataset", "stats", str(tmp_path)])
    assert rc == 2 and "not a built dataset" in capsys.readouterr().err
    rc = main(["dataset", "build", "--labels", str(labels), "--clean", str(clean), "--balanced", "Excitation"])
    assert rc == 2 and "Category=N" in capsys.readouterr().err


def test_group_help_lists_commands_and_loading_it_stays_light(capsys):
    import subprocess
    import sys

    assert main(["dataset", "--help"]) == 0
    shown = capsys.readouterr().out
    for name in ("build", "import-folder", "stats"):
        assert name in shown
        assert main(["dataset", name, "--help"]) == 0
    code = "import sys, dataset.cli; print([m for m in ('pandas', 'pyarrow', 'matplotlib') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_recipe_file_with_its_own_vocabulary(tmp_path, capsys):
    labels, clean = write_project(tmp_path, {"Surprise": 8, "Disgust": 4})
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("name: ek\ncategories: [surprise, disgust]\npolarity: {Disgust: negative}\n"
                      "balanced: {surprise: 3}\ntest_size: 6\nmedia: none\n")
    out = tmp_path / "ds"
    rc = main(["dataset", "build", "--labels", str(labels), "--clean", str(clean), "--out", str(out),
               "--recipe", str(recipe)])
    assert rc == 0, capsys.readouterr()
    frame = pd.read_parquet(out / "balanced" / "manifest.parquet")
    assert frame.groupby("category")["label"].first().to_dict() == {"disgust": 0, "surprise": 1}
    polarity = frame.drop_duplicates("category").set_index("category")["polarity"]
    assert polarity["disgust"] == "negative" and pd.isna(polarity["surprise"])
    assert len(frame) == 7
    recipe.write_text("categories: [surprise, disgust]\nbalanced: {Joy: 3}\n")
    rc = main(["dataset", "build", "--labels", str(labels), "--clean", str(clean), "--recipe", str(recipe)])
    assert rc == 2 and "balanced: unknown category 'Joy'" in capsys.readouterr().err
