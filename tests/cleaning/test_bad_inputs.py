import json
import os
import subprocess

import pytest

from cleaning.executors import LocalExecutor
from cleaning.frames import read_frame_pack
from cleaning.pipeline import run_clean
from core.manifest import read_rows

EXPECTED = {
    "empty": ("rejected", "empty_file"),
    "truncated": ("rejected", "corrupt"),
    "text": ("rejected", "not_a_video"),
    "html": ("rejected", "not_a_video"),
    "random": ("rejected", "not_a_video"),
    "ftyp_only": ("rejected", "corrupt"),
    "image": ("rejected", "not_a_video"),
    "audio_only": ("rejected", "no_video_stream"),
    "edge_no_audio": ("rejected", "no_audio_stream"),
    "edge_silent": ("rejected", "silent_audio"),
    "edge_black": ("rejected", "black_video"),
    "edge_short": ("rejected", "too_short"),
    "one_second": ("rejected", "too_short"),
    "ten_minutes": ("rejected", "too_long"),
    "edge_static": ("rejected", "static_video"),
    "neutral_000": ("kept", None),
    "portrait": ("kept", None),
    "rotated": ("kept", None),
    "vfr": ("kept", None),
    "uhd60": ("kept", None),
    "odd_mkv": ("kept", None),
    "hostile": ("kept", None),
    "non_utf8": ("kept", None),
    "excitation_000": ("kept", None),
    "fear_000": ("kept", None),
    "relaxation_000": ("kept", None),
    "tension_000": ("kept", None),
    "near_copy": ("duplicate", "near_duplicate"),
    "exact_copy": ("duplicate", "exact_duplicate"),
}


@pytest.fixture(scope="module")
def bad_run(bad_inputs, tiny_recipe, tmp_path_factory):
    root = bad_inputs["empty"].parent
    out = tmp_path_factory.mktemp("bad_out")
    summary = run_clean(root, out, tiny_recipe, executor=LocalExecutor(2))
    rows = list(read_rows(out / "manifest"))
    by_path = {r["source_path"]: r for r in rows}
    named = {}
    for name, path in bad_inputs.items():
        key = os.fsencode(path).decode("utf-8", "backslashreplace")
        named[name] = by_path[key]
    return out, summary, rows, named


def test_every_input_has_one_row(bad_run, bad_inputs):
    _, summary, rows, _ = bad_run
    assert len(rows) == len(bad_inputs) == summary["videos"]
    assert len({r["id"] for r in rows}) == len(rows)
    assert not any("loop" in r["source_path"] for r in rows)  # the symlink loop was entered once


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_status_and_reason(bad_run, name):
    row = bad_run[3][name]
    assert (row["status"], row["reason"]) == EXPECTED[name], row["detail"]
    if row["status"] != "kept":
        assert row["detail"]
        assert all(row[k] is None for k in ("web_mp4", "wav", "frames", "mfcc", "poster"))


def test_precise_details(bad_run):
    named = bad_run[3]
    assert "moov atom not found" in named["text"]["detail"] or "Invalid data" in named["text"]["detail"]
    assert named["text"]["detail"].startswith("text, not media (starts 'this is not a video this is")
    assert named["html"]["detail"].startswith("text, not media (starts '<!DOCTYPE html> <html><body><h1>403")
    assert named["random"]["detail"].startswith("no media signature (starts ")
    assert named["ftyp_only"]["detail"].startswith("container: ")  # broken media: ffprobe's words only
    assert named["truncated"]["detail"].startswith(("decode:", "container:"))
    assert "600" in named["ten_minutes"]["detail"]
    assert named["exact_copy"]["duplicate_of"] == named["fear_000"]["id"]
    assert named["exact_copy"]["dup_group"] == named["fear_000"]["dup_group"] == named["fear_000"]["id"]
    assert named["near_copy"]["duplicate_of"] == named["excitation_000"]["id"]
    assert named["near_copy"]["dup_group"] == named["excitation_000"]["dup_group"] == named["excitation_000"]["id"]


def test_rotation_portrait_vfr_noted(bad_run):
    named = bad_run[3]
    assert (named["portrait"]["width"], named["portrait"]["height"]) == (120, 160)
    assert named["rotated"]["rotation"] in (90, 270)
    assert (named["rotated"]["width"], named["rotated"]["height"]) == (120, 160)
    assert named["vfr"]["vfr"] is True
    assert named["excitation_000"]["vfr"] is False


def test_derived_files_of_odd_names_and_rotation(bad_run):
    out, _, _, named = bad_run
    for name in ("hostile", "non_utf8", "rotated"):
        row = named[name]
        for key in ("web_mp4", "poster", "wav", "frames", "mfcc"):
            assert (out / row[key]).is_file(), (name, key)
    pack = read_frame_pack(out / named["rotated"]["frames"])
    assert (pack.width, pack.height) == (128, 170)  # display orientation, short side 128
    assert pack.decode(0).shape == (170, 128, 3)


def test_uhd60_bounded_web_copy(bad_run):
    out, _, _, named = bad_run
    row = named["uhd60"]
    assert (row["width"], row["height"], row["fps"]) == (3840, 2160, 60.0)
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(out / row["web_mp4"])],
                           capture_output=True, text=True, check=True)
    streams = {s["codec_type"]: s for s in json.loads(probe.stdout)["streams"]}
    assert streams["video"]["codec_name"] == "h264" and streams["audio"]["codec_name"] == "aac"
    assert min(streams["video"]["width"], streams["video"]["height"]) == 720
    assert eval(streams["video"]["avg_frame_rate"]) <= 30.0
    pack = read_frame_pack(out / row["frames"])  # a 60 fps source is cached at the cap, 30 fps
    assert pack.fps == row["cache_fps"] == 30.0 and row["cache_frames"] == pytest.approx(row["duration_s"] * 30, abs=2)


def test_odd_sized_matroska_is_re_encoded_for_the_web(bad_run):
    out, _, _, named = bad_run
    row = named["odd_mkv"]
    assert (row["video_codec"], row["width"], row["height"]) == ("ffv1", 161, 121)
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(out / row["web_mp4"])],
                           capture_output=True, text=True, check=True)
    streams = {s["codec_type"]: s for s in json.loads(probe.stdout)["streams"]}
    assert (streams["video"]["codec_name"], streams["audio"]["codec_name"]) == ("h264", "aac")
    assert streams["video"]["width"] % 2 == 0 and streams["video"]["height"] % 2 == 0


def test_stats_files_and_counts(bad_run):
    out, summary, rows, _ = bad_run
    stats = [json.loads(p.read_text()) for p in sorted((out / "manifest").glob("*_stats.json"))]
    assert sum(s["rows"] for s in stats) == len(rows)
    assert summary["status"]["kept"] == sum(1 for v in EXPECTED.values() if v[0] == "kept")
    assert (out / "recipe.yaml").is_file() and (out / "manifest.parquet").is_file()
