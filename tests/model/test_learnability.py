"""Learnability on synthetic clips: the tiny config learns the category from picture + sound, and from sound alone."""

from __future__ import annotations

import pytest

from model.config import preset
from model.synthdata import dataset_from_clips
from model.trainer import train


def test_tiny_av_canet_learns_synthetic_categories(learn_clips, tmp_path):
    data = tmp_path / "ds"
    dataset_from_clips(learn_clips, data, test_fraction=0.25, seed=0, short_side=40)
    result = train(preset("tiny"), data, runs_dir=tmp_path / "runs", run_id="learn", device="cpu", progress=False)
    assert result.metrics["n"] == 12
    assert result.metrics["acc"] >= 0.9, result.history["epochs"]


@pytest.mark.slow
def test_fused_model_learns_a_label_that_lives_only_in_the_audio(learn_clips, tmp_path):
    data = tmp_path / "ds_audio"
    dataset_from_clips(learn_clips, data, test_fraction=0.25, seed=0, short_side=40, audio_only_label=True)
    cfg = preset("tiny").override("train", epochs=10)
    result = train(cfg, data, runs_dir=tmp_path / "runs", run_id="audio", device="cpu", progress=False)
    assert result.metrics["acc"] >= 0.75, result.history["epochs"]
