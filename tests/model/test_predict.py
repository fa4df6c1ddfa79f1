"""`model predict` and `model eval` see the same inputs: the clean stage's cache, one dataset and one inference loop."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from core.cli import main
from model.evaluate import evaluate_checkpoint
from model.predict import predict_videos


@pytest.fixture(scope="module")
def checkpoint(synth_dataset, tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    assert main(["model", "train", "--dataset", str(synth_dataset), "--config", "tiny", "--epochs", "1",
                 "--device", "cpu", "--runs-dir", str(runs), "--run-id", "p"]) == 0
    return runs / "p" / "last.pt"


def _eval_vs_predict(checkpoint: Path, dataset: Path, clips: dict[str, Path]) -> tuple[np.ndarray, np.ndarray]:
    result, vocab, items, _ = evaluate_checkpoint(checkpoint, dataset, "all", device="cpu")
    by_video = {r["video"]: r for r in predict_videos(checkpoint, [str(p) for p in clips.values()], "cpu")}
    got = np.array([[by_video[str(clips[items[i].sample_id])]["probabilities"][c] for c in vocab.classes]
                    for i in result["index"]])
    return result["prob"], got


def test_predict_equals_eval_on_synthetic_clips(checkpoint, synth_dataset, synth_videos):
    folder = synth_videos(per_class=3, seed=3, size="64x48", fps=10)
    with (folder / "labels.csv").open(encoding="utf-8") as handle:
        clips = {Path(r["file"]).stem: folder / r["file"] for r in csv.DictReader(handle)}
    expected, got = _eval_vs_predict(checkpoint, synth_dataset, clips)
    assert expected.shape == got.shape == (18, 6)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)


def test_predict_equals_eval_on_real_clips(checkpoint, music_video_dir, tmp_path):
    from model.synthdata import dataset_from_clips

    names = ["train_excited_14.mp4", "train_fear_22.mp4", "train_sad_24.mp4"]
    dataset_from_clips(music_video_dir, tmp_path, files=names, short_side=40, test_fraction=0.0)
    clips = {Path(n).stem: music_video_dir / n for n in names}
    expected, got = _eval_vs_predict(checkpoint, tmp_path, clips)
    assert expected.shape == got.shape == (3, 6)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)


def test_eval_refuses_a_cache_made_differently(checkpoint, synth_videos, tmp_path, capsys):
    from model.synthdata import dataset_from_clips

    folder = synth_videos(per_class=3, seed=3, size="64x48", fps=10)
    dataset_from_clips(folder, tmp_path, short_side=40, fps=8.0, test_fraction=0.34)
    assert main(["model", "eval", "--checkpoint", str(checkpoint), "--dataset", str(tmp_path), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "made with at most 8 fps, short side 40" in err and "trained on at most 30 fps, short side 40" in err
    assert "--cache-fps 30" in err
