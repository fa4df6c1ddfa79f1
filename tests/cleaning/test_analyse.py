"""The decode pass's outputs for multichannel audio: stereo AAC in the web MP4, mono in the WAV."""

import json
import subprocess

import pytest

from cleaning.executors import LocalExecutor
from cleaning.pipeline import run_clean
from cleaning.recipe import load_recipe
from core.manifest import read_rows

SURROUND = ("aevalsrc=0.3*sin(2*PI*440*t)|0.3*sin(2*PI*550*t)|0.3*sin(2*PI*660*t)|0.2*sin(2*PI*60*t)"
            "|0.3*sin(2*PI*770*t)|0.3*sin(2*PI*880*t):c=5.1:s=48000:d=3")


def _ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True)


def _streams(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return {s["codec_type"]: s for s in json.loads(out)["streams"]}


def _video_md5(path):
    out = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-map", "0:v", "-c", "copy",
                          "-f", "md5", "-"], capture_output=True, text=True, check=True).stdout
    return out.strip()


@pytest.fixture(scope="module")
def surround_run(tmp_path_factory):
    """A 5.1 AAC clip the web copy would otherwise stream-copy, a 5.1 PCM Matroska clip that is re-encoded
    anyway, and a stereo AAC clip that stays a stream copy; cleaned once."""
    src = tmp_path_factory.mktemp("surround_src")
    h264 = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x120:r=10", "-f", "lavfi", "-i", SURROUND, "-t", "3", *h264,
            "-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart", str(src / "aac51.mp4"))
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x120:r=12", "-f", "lavfi", "-i", SURROUND, "-t", "3",
            "-c:v", "ffv1", "-c:a", "pcm_s16le", str(src / "pcm51.mkv"))
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x120:r=10", "-f", "lavfi", "-i", "sine=f=500:d=3", "-t", "3", *h264,
            "-c:a", "aac", "-ac", "2", "-b:a", "64k", "-movflags", "+faststart", str(src / "stereo.mp4"))
    out = tmp_path_factory.mktemp("surround_out")
    recipe = load_recipe(None, workers=2, resolution={"min_short_side": 64}, dedupe={"near": False})
    run_clean(src, out, recipe, executor=LocalExecutor(2))
    rows = {r["source_path"].rsplit("/", 1)[-1]: r for r in read_rows(out / "manifest")}
    return src, out, rows


@pytest.mark.parametrize("name", ["aac51.mp4", "pcm51.mkv"])
def test_multichannel_audio_is_stereo_on_the_web_and_mono_in_the_wav(surround_run, name):
    src, out, rows = surround_run
    row = rows[name]
    assert row["status"] == "kept", row["detail"]
    assert _streams(src / name)["audio"]["channels"] == row["audio_channels"] == 6
    web = _streams(out / row["web_mp4"])
    assert web["audio"]["codec_name"] == "aac"
    assert (web["audio"]["channels"], web["audio"]["channel_layout"]) == (2, "stereo")
    wav = _streams(out / row["wav"])["audio"]
    assert (wav["codec_name"], wav["channels"], wav["sample_rate"]) == ("pcm_s16le", 1, "44100")
    assert row["max_rms_dbfs"] > -30  # the down-mix carries the sound (silence is below -50 dBFS)


def test_surround_aac_re_encoded_while_stereo_aac_stays_a_stream_copy(surround_run):
    src, out, rows = surround_run
    stereo = rows["stereo.mp4"]
    assert _streams(out / stereo["web_mp4"])["audio"]["channels"] == 2
    assert _video_md5(out / stereo["web_mp4"]) == _video_md5(src / "stereo.mp4")  # copied, not re-encoded
    assert _video_md5(out / rows["aac51.mp4"]["web_mp4"]) != _video_md5(src / "aac51.mp4")
