"""import-folder: folder layouts, matching cleaned files back to labels, and a build from real clips."""

from pathlib import Path

import pandas as pd
import pytest

import core.cli as core_cli
from core.cli import main
from core.errors import ConfigError, NotBuiltYet
from dataset.importer import run_clean, scan


def _touch(root: Path, rel: str, data: bytes | None = None) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if data is not None else rel.encode())


def test_one_sub_folder_per_category_with_aliases_and_splits(tmp_path):
    for rel in ("Train/Excited/video/1.mp4", "Train/Sad/2.MP4", "Test/fear/3.mkv", "Test/Fear/notes.txt",
                ".hidden/Fear/4.mp4"):
        _touch(tmp_path, rel)
    frame = scan(tmp_path)
    assert frame.to_dict("records") == [
        {"file": "Test/fear/3.mkv", "category": "Fear", "split": "test"},
        {"file": "Train/Excited/video/1.mp4", "category": "Excitation", "split": "train"},
        {"file": "Train/Sad/2.MP4", "category": "Sadness", "split": "train"},
    ]


def test_names_outside_the_taxonomy_are_mapped_or_kept_as_source_classes(tmp_path):
    _touch(tmp_path, "Happy/1.mp4")
    _touch(tmp_path, "Anger/2.mp4")
    with pytest.raises(ConfigError, match="'Anger' is not an eMotions category"):
        scan(tmp_path, categories="emotions")
    mapped = scan(tmp_path, {"anger": "Tension", "Happy": "excitation"})
    assert mapped.attrs["vocabulary"] == "emotions"
    assert dict(zip(mapped["file"], mapped["category"], strict=True)) == {"Anger/2.mp4": "Tension",
                                                                          "Happy/1.mp4": "Excitation"}
    own = scan(tmp_path)  # auto: not every name maps, so the source's own classes are kept
    assert own.attrs["vocabulary"] == "source"
    assert own["category"].tolist() == ["Anger", "Happy"]
    assert scan(tmp_path, {"Happy": "Joy"}, categories="source")["category"].tolist() == ["Anger", "Joy"]
    with pytest.raises(ConfigError, match="categories must be one of"):
        scan(tmp_path, categories="mine")


def test_files_and_labels_csv(tmp_path):
    _touch(tmp_path, "a.mp4")
    _touch(tmp_path, "b.mp4")
    (tmp_path / "labels.csv").write_text("file,category,split,source\na.mp4,Excited,Train,x\nb.mp4,Neutral,Test,y\n")
    frame = scan(tmp_path)
    assert frame["category"].tolist() == ["Excitation", "Neutral"]
    assert frame["split"].tolist() == ["train", "test"]
    assert frame["source"].tolist() == ["x", "y"]
    (tmp_path / "labels.csv").write_text("file,category\na.mp4,Neutral\nb.mp4,Anger\n")
    with pytest.raises(ConfigError, match="line 3: 'Anger' is not an eMotions category"):
        scan(tmp_path, categories="emotions")
    assert scan(tmp_path)["category"].tolist() == ["Neutral", "Anger"]
    (tmp_path / "labels.csv").write_text("file,category\nc.mp4,Neutral\n")
    with pytest.raises(ConfigError, match=r"line 2: file 'c\.mp4' not found"):
        scan(tmp_path)
    (tmp_path / "labels.csv").write_text("name,category\n")
    with pytest.raises(ConfigError, match=r"missing column\(s\) file"):
        scan(tmp_path)


def test_real_music_video_layout_is_understood(music_video_dir):
    frame = scan(music_video_dir)
    assert len(frame) == 52
    assert frame["category"].value_counts().to_dict() == {"Neutral": 10, "Sadness": 10, "Tension": 10,
                                                          "Excitation": 8, "Fear": 8, "Relaxation": 6}


def test_missing_clean_stage_is_reported(monkeypatch, tmp_path):
    monkeypatch.setattr(core_cli, "COMMANDS", {k: v for k, v in core_cli.COMMANDS.items() if k != "clean"})
    with pytest.raises(NotBuiltYet, match="needs the clean stage"):
        run_clean(tmp_path / "import.jsonl", tmp_path / "clean")


def test_import_folder_through_the_clean_command_seam(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(core_cli.COMMANDS, "clean", ("tests.dataset.fake_clean:clean", "fake"))
    src = tmp_path / "src"
    for i in range(12):
        _touch(src, f"{['Excited', 'Sad', 'Calm'][i % 3]}/{i}.mp4", f"clip {i}".encode())
    _touch(src, "Sad/copy.mp4", b"clip 1")  # same content as Sad/1.mp4 ...
    _touch(src, "Calm/copy.mp4", b"clip 1")  # same content, another category: all three are ambiguous
    _touch(src, "Excited/copy.mp4", b"clip 0")  # a plain copy within one category: one sample
    _touch(src, "Calm/bad.mp4", b"broken")  # rejected by cleaning
    out, work = tmp_path / "ds", tmp_path / "work"
    rc = main(["dataset", "import-folder", str(src), "--out", str(out), "--work", str(work), "--split", "0.5,0.5",
               "--test-size", "6"])
    text = capsys.readouterr()
    assert rc == 0, text
    assert "found 16 labelled videos" in text.out
    assert "left out: clean_rejected 1, conflicting_duplicates 3, duplicate_files 1" in text.out
    frame = pd.read_parquet(out / "all" / "manifest.parquet")
    assert len(frame) == 11
    assert frame["category"].value_counts().to_dict() == {"Excitation": 4, "Relaxation": 4, "Sadness": 3}
    assert (out / "all" / frame["media"].iloc[0]).exists()
    assert "file" in frame.columns  # the imported file name is carried along
    assert "source_split" not in frame.columns
    assert len(pd.read_parquet(out / "test" / "manifest.parquet")) == 6
    assert "duplicate files: 1" in (out / "all" / "card.md").read_text()


def test_import_real_clips_with_the_clean_stage(music_video_dir, tmp_path, capsys):
    """Two real clips per category (a labels.csv subset of the shared folder), cleaned for real, then built."""
    if "clean" not in core_cli.COMMANDS:
        pytest.skip("the clean stage is not registered in this checkout")
    labels = pd.read_csv(music_video_dir / "labels.csv")
    subset = labels.groupby("category").head(2)
    src = tmp_path / "src"
    src.mkdir()
    for name in subset["file"]:
        (src / name).symlink_to(music_video_dir / name)
    subset.to_csv(src / "labels.csv", index=False)
    out, work = tmp_path / "mv", tmp_path / "work"
    rc = main(["dataset", "import-folder", str(src), "--out", str(out), "--work", str(work), "--name", "music_video",
               "--split", "0.5,0.5", "--test-size", "6", "--webdataset"])
    text = capsys.readouterr()
    assert rc == 0, text
    frame = pd.read_parquet(out / "all" / "manifest.parquet")
    assert len(frame) == 12
    assert frame["media"].notna().all() and frame["mfcc"].notna().all()
    assert all((out / "all" / rel).is_file() for rel in frame["media"])
    assert frame.groupby("category")["split"].value_counts().eq(1).all()
    card = (out / "all" / "card.md").read_text()
    assert "taken as given by the source" in card and "Imported from the labelled folder `src`" in card
    assert set(frame["source_split"]) == {"train"}  # the folder's own split, kept beside the drawn one
    assert len(pd.read_parquet(out / "test" / "manifest.parquet")) == 6
    assert sorted((out / "all" / "wds").glob("*.tar"))


def test_keep_splits_uses_the_folder_split(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(core_cli.COMMANDS, "clean", ("tests.dataset.fake_clean:clean", "fake"))
    src = tmp_path / "src"
    for i in range(8):
        _touch(src, f"{'Train' if i < 6 else 'Test'}/{['Fear', 'Tension'][i % 2]}/{i}.mp4", f"c{i}".encode())
    rc = main(["dataset", "import-folder", str(src), "--out", str(tmp_path / "ds"), "--work", str(tmp_path / "w"),
               "--keep-splits", "--variant", "all"])
    assert rc == 0, capsys.readouterr()
    frame = pd.read_parquet(tmp_path / "ds" / "all" / "manifest.parquet")
    assert frame["split"].value_counts().to_dict() == {"train": 6, "test": 2}
    assert frame.set_index("file")["split"].to_dict()["Test/Fear/6.mp4"] == "test"


def test_a_source_with_its_own_classes_builds_with_that_vocabulary(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(core_cli.COMMANDS, "clean", ("tests.dataset.fake_clean:clean", "fake"))
    src = tmp_path / "ve8"
    for i in range(15):
        _touch(src, f"{['Trust', 'anger', 'Joy'][i % 3]}/{i}.mp4", f"v{i}".encode())
    rc = main(["dataset", "import-folder", str(src), "--out", str(tmp_path / "ds"), "--work", str(tmp_path / "w"),
               "--test-size", "6", "--balanced", "Joy=2"])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "keeping the source's own 3 classes: anger, Joy, Trust" in text
    frame = pd.read_parquet(tmp_path / "ds" / "all" / "manifest.parquet")
    assert dict(zip(frame["category"], frame["label"], strict=False)) == {"anger": 0, "Joy": 1, "Trust": 2}
    assert frame["polarity"].isna().all()
    assert pd.read_parquet(tmp_path / "ds" / "balanced" / "manifest.parquet")["category"].value_counts().to_dict() \
        == {"anger": 5, "Trust": 5, "Joy": 2}
    assert "in 3 categories (anger, Joy, Trust" in (tmp_path / "ds" / "all" / "card.md").read_text()
    assert "categories:\n- anger\n- Joy\n- Trust" in (tmp_path / "ds" / "recipe.yaml").read_text()


def test_split_folders_and_columns_read_every_spelling_the_build_reads(tmp_path):
    from dataset.splits import SPLIT_ALIASES, given_splits

    for i, name in enumerate(SPLIT_ALIASES):
        _touch(tmp_path / "tree", f"{name.title()}/Fear/{i}.mp4")
    frame = scan(tmp_path / "tree")
    assert dict(zip(frame["file"].str.split("/").str[0].str.lower(), frame["split"], strict=True)) == SPLIT_ALIASES
    assert given_splits(pd.DataFrame({"split": list(SPLIT_ALIASES)}), "split").tolist() == list(SPLIT_ALIASES.values())


def test_a_separate_test_folder_forms_the_test_split(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(core_cli.COMMANDS, "clean", ("tests.dataset.fake_clean:clean", "fake"))
    train, test = tmp_path / "here", tmp_path / "elsewhere"
    for i in range(6):
        _touch(train, f"{['Fear', 'Sad'][i % 2]}/{i}.mp4", f"train {i}".encode())
    for i in range(4):
        _touch(test, f"{['fear', 'Sadness'][i % 2]}/t{i}.mp4", f"test {i}".encode())
    rc = main(["dataset", "import-folder", str(train), "--test-folder", str(test), "--out", str(tmp_path / "ds"),
               "--work", str(tmp_path / "w"), "--variant", "all"])
    assert rc == 0, capsys.readouterr()
    frame = pd.read_parquet(tmp_path / "ds" / "all" / "manifest.parquet")
    assert frame["split"].value_counts().to_dict() == {"train": 6, "test": 4}
    by_file = frame.set_index("file")
    assert by_file.loc[(test / "fear/t0.mp4").as_posix(), ["split", "category"]].tolist() == ["test", "Fear"]
    assert by_file.loc["Sad/1.mp4", ["split", "category"]].tolist() == ["train", "Sadness"]
    _touch(tmp_path / "odd", "Anger/x.mp4")
    assert main(["dataset", "import-folder", str(train), "--test-folder", str(tmp_path / "odd"),
                 "--out", str(tmp_path / "ds2"), "--work", str(tmp_path / "w2")]) == 2
    assert "'Anger' is not an eMotions category" in capsys.readouterr().err
