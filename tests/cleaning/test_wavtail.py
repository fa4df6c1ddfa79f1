"""The MFCC computed while ffmpeg writes the WAV equals the one computed from the finished file, byte for byte."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from cleaning.wavtail import data_offset
from tests.cleaning.conftest import _av


def test_data_offset_walks_the_chunks():
    fmt = b"fmt " + struct.pack("<I", 16) + b"\0" * 16
    info = b"LIST" + struct.pack("<I", 5) + b"abcde\0"  # odd size: padded to even
    head = b"RIFF" + b"\0" * 4 + b"WAVE" + fmt + info + b"data" + struct.pack("<I", 0)
    assert data_offset(head) == len(head)
    assert data_offset(head[:-3]) is None  # the data chunk's header has not arrived yet
    assert data_offset(b"RIFF") is None
    with pytest.raises(ValueError):
        data_offset(b"<html><body>nope</body>")


def test_followed_wav_gives_the_same_samples_and_mfcc_as_the_file(tmp_path):
    from cleaning.analyse import read_mono
    from cleaning.audio import mfcc_from_samples
    from cleaning.recipe import load_recipe
    from cleaning.steps import Video, build_steps

    clip = _av(tmp_path / "clip.mp4", "testsrc2=s=320x240:r=25", 7.3, audio="sine=f=440:sample_rate=48000")
    recipe = load_recipe(None, workers=1)
    steps = {s.name: s for s in build_steps(recipe)}
    video = Video(index=0, path=clip, out=tmp_path / "out", scratch=tmp_path / "scratch")
    assert steps["probe"](video) is None
    assert steps["analyse"](video) is None
    a, c = video.analysis, recipe.cache
    assert a.mfcc is not None  # followed during the decode, not recomputed afterwards
    samples, rate = read_mono(a.wav)
    assert rate == c.sample_rate == a.sample_rate
    assert len(a.samples) == len(samples) == pytest.approx(7.3 * 44_100, abs=2048)
    assert np.array_equal(a.samples, samples)
    expected = mfcc_from_samples(samples, rate, c.n_mfcc, c.n_fft, c.hop_length)
    assert a.mfcc.dtype == expected.dtype and a.mfcc.shape == expected.shape == (32, 1 + len(samples) // 512)
    assert a.mfcc.tobytes() == expected.tobytes()


def test_a_file_that_is_not_a_wav_is_left_to_the_ordinary_reader(tmp_path):
    from cleaning.audio import MfccStream
    from cleaning.wavtail import WavTail

    path = tmp_path / "audio.wav"
    tail = WavTail(path, MfccStream(44_100, 32, 2048, 512))
    tail.poll()  # not created yet: nothing happens
    path.write_bytes(b"<html>" + b"x" * 100)
    tail.poll()  # no exception in the middle of a decode pass
    assert tail.finish() is None
