import csv
import hashlib
import json
import subprocess

import pytest
from click.testing import CliRunner

from cleaning.synth import EdgeCase, synthesize
from core.cli import cli
from core.errors import ConfigError
from core.taxonomy import CATEGORIES


def _probe(path):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout)


def _mean_volume_db(path):
    out = subprocess.run(["ffmpeg", "-nostdin", "-i", str(path), "-af", "volumedetect", "-f", "null", "-"],
                         capture_output=True, text=True, check=True).stderr
    line = next(x for x in out.splitlines() if "mean_volume" in x)
    return float(line.split("mean_volume:")[1].split("dB")[0])


def _mean_luma(path):
    graph = "signalstats,metadata=print:key=lavfi.signalstats.YAVG"
    out = subprocess.run(["ffmpeg", "-nostdin", "-i", str(path), "-vf", graph, "-f", "null", "-"],
                         capture_output=True, text=True, check=True).stderr
    values = [float(x.split("=")[1]) for x in out.splitlines() if "YAVG" in x]
    return sum(values) / len(values)


def test_clips_per_category_with_labels_and_valid_streams(synth_videos):
    folder = synth_videos(per_class=1, seed=0)
    rows = list(csv.DictReader((folder / "labels.csv").open()))
    assert [r["category"] for r in rows] == [c.value for c in CATEGORIES]
    for row in rows:
        info = _probe(folder / row["file"])
        codecs = {s["codec_type"]: s["codec_name"] for s in info["streams"]}
        assert codecs == {"video": "h264", "audio": "aac"}
        duration = float(info["format"]["duration"])
        assert 3.0 <= float(row["seconds"]) <= 12.0
        assert duration == pytest.approx(float(row["seconds"]), abs=0.15)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a = synthesize(tmp_path / "a", per_class=1, seed=3, size="64x48", fps=5)
    synthesize(tmp_path / "b", per_class=1, seed=3, size="64x48", fps=5)
    synthesize(tmp_path / "c", per_class=1, seed=4, size="64x48", fps=5)

    def digest(folder, name):
        return hashlib.sha256((folder / name).read_bytes()).hexdigest()

    for clip in a:
        assert digest(tmp_path / "a", clip.file) == digest(tmp_path / "b", clip.file)
    assert digest(tmp_path / "a", a[0].file) != digest(tmp_path / "c", a[0].file)


def test_categories_differ_in_picture_and_sound(synth_videos):
    folder = synth_videos(per_class=1, seed=0)
    luma = {c.value: _mean_luma(folder / f"{c.value.lower()}_000.mp4") for c in CATEGORIES}
    volume = {c.value: _mean_volume_db(folder / f"{c.value.lower()}_000.mp4") for c in CATEGORIES}
    assert luma["Fear"] < luma["Neutral"] and luma["Sadness"] < luma["Excitation"]
    assert len({round(v) for v in volume.values()}) >= 4  # distinct loudness signatures


def test_edge_cases(synth_videos):
    folder = synth_videos(per_class=0, seed=1, edge_cases=tuple(EdgeCase))
    rows = {r["kind"]: r for r in csv.DictReader((folder / "labels.csv").open())}
    assert set(rows) == {"no_audio", "silent", "black", "short", "static"}
    no_audio = _probe(folder / rows["no_audio"]["file"])
    assert [s["codec_type"] for s in no_audio["streams"]] == ["video"]
    assert _mean_volume_db(folder / rows["silent"]["file"]) <= -90.0
    assert _mean_luma(folder / rows["black"]["file"]) < 20.0
    assert float(_probe(folder / rows["short"]["file"])["format"]["duration"]) < 1.0


def test_cli_synth_and_bad_options(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(cli, ["media", "synth", "--out", str(tmp_path / "o"), "--per-class", "1",
                             "--size", "64x48", "--edge", "short"])
    assert ok.exit_code == 0, ok.output
    assert "wrote 7 clips and labels.csv" in ok.output
    with pytest.raises(ConfigError, match="--size must look like 320x240"):
        synthesize(tmp_path / "x", size="big")
    with pytest.raises(ConfigError, match="multiples of 4"):
        synthesize(tmp_path / "x", size="30x30")
