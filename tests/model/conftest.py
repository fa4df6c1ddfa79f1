"""Model-stage fixtures: few torch threads (the test machine is shared) and the tiny config."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _few_threads() -> None:
    import torch

    torch.set_num_threads(1)


@pytest.fixture
def tiny():
    from model.config import preset

    return preset("tiny")


@pytest.fixture(scope="session")
def synth_dataset(synth_videos, tmp_path_factory):
    """A small built dataset (manifest.csv + cache) from 3 synthetic clips per category."""
    from model.synthdata import dataset_from_clips

    clips = synth_videos(per_class=3, seed=3, size="64x48", fps=10)
    out = tmp_path_factory.mktemp("ds_small")
    dataset_from_clips(clips, out, test_fraction=0.34, seed=0, short_side=40)
    return out


@pytest.fixture(scope="session")
def learn_clips(synth_videos):
    """Eight synthetic clips per category (category visible in the picture and audible in the sound)."""
    return synth_videos(per_class=8, seed=11, size="64x48", fps=10)
