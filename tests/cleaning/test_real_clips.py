import csv

import pytest

from cleaning.executors import LocalExecutor
from cleaning.pipeline import run_clean
from cleaning.recipe import load_recipe
from core.manifest import read_rows


@pytest.fixture(scope="module")
def real_run(music_video_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("real_out")
    summary = run_clean(music_video_dir, out, load_recipe(), executor=LocalExecutor())
    return out, summary, list(read_rows(out / "manifest"))


def test_all_real_clips_are_kept(real_run, music_video_dir):
    _, summary, rows = real_run
    with (music_video_dir / "labels.csv").open(encoding="utf-8") as handle:
        expected = {r["file"] for r in csv.DictReader(handle)}
    assert {r["source_path"].rsplit("/", 1)[-1] for r in rows} == expected
    bad = [(r["source_path"], r["reason"], r["detail"]) for r in rows if r["status"] != "kept"]
    assert not bad
    assert summary["status"] == {"kept": len(expected)}


def test_real_clips_derived_files(real_run):
    out, _, rows = real_run
    for row in rows:
        assert 25 <= row["duration_s"] <= 35 and 20 <= row["fps"] <= 31 and row["has_audio"]
        for key in ("web_mp4", "poster", "wav", "frames", "mfcc"):
            assert (out / row[key]).is_file()
        assert row["cache_fps"] == pytest.approx(min(row["fps"], 30.0), abs=1e-3)  # native rate, cap 30
        assert row["cache_frames"] == pytest.approx(row["duration_s"] * row["cache_fps"], abs=2)
    assert len({r["frames"] for r in rows}) == len(rows)
