import json
import os
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
import soundfile

from cleaning.executors import LocalExecutor, RayExecutor, make_executor
from cleaning.frames import read_frame_pack
from cleaning.pipeline import run_clean
from cleaning.recipe import load_recipe
from cleaning.report import summarise
from cleaning.sources import discover
from core.errors import ConfigError
from core.manifest import read_rows, write_shard


def _rows(out):
    return list(read_rows(out / "manifest"))


@pytest.fixture(scope="module")
def small(synth_videos, tmp_path_factory):
    """Six synthetic clips plus an exact copy, cleaned once with the local executor."""
    src = tmp_path_factory.mktemp("small_src")
    for clip in synth_videos(per_class=1, seed=0).glob("*.mp4"):
        shutil.copy(clip, src / clip.name)
    shutil.copy(src / "fear_000.mp4", src / "fear_again.mp4")
    recipe = load_recipe(None, workers=2, shard_size=3)
    out = tmp_path_factory.mktemp("small_out")
    summary = run_clean(src, out, recipe, executor=LocalExecutor(2))
    return src, out, recipe, summary


def test_manifest_fields_and_derived_formats(small):
    _, out, _, summary = small
    rows = _rows(out)
    assert summary["status"] == {"kept": 6, "duplicate": 1}
    assert len(pd.read_parquet(out / "manifest.parquet")) == len(rows) == 7
    kept = [r for r in rows if r["status"] == "kept"]
    for row in kept:
        for key in ("id", "source_path", "duration_s", "width", "height", "fps", "has_audio", "sha256"):
            assert row[key] is not None, key
        assert row["id"] == row["sha256"]
    row = kept[0]
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json",
                            str(out / row["web_mp4"])], capture_output=True, text=True, check=True)
    codecs = {s["codec_type"]: s["codec_name"] for s in json.loads(probe.stdout)["streams"]}
    assert codecs == {"video": "h264", "audio": "aac"}
    head = (out / row["web_mp4"]).read_bytes()[:4096]
    assert head.find(b"moov") < head.find(b"mdat") or b"mdat" not in head  # fast start: index first
    samples, rate = soundfile.read(out / row["wav"], always_2d=True)
    assert rate == 44_100 and samples.shape[1] == 1
    assert abs(len(samples) / rate - row["duration_s"]) < 0.2
    pack = read_frame_pack(out / row["frames"])
    assert min(pack.width, pack.height) == 128 and pack.fps == row["fps"] == 10.0  # the source's rate (cap 30)
    assert (row["cache_fps"], row["cache_max_fps"], row["cache_short_side"]) == (10.0, 30.0, 128)
    assert len(pack.jpegs) == row["cache_frames"] == pytest.approx(row["duration_s"] * 10, abs=2)
    assert pack.decode(len(pack.jpegs) - 1).shape == (pack.height, pack.width, 3)
    mfcc = np.load(out / row["mfcc"])
    assert mfcc.dtype == np.float32 and mfcc.shape[0] == 32
    assert mfcc.shape[1] == pytest.approx(len(samples) / 512, abs=2)
    assert (out / row["poster"]).read_bytes()[:2] == b"\xff\xd8"
    for key in ("web_mp4", "wav", "frames", "mfcc", "poster"):  # content-addressed
        assert os.path.basename(row[key]).split(".")[0] in row[key].split("/")[1] + os.path.basename(row[key])


def test_rerun_is_idempotent_and_resumes_a_lost_shard(small):
    src, out, recipe, _ = small
    before = (out / "manifest" / "clean-00000.jsonl").read_bytes()
    again = run_clean(src, out, recipe, executor=LocalExecutor(2))
    assert again["resumed_shards"] == 2
    assert (out / "manifest" / "clean-00000.jsonl").read_bytes() == before
    work = next((out / ".work").iterdir())
    (work / "videos-00001_stats.json").unlink()  # as if the run had died while writing shard 1
    kept_shard = (work / "videos-00000.jsonl").stat().st_mtime_ns
    third = run_clean(src, out, recipe, executor=LocalExecutor(2))
    assert third["resumed_shards"] == 1
    assert (work / "videos-00000.jsonl").stat().st_mtime_ns == kept_shard
    assert (work / "videos-00001_stats.json").is_file()
    assert (out / "manifest" / "clean-00000.jsonl").read_bytes() == before


def test_local_and_ray_give_identical_manifests(small, tmp_path):
    ray = pytest.importorskip("ray")
    src, out, recipe, _ = small
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        summary = run_clean(src, tmp_path / "ray", recipe, executor=RayExecutor())
    finally:
        ray.shutdown()
    assert summary["executor"] == "ray"
    ray_rows, local_rows = _rows(tmp_path / "ray"), _rows(out)
    diffs = [(r["source_path"], k, r.get(k), q.get(k)) for r, q in zip(ray_rows, local_rows, strict=True)
             for k in set(r) | set(q) if r.get(k) != q.get(k)]
    assert not diffs


def test_crawl_folder_and_manifest_file_inputs(small, tmp_path):
    src, _, recipe, _ = small
    crawl = tmp_path / "crawl"
    (crawl / "media").mkdir(parents=True)
    shutil.copy(src / "excitation_000.mp4", crawl / "media" / "a.mp4")
    shutil.copy(src / "sadness_000.mp4", crawl / "media" / "b.mp4")
    rows = [
        {"source": "urls", "platform": "douyin", "platform_id": "1", "title": "a", "status": "downloaded",
         "local_path": "media/a.mp4", "duration_s": 9.5, "crawled_at": "2026-01-01T00:00:00"},
        {"source": "urls", "platform": "tiktok", "platform_id": "2", "title": "b", "status": "downloaded",
         "local_path": "media/b.mp4", "crawled_at": "2026-01-01T00:00:00"},
        {"source": "urls", "platform": "tiktok", "platform_id": "3", "status": "failed", "reason": "http_403"},
    ]
    write_shard(crawl, "raw", 0, rows, {})
    found = discover(crawl)
    assert [v.meta["platform_id"] for v in found] == ["1", "2"]
    assert found[0].meta["raw_duration_s"] == 9.5 and found[0].meta["title"] == "a"
    manifest = tmp_path / "list.jsonl"
    manifest.write_text(json.dumps({"path": str(src / "tension_000.mp4"), "platform": "kuaishou"}) + "\n")
    assert [v.meta["platform"] for v in discover(manifest)] == ["kuaishou"]
    summary = run_clean(crawl, tmp_path / "out", recipe, executor=LocalExecutor(1))
    out_rows = _rows(tmp_path / "out")
    assert summary["status"] == {"kept": 2}
    assert {r["platform"] for r in out_rows} == {"douyin", "tiktok"} and out_rows[0]["title"] == "a"
    assert out_rows[0]["duration_mismatch"] is (abs(out_rows[0]["duration_s"] - 9.5) > 1.0)
    assert out_rows[1]["duration_mismatch"] is None  # no claimed duration to compare with
    table3 = summarise(out_rows)["platforms"]
    assert table3["douyin"] == {"raw": 1, "kept": 1, "kept_rate": 1.0} and table3["tiktok"]["raw"] == 1


def test_bad_configuration_fails_fast(tmp_path):
    bad = tmp_path / "r.yaml"
    bad.write_text("steps: [probe, sharpen]\n")
    with pytest.raises(ConfigError, match="unknown step"):
        load_recipe(bad)
    bad.write_text("duration: {min_s: 10, max_s: 5}\n")
    with pytest.raises(ConfigError, match="min_s"):
        load_recipe(bad)
    bad.write_text("steps: [black]\n")
    with pytest.raises(ConfigError, match="needs the 'analysis'"):
        from cleaning.worker import clean_one

        recipe = load_recipe(bad)
        (tmp_path / "v.mp4").write_bytes(b"x")
        clean_one({"index": 0, "path": str(tmp_path / "v.mp4"), "source_path": "v.mp4", "sha256": "0" * 64},
                  recipe.model_dump(mode="json"), str(tmp_path / "o"))
    with pytest.raises(ConfigError, match="unknown executor"):
        make_executor("spark")
    with pytest.raises(ConfigError, match="neither a folder"):
        run_clean(tmp_path / "missing", tmp_path / "o", load_recipe())
