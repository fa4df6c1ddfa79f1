"""The in-process PyAV probe against the ffprobe CLI on every kind of input the cleaning stage meets."""

from __future__ import annotations

import dataclasses

import pytest

from cleaning import ffmpeg, libav
from cleaning.probe import _is_still_image, parse_probe
from core.errors import MediaError

pytest.importorskip("av")

# PyAV ships its own FFmpeg build: container durations may differ by a frame's worth from the system one
DURATION_SLACK_S = 0.05


def _verdict(probe, path):
    """('info', MediaInfo) / ('image', None) / ('error', None): what the probe step would conclude."""
    try:
        data = probe(path)
    except (MediaError, libav.Unreadable):
        return "error", None
    if _is_still_image(data):
        return "image", None
    try:
        return "info", parse_probe(data)
    except MediaError:
        return "error", None


def test_pyav_probe_agrees_with_ffprobe_on_every_input(bad_inputs):
    deferred = []
    for name, path in sorted(bad_inputs.items()):
        if name == "empty":  # the probe step rejects 0-byte files before probing
            continue
        ours, theirs = _verdict(libav.probe, path), _verdict(ffmpeg.probe, path)
        if ours[0] == "error":
            deferred.append(name)  # the step then asks ffprobe: its verdict is the one recorded
            continue
        assert ours[0] == theirs[0], name
        if ours[1] is not None:
            a, b = dataclasses.asdict(ours[1]), dataclasses.asdict(theirs[1])
            for key in ("duration_s", "video_s"):
                assert abs(a.pop(key) - b.pop(key)) <= DURATION_SLACK_S, (name, key)
            assert a == b, name
    assert sorted(deferred) == ["ftyp_only", "html", "non_utf8", "random", "text"]


def test_rotation_comes_from_the_first_frame(bad_inputs):
    info = parse_probe(libav.probe(bad_inputs["rotated"]))
    assert (info.rotation, info.width, info.height) == (90, 120, 160)
    assert parse_probe(libav.probe(bad_inputs["portrait"])).rotation == 0


def test_unreadable_names_and_bytes_are_left_to_ffprobe(bad_inputs, tmp_path):
    with pytest.raises(libav.Unreadable, match="not UTF-8"):
        libav.probe(bad_inputs["non_utf8"])
    with pytest.raises(libav.Unreadable):
        libav.probe(bad_inputs["text"])
    with pytest.raises(libav.Unreadable):
        libav.probe(tmp_path / "missing.mp4")
