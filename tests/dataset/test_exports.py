"""The exports read back with their own libraries: `datasets` (videofolder, parquet) and `webdataset`."""

import glob
import json

import numpy as np
import pandas as pd
import pytest

from core.taxonomy import CATEGORIES
from dataset.build import build
from dataset.recipe import load_recipe
from tests.dataset.conftest import write_project

NAMES = ["Excitation", "Fear", "Neutral", "Relaxation", "Sadness", "Tension"]
COUNTS = {"Excitation": 6, "Fear": 3, "Neutral": 4, "Tension": 2}


@pytest.fixture(autouse=True)
def _offline(tmp_path, monkeypatch):
    """`datasets` reads the local folder only: no network, and its caches under the test's folder."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))


@pytest.fixture
def built(tmp_path):
    """A variant `all` with media, an MFCC array per sample and WebDataset shards of 4 samples."""
    def real_npy(i, row, label):  # the fixture's placeholder bytes become a real .npy array
        np.save(tmp_path / "clean" / row["mfcc"], np.full(3, i, dtype=np.int16))

    labels, clean = write_project(tmp_path, COUNTS, media=True, row_hook=real_npy)
    out = tmp_path / "ds"
    build(load_recipe(variants="all", webdataset=True, shard_size=4), labels, clean, out)
    return out / "all"


def test_taxonomy_order_is_the_class_index_order():
    assert [c.value for c in CATEGORIES] == NAMES


def test_videofolder_reads_label_as_a_class_label(built, tmp_path):
    datasets = pytest.importorskip("datasets")
    loaded = datasets.load_dataset("videofolder", data_dir=str(built / "data"), cache_dir=str(tmp_path / "cache"))
    assert sorted(loaded) == ["test", "train"]
    features = loaded["train"].features
    assert isinstance(features["label"], datasets.ClassLabel)
    assert features["label"].names == NAMES
    assert isinstance(features["video"], datasets.Video)
    assert list(features) == ["video", "sample_id", "category", "label", "polarity", "duration_s", "platform"]
    manifest = pd.read_parquet(built / "manifest.parquet").set_index("sample_id")
    rows = loaded["train"].remove_columns("video").to_pandas().set_index("sample_id")
    assert len(rows) + loaded["test"].num_rows == sum(COUNTS.values())
    assert rows["label"].tolist() == manifest.loc[rows.index, "label"].tolist()
    assert [NAMES[i] for i in rows["label"]] == rows["category"].tolist()
    assert features["label"].int2str(rows["label"].tolist()) == rows["category"].tolist()


def test_parquet_manifest_reads_label_as_a_class_label(built, tmp_path):
    datasets = pytest.importorskip("datasets")
    loaded = datasets.load_dataset("parquet", data_files=str(built / "manifest.parquet"),
                                   cache_dir=str(tmp_path / "cache"), split="train")
    assert isinstance(loaded.features["label"], datasets.ClassLabel)
    assert loaded.features["label"].names == NAMES
    assert loaded.num_rows == sum(COUNTS.values())
    assert loaded.features["label"].int2str(loaded["label"]) == list(loaded["category"])


def test_own_vocabulary_becomes_the_class_label_names(tmp_path):
    datasets = pytest.importorskip("datasets")
    labels, clean = write_project(tmp_path, {"surprise": 3, "Disgust": 2}, media=True)
    out = tmp_path / "ds"
    build(load_recipe(variants="all", categories=["surprise", "Disgust"], check_categories=False), labels, clean,
          out)
    loaded = datasets.load_dataset("videofolder", data_dir=str(out / "all" / "data"), cache_dir=str(tmp_path / "c"))
    assert loaded["train"].features["label"].names == ["Disgust", "surprise"]


def test_webdataset_shards_read_back(built):
    wds = pytest.importorskip("webdataset")
    shards = sorted(glob.glob(str(built / "wds" / "*.tar")))
    assert [s.rsplit("/", 1)[1] for s in shards] == ["test-00000.tar", "train-00000.tar", "train-00001.tar",
                                                     "train-00002.tar"]
    manifest = pd.read_parquet(built / "manifest.parquet").set_index("sample_id")
    seen = []
    for sample in wds.WebDataset(shards, shardshuffle=False).decode():
        sid = sample["__key__"]
        seen.append(sid)
        assert {k for k in sample if not k.startswith("__")} == {"json", "mp4", "mfcc.npy"}
        row = manifest.loc[sid]
        assert sample["json"] == {"sample_id": sid, "category": row["category"], "label": int(row["label"]),
                                  "polarity": row["polarity"], "split": row["split"]}
        assert sample["mp4"] == (built / row["media"]).read_bytes()
        assert sample["mfcc.npy"].dtype == np.int16 and sample["mfcc.npy"].shape == (3,)
    assert sorted(seen) == sorted(manifest.index)
    raw = next(iter(wds.WebDataset(shards[:1], shardshuffle=False)))
    assert json.loads(raw["json"])["split"] == "test"
