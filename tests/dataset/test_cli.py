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


URL_LABELS = ("sample_id,category,url,platform,platform_id\n"
              + "".join(f"e{i},Excitation,https://example.org/v/e{i},,\n" for i in range(5))
              + "".join(f"f{i},fear,,youtube,0{i}Ab\n" for i in range(5))
              + "o1,Neutral,https://example.org/v/o1,,\n"
              + "o2,,https://example.org/v/o2,,\n")  # unresolved: left out


def test_urls_only_from_labels_alone_without_a_clean_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # default data dir ./data holds no clean manifest
    (tmp_path / "labels.csv").write_text(URL_LABELS)
    rc = main(["dataset", "build", "--labels", "labels.csv", "--urls-only"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert captured.out.splitlines()[:2] == ["built datasets/emotions/v1",
                                             "  all            11 samples (train 9, test 2)"]
    assert captured.out.splitlines()[-1] == "  left out: unresolved 1"
    folder = tmp_path / "datasets" / "emotions" / "v1" / "all"
    urls = pd.read_csv(folder / "urls.csv", dtype=str, keep_default_na=False)
    assert list(urls.columns) == ["sample_id", "platform", "platform_id", "url", "category", "label", "split"]
    assert urls["sample_id"].tolist() == [*(f"e{i}" for i in range(5)), *(f"f{i}" for i in range(5)), "o1"]
    rows = urls.set_index("sample_id")
    assert rows.loc["e3", ["platform", "platform_id", "url", "category", "label"]].tolist() == [
        "", "", "https://example.org/v/e3", "Excitation", "0"]
    assert rows.loc["f2", ["platform", "platform_id", "url", "category", "label"]].tolist() == [
        "youtube", "02Ab", "", "Fear", "1"]
    assert rows.loc["o1", "label"] == "2"
    assert rows.groupby("category")["split"].apply(lambda s: (s == "test").sum()).to_dict() == {
        "Excitation": 1, "Fear": 1, "Neutral": 0}
    assert not (folder / "data").exists() and not (folder / "cache").exists()
    card = (folder / "card.md").read_text()
    assert "- Clean manifest: none; the URL list was built from the labels file alone." in card
    assert "neither a URL" not in card
    build_json = json.loads((folder.parent / "build.json").read_text())
    assert build_json["inputs"]["clean_rows"] is None and build_json["inputs"]["clean_sha256"] is None
    assert (folder.parent / "recipe.yaml").read_text().count("clean: null") == 1


def test_urls_only_from_labels_alone_refuses_rows_it_cannot_locate(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    labels = tmp_path / "labels.csv"
    labels.write_text("sample_id,category,note\na,Fear,x\n")
    rc = main(["dataset", "build", "--labels", "labels.csv", "--urls-only"])
    assert rc == 2
    assert capsys.readouterr().err.strip() == (
        "error: labels file labels.csv: a URL list without a clean manifest needs a url column, or platform and "
        "platform_id columns (found: sample_id, category, note) (add those columns, or pass --clean with the clean "
        "manifest)")
    labels.write_text("sample_id,category,url,platform,platform_id\na,Fear,https://e.org/a,,\nb,Fear,,tiktok,\n")
    rc = main(["dataset", "build", "--labels", "labels.csv", "--urls-only"])
    assert rc == 2
    assert capsys.readouterr().err.strip() == (
        "error: labels file labels.csv line 3: sample_id 'b' has no url and no platform + platform_id "
        "(fill them in, or drop the row)")
    # a clean manifest named on the command line must exist; without --urls-only one is needed
    rc = main(["dataset", "build", "--labels", "labels.csv", "--urls-only", "--clean", "nowhere"])
    assert rc == 2 and "clean manifest nowhere: not found" in capsys.readouterr().err
    rc = main(["dataset", "build", "--labels", "labels.csv"])
    assert rc == 2 and "clean manifest data/clean: not found" in capsys.readouterr().err


def test_urls_only_still_uses_the_clean_manifest_when_there_is_one(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_project(tmp_path / "data", {"Excitation": 4, "Sadness": 3})
    rc = main(["dataset", "build", "--labels", "data/labels.csv", "--urls-only", "--variant", "all"])
    assert rc == 0, capsys.readouterr().err
    urls = pd.read_csv(tmp_path / "datasets" / "emotions" / "v1" / "all" / "urls.csv")
    assert urls["url"].str.startswith("https://example.org/v/").all()  # page_url from the clean manifest
    assert set(urls["platform"]) == {"douyin", "kuaishou", "tiktok"}
