"""Fixtures for the cleaning tests: a folder of every kind of bad input, made with ffmpeg at test time."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from cleaning.synth import EdgeCase

HOSTILE = "-lead; rm \"q\" 'x' $(y) & z.mp4"
NON_UTF8 = b"caf\xe9 clip.mp4"


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True)


def _av(out: Path, video: str, seconds: float, *extra: str, audio: str | None = "sine=f=440") -> Path:
    args = ["-f", "lavfi", "-i", video]
    if audio:
        args += ["-f", "lavfi", "-i", f"{audio}:d={seconds}"]
    args += ["-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *extra]
    if audio:
        args += ["-c:a", "aac", "-b:a", "32k"]
    ffmpeg(*args, "-movflags", "+faststart", str(out))
    return out


@pytest.fixture(scope="session")
def bad_inputs(synth_videos, tmp_path_factory) -> dict[str, Path]:
    """A folder holding every bad-input kind the cleaning stage must survive; name -> path."""
    normal = synth_videos(per_class=1, seed=0)
    edges = synth_videos(per_class=0, seed=1, edge_cases=tuple(EdgeCase))
    root = tmp_path_factory.mktemp("bad")
    files: dict[str, Path] = {}
    for clip in ("excitation_000", "fear_000", "neutral_000", "relaxation_000", "tension_000"):
        files[clip] = Path(shutil.copy(normal / f"{clip}.mp4", root / f"{clip}.mp4"))
    for edge in edges.glob("edge_*.mp4"):
        files[edge.stem.rsplit("_", 1)[0]] = Path(shutil.copy(edge, root / edge.name))
    (root / "empty.mp4").write_bytes(b"")
    files["empty"] = root / "empty.mp4"
    blob = (normal / "sadness_000.mp4").read_bytes()
    files["truncated"] = root / "truncated.mp4"
    files["truncated"].write_bytes(blob[: len(blob) * 6 // 10])
    files["text"] = root / "notes.mp4"
    files["text"].write_text("this is not a video\n" * 20, encoding="utf-8")
    files["html"] = root / "error_page.mp4"  # what a download saves when the platform answers with a page
    files["html"].write_text("<!DOCTYPE html>\n<html><body><h1>403 Forbidden</h1></body></html>\n", encoding="utf-8")
    files["random"] = root / "noise.mp4"
    files["random"].write_bytes(random.Random(0).randbytes(20_000))
    files["ftyp_only"] = root / "ftyp_only.mp4"  # an MP4 cut off after its first box
    files["ftyp_only"].write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2")
    files["image"] = root / "picture.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x120", "-frames:v", "1", "-f", "image2", "-c:v", "png",
           str(files["image"]))
    files["audio_only"] = root / "audio_only.mp4"
    ffmpeg("-f", "lavfi", "-i", "sine=d=3", "-c:a", "aac", str(files["audio_only"]))
    files["one_second"] = _av(root / "one_second.mp4", "testsrc2=s=160x120:r=10", 1)
    files["ten_minutes"] = _av(root / "ten_minutes.mp4", "testsrc=s=32x32:r=1", 600, audio="sine=r=8000")
    files["portrait"] = _av(root / "portrait.mp4", "testsrc2=s=120x160:r=10", 3)
    plain = _av(root / ".rotate_source.mp4", "testsrc2=s=160x120:r=10", 3, audio="sine=f=660")
    files["rotated"] = root / "rotated.mp4"
    ffmpeg("-i", str(plain), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(files["rotated"]))
    plain.unlink()
    files["vfr"] = _av(root / "vfr.mp4", "testsrc2=s=160x120:r=20", 4, "-vf",
                       r"select='lt(mod(n\,7)\,3)+not(mod(n\,5))'", "-fps_mode", "vfr", audio="sine=f=550")
    files["odd_mkv"] = root / "odd size.mkv"  # not H.264/AAC, odd size: the web copy must be re-encoded
    ffmpeg("-f", "lavfi", "-i", "cellauto=s=161x121:r=12", "-f", "lavfi", "-i", "sine=f=770:d=3", "-t", "3",
           "-c:v", "ffv1", "-c:a", "pcm_s16le", str(files["odd_mkv"]))
    files["uhd60"] = _av(root / "uhd60.mp4", "testsrc2=s=3840x2160:r=60", 2.5, audio="sine=f=330")
    files["hostile"] = Path(shutil.copy(normal / "sadness_000.mp4", root / HOSTILE))
    made = _av(root / ".non_utf8.mp4", "testsrc2=s=160x120:r=10", 3, audio="sine=f=880")
    non_utf8 = os.path.join(os.fsencode(root), NON_UTF8)
    os.rename(os.fsencode(made), non_utf8)
    files["non_utf8"] = Path(os.fsdecode(non_utf8))
    files["near_copy"] = root / "excitation_small.mp4"
    ffmpeg("-i", str(normal / "excitation_000.mp4"), "-vf", "scale=128:96", "-c:v", "libx264", "-crf", "35",
           "-preset", "ultrafast", "-c:a", "aac", "-b:a", "24k", str(files["near_copy"]))
    sub = root / "sub"
    sub.mkdir()
    files["exact_copy"] = Path(shutil.copy(normal / "fear_000.mp4", sub / "fear_copy.mp4"))
    os.symlink(root, sub / "loop")
    return files


@pytest.fixture(scope="session")
def tiny_recipe():
    """Default recipe with the small test clips allowed through and two workers."""
    from cleaning.recipe import load_recipe

    return load_recipe(None, workers=2, shard_size=5, resolution={"min_short_side": 64})
