"""Whole builds: the paper's variant sizes, exact splits, byte-for-byte reproducibility, files and exports."""

import hashlib
import json
import os
import tarfile

import pandas as pd
import pytest

from core.errors import ConfigError
from core.taxonomy import CATEGORIES
from dataset.build import build
from dataset.recipe import load_recipe
from dataset.variants import largest_remainder
from tests.dataset.conftest import PAPER_COUNTS, sample_id, tree_digest, write_project

BALANCED = {"Excitation": 4000, "Fear": 954, "Neutral": 3000, "Relaxation": 2214, "Sadness": 2090, "Tension": 2204}


@pytest.fixture(scope="module")
def paper_builds(tmp_path_factory):
    """The 27,996-label project built twice with seed 0 and once with seed 1 (no media)."""
    root = tmp_path_factory.mktemp("paper")
    labels, clean = write_project(root, PAPER_COUNTS)
    outs = {}
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        outs[name] = root / name
        build(load_recipe(media="none", seed=seed), labels, clean, outs[name])
    return outs


def _manifest(folder):
    return pd.read_parquet(folder / "manifest.parquet")


def test_variant_sizes_match_the_paper(paper_builds):
    out = paper_builds["a"]
    assert len(_manifest(out / "all")) == 27996
    balanced = _manifest(out / "balanced")
    assert len(balanced) == 14462
    assert balanced["category"].value_counts().to_dict() == BALANCED
    test = _manifest(out / "test")
    assert len(test) == 5000
    assert test["category"].value_counts().to_dict() == largest_remainder(PAPER_COUNTS, 5000)


def test_splits_are_80_20_per_category_and_disjoint(paper_builds):
    for variant in ("all", "balanced", "test"):
        frame = _manifest(paper_builds["a"] / variant)
        assert frame["sample_id"].is_unique
        assert set(frame["split"]) == {"train", "test"}
        for cat, rows in frame.groupby("category"):
            n = len(rows)
            assert abs((rows["split"] == "test").sum() - 0.2 * n) <= 1, (variant, cat)
        ids = {s: set((paper_builds["a"] / variant / "splits" / f"{s}.txt").read_text().split())
               for s in ("train", "test")}
        assert not ids["train"] & ids["test"]
        assert len(ids["train"]) + len(ids["test"]) == len(frame)


def test_same_seed_is_byte_identical_and_another_seed_differs(paper_builds):
    a, b, c = (tree_digest(paper_builds[k]) for k in "abc")
    assert a == b
    assert len(a) > 30
    assert a["all/manifest.parquet"] != c["all/manifest.parquet"]  # different split
    assert a["test/manifest.parquet"] != c["test/manifest.parquet"]


def test_manifest_columns_card_stats_and_checksums(paper_builds):
    folder = paper_builds["a"] / "all"
    frame = _manifest(folder)
    assert list(frame.columns[:16]) == ["sample_id", "category", "label", "polarity", "split", "duration_s",
                                        "platform", "platform_id", "group", "member_votes", "confidence_mean",
                                        "decided_stage", "media", "poster", "frames", "mfcc"]
    assert "note" in frame.columns  # carried from the labels file
    row = frame.iloc[0]
    assert CATEGORIES[row["label"]].value == row["category"]
    assert pd.read_csv(folder / "manifest.csv")["sample_id"].tolist() == frame["sample_id"].tolist()
    stats = json.loads((folder / "stats.json").read_text())
    assert stats["table_ii"][-1]["videos"] == 27996
    assert [r["data"] for r in stats["table_iii"]] == ["raw", "labelled"]
    card = (folder / "card.md").read_text()
    for text in ("| Category | Videos | Total (s)", "Table III", "Licence and intended use", "figures/"):
        assert text in card
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, rel = line.split("  ", 1)
        assert hashlib.sha256((folder / rel).read_bytes()).hexdigest() == digest
    assert (folder / "figures" / "duration_distribution.png").read_bytes()[:4] == b"\x89PNG"
    assert "seed: 0" in (folder / "recipe.yaml").read_text()


def test_media_are_hard_linked_in_a_hugging_face_layout(project, tmp_path):
    labels, clean = project({"Excitation": 12, "Fear": 5, "Neutral": 8}, media=True)
    out = tmp_path / "ds"
    build(load_recipe(webdataset=True, shard_size=4, balanced={"Excitation": 6}, test_size=10), labels, clean, out)
    frame = _manifest(out / "all")
    assert frame["media"].str.match(r"^data/(train|test)/[0-9a-f]{64}\.mp4$").all()
    for rel, sid in zip(frame["media"], frame["sample_id"], strict=True):
        linked = out / "all" / rel
        source = next((clean / "web").rglob(f"{sid}.mp4"))
        assert os.path.samefile(linked, source)
    assert frame["mfcc"].str.startswith("cache/mfcc/").all()
    meta = pd.read_parquet(out / "all" / "data" / "train" / "metadata.parquet")
    assert list(meta.columns) == ["file_name", "sample_id", "category", "label", "polarity", "duration_s", "platform"]
    assert [CATEGORIES[i].value for i in meta["label"]] == meta["category"].tolist()
    assert all((out / "all" / "data" / "train" / f).exists() for f in meta["file_name"])
    shards = sorted((out / "all" / "wds").glob("*.tar"))
    assert [s.name for s in shards][:2] == ["test-00000.tar", "test-00001.tar"]
    with tarfile.open(shards[0]) as tar:
        names = tar.getnames()
        first = json.loads(tar.extractfile(names[0]).read())
    sid = names[0].split(".")[0]
    assert names[:3] == [f"{sid}.json", f"{sid}.mp4", f"{sid}.mfcc.npy"]
    assert first["category"] in PAPER_COUNTS
    assert len(_manifest(out / "balanced")) == 6 + 5 + 8
    assert len(_manifest(out / "test")) == 10
    again = tmp_path / "again"
    build(load_recipe(webdataset=True, shard_size=4, balanced={"Excitation": 6}, test_size=10), labels, clean, again)
    assert tree_digest(again) == tree_digest(out)  # tar shards and media included


def test_copy_mode_and_url_only_export(project, tmp_path):
    labels, clean = project({"Excitation": 4, "Sadness": 3}, media=True)
    build(load_recipe(media="copy", variants="all"), labels, clean, tmp_path / "copy")
    media = _manifest(tmp_path / "copy" / "all")["media"].iloc[0]
    assert (tmp_path / "copy" / "all" / media).stat().st_nlink == 1
    build(load_recipe(urls_only=True, variants="all"), labels, clean, tmp_path / "urls")
    urls = pd.read_csv(tmp_path / "urls" / "all" / "urls.csv")
    assert list(urls.columns) == ["sample_id", "platform", "platform_id", "url", "category", "label", "split"]
    assert urls["url"].str.startswith("https://example.org/v/").all()
    assert not (tmp_path / "urls" / "all" / "data").exists()


def test_validation_split_and_near_duplicate_groups(project, tmp_path):
    def hook(i, row, label):
        row["near_dup_group"] = f"g{i // 4}"  # groups of four (one category each)
        if i % 4 == 1:
            row["duplicate_of"] = sample_id(i - 1)

    labels, clean = project({"Excitation": 120, "Neutral": 80, "Fear": 40}, row_hook=hook)
    build(load_recipe(media="none", variants="all", split={"train": 0.7, "val": 0.15, "test": 0.15}),
          labels, clean, tmp_path / "ds")
    frame = _manifest(tmp_path / "ds" / "all")
    assert set(frame["split"]) == {"train", "val", "test"}
    assert frame.groupby("group")["split"].nunique().max() == 1
    assert frame["group"].nunique() == 60
    assert (tmp_path / "ds" / "all" / "splits" / "val.txt").exists()
    shares = frame["split"].value_counts(normalize=True)
    assert abs(shares["val"] - 0.15) < 0.05


def test_vote_summary_and_qa_figures_reach_manifest_and_card(project, tmp_path):
    labels, clean = project({"Excitation": 3, "Fear": 2})
    votes = tmp_path / "votes.csv"
    rows = [{"sample_id": sample_id(i), "stage": "member", "category": c, "confidence": 0.5 + 0.1 * k}
            for i in range(5) for k, c in enumerate(["Excitation", "Excitation", "Fear"])]
    pd.DataFrame(rows).to_csv(votes, index=False)
    qa = tmp_path / "qa.json"
    qa.write_text(json.dumps({"fleiss_kappa": 0.47, "per_category": {"Fear": 0.31}, "note": "x"}))
    build(load_recipe(media="none", variants="all"), labels, clean, tmp_path / "ds", votes_path=votes, qa_path=qa)
    frame = _manifest(tmp_path / "ds" / "all")
    assert set(frame["member_votes"]) == {"Excitation:2;Fear:1"}
    assert frame["confidence_mean"].round(3).eq(0.6).all()
    card = (tmp_path / "ds" / "all" / "card.md").read_text()
    assert "| fleiss_kappa | 0.4700 |" in card and "| per_category.Fear | 0.3100 |" in card
    assert "Mean member confidence: 0.600" in card


def test_cache_folders_are_linked_as_trees_and_streamed_as_members(project, tmp_path):
    def hook(i, row, label):
        folder = tmp_path / "clean" / "frames" / f"clip{i}"
        folder.mkdir(parents=True)
        for k in range(3):
            (folder / f"{k:03d}.jpg").write_bytes(f"frame {i}.{k}".encode())
        row["frames"] = f"frames/clip{i}"

    labels, clean = project({"Fear": 3, "Tension": 2}, media=True, row_hook=hook)
    build(load_recipe(variants="all", webdataset=True), labels, clean, tmp_path / "ds")
    folder = tmp_path / "ds" / "all"
    frame = _manifest(folder)
    rel = frame["frames"].iloc[0]
    assert rel == f"cache/frames/{frame['sample_id'].iloc[0]}"
    assert sorted(p.name for p in (folder / rel).iterdir()) == ["000.jpg", "001.jpg", "002.jpg"]
    assert f"{rel}/001.jpg" in (folder / "SHA256SUMS").read_text()
    with tarfile.open(next((folder / "wds").glob("*.tar"))) as tar:
        assert any(n.endswith(".frames.002.jpg") for n in tar.getnames())


def test_splits_can_come_from_a_label_column(project, tmp_path):
    def hook(i, row, label):
        label["fold"] = "Train" if i % 3 else "validation"

    labels, clean = project({"Excitation": 6, "Neutral": 6}, row_hook=hook)
    build(load_recipe(media="none", variants="all", split_column="fold"), labels, clean, tmp_path / "ds")
    frame = _manifest(tmp_path / "ds" / "all")
    assert frame["split"].value_counts().to_dict() == {"train": 8, "val": 4}
    assert "taken from the `fold` column" in (tmp_path / "ds" / "all" / "card.md").read_text()


def test_clean_manifest_given_as_a_shard_file_finds_media_one_folder_up(project, tmp_path):
    labels, clean = project({"Fear": 2, "Neutral": 2}, media=True)
    shard = tmp_path / "clean" / "manifest" / "clean-00000.jsonl"
    shard.parent.mkdir()
    (clean / "clean-00000.jsonl").rename(shard)
    build(load_recipe(variants="all"), labels, shard, tmp_path / "ds")
    assert _manifest(tmp_path / "ds" / "all")["media"].notna().all()


def test_hashtags_give_a_topics_table_and_figure(project, tmp_path):
    def hook(i, row, label):
        row["hashtags"] = ["dance", "Daily"] if i % 2 else "#dance #covid"

    labels, clean = project({"Fear": 3, "Neutral": 3}, row_hook=hook)
    build(load_recipe(media="none", variants="all"), labels, clean, tmp_path / "ds")
    stats = json.loads((tmp_path / "ds" / "all" / "stats.json").read_text())
    assert stats["topics"] == [["dance", 6], ["covid", 3], ["daily", 3]]
    assert (tmp_path / "ds" / "all" / "figures" / "topics.png").exists()
    assert "figures/topics.png" in (tmp_path / "ds" / "all" / "card.md").read_text()


def test_qa_reports_folder_and_bad_qa_file(project, tmp_path):
    labels, clean = project({"Fear": 2, "Neutral": 2})
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "kappa.json").write_text(json.dumps({"fleiss_kappa": 0.46, "n_items": 4}))
    (reports / "alpha.json").write_text(json.dumps({"alpha": 0.5}))
    (reports / "kappa.md").write_text("not read")
    build(load_recipe(media="none", variants="all"), labels, clean, tmp_path / "ds", qa_path=reports)
    card = (tmp_path / "ds" / "all" / "card.md").read_text()
    assert "| alpha.alpha | 0.5000 |" in card and "| kappa.fleiss_kappa | 0.4600 |" in card
    (reports / "alpha.json").write_text("{oops")
    with pytest.raises(ConfigError, match=r"alpha\.json: not valid JSON"):
        build(load_recipe(media="none", variants="all"), labels, clean, tmp_path / "ds2", qa_path=reports)


def test_url_list_from_labels_alone_keeps_groups_in_one_split(tmp_path):
    rows = [f"s{i},{'Excitation' if i % 2 else 'Sadness'},https://example.org/{i},g{i // 4},{10 + i}\n"
            for i in range(40)]
    labels = tmp_path / "labels.csv"
    labels.write_text("sample_id,category,url,group,duration_s\n" + "".join(rows))
    build(load_recipe(urls_only=True, variants="all"), labels, None, tmp_path / "ds")
    frame = _manifest(tmp_path / "ds" / "all")
    assert frame["group"].tolist() == [f"g{int(s[1:]) // 4}" for s in frame["sample_id"]]
    assert frame.groupby("group")["split"].nunique().eq(1).all()
    assert frame["duration_s"].sum() == sum(10 + i for i in range(40))
    assert frame["media"].isna().all()
    with pytest.raises(ConfigError, match=r"^without a clean manifest only a URL list can be built$"):
        build(load_recipe(variants="all"), labels, None, tmp_path / "other")
    assert not (tmp_path / "other").exists()
