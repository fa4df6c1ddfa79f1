"""`emotions model …` end to end on a tiny synthetic dataset: train, eval, predict, benchmark, profile, archs."""

from __future__ import annotations

import json
import shutil

import pytest

from core.cli import main


@pytest.fixture(scope="module")
def trained(synth_dataset, tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    code = main(["model", "train", "--dataset", str(synth_dataset), "--config", "tiny", "--epochs", "1",
                 "--device", "cpu", "--runs-dir", str(runs), "--run-id", "cli"])
    assert code == 0
    return runs / "cli"


def test_train_prints_metrics_and_writes_the_run(trained):
    metrics = json.loads((trained / "metrics.json").read_text())
    assert {"acc", "wa_f1", "uar", "per_class_acc", "confusion"} <= set(metrics)


def test_eval_checkpoint(trained, synth_dataset, tmp_path, capsys):
    code = main(["model", "eval", "--checkpoint", str(trained / "best.pt"), "--dataset", str(synth_dataset),
                 "--split", "test", "--device", "cpu", "--out", str(tmp_path / "ev")])
    assert code == 0
    out = capsys.readouterr().out
    assert "ACC" in out and "WA-F1" in out
    assert json.loads((tmp_path / "ev" / "metrics.json").read_text())["n"] == 6


def test_predict_prints_six_probabilities(trained, synth_videos, capsys):
    clip = next(synth_videos(per_class=3, seed=3, size="64x48", fps=10).glob("fear_*.mp4"))
    code = main(["model", "predict", "--checkpoint", str(trained / "best.pt"), "--json", "--device", "cpu", str(clip)])
    assert code == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(row["probabilities"]) == 6 and abs(sum(row["probabilities"].values()) - 1) < 1e-4


def test_benchmark_writes_table(synth_dataset, tmp_path, capsys):
    version = tmp_path / "ds" / "v1"
    shutil.copytree(synth_dataset, version / "all")
    out = tmp_path / "bench"
    code = main(["model", "benchmark", "--dataset", str(version), "--variants", "all",
                 "--archs", "audio_only,vanilla", "--config", "tiny", "--epochs", "1", "--device", "cpu",
                 "--out", str(out)])
    assert code == 0
    table = (out / "benchmark.md").read_text()
    assert "| audio_only | A |" in table and "| vanilla | A+V |" in table and "EX" in table
    assert len((out / "benchmark.csv").read_text().strip().splitlines()) == 3
    assert (out / "benchmark.png").is_file()


def test_profile_reports_rates_and_flops(capsys):
    code = main(["model", "profile", "--config", "tiny", "--steps", "1", "--loader-clips", "6",
                 "--device", "cpu", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["loader_clips_per_s_per_worker"] > 0 and result["model_clips_per_s"] > 0
    assert result["forward_gflops_per_clip"] > 0 and result["pipeline_over_model"] > 0
    assert result["step_time_s"] > 0 and 0 <= result["input_wait_share"] <= 1


def test_mfu_peak_follows_the_detected_card():
    from model.profile import peak_bf16_tflops

    names = {"NVIDIA H100 80GB HBM3": 989.0, "NVIDIA H100 PCIe": 756.0, "NVIDIA H100 NVL": 835.0,
             "NVIDIA H200": 989.0, "NVIDIA A100-SXM4-80GB": 312.0, "NVIDIA L40S": 362.0, "Quadro P1000": None}
    assert {n: peak_bf16_tflops(n) for n in names} == names


def test_bad_inputs_are_one_line_errors(tmp_path, capsys):
    assert main(["model", "train", "--dataset", str(tmp_path), "--config", "tiny"]) == 2
    assert "no dataset manifest" in capsys.readouterr().err
    assert main(["model", "train", "--dataset", str(tmp_path), "--config", "nope"]) == 2
    assert main(["model", "train", "--dataset", str(tmp_path), "--arch", "nope", "--config", "tiny"]) == 2


def test_predict_reports_an_undecodable_file_and_exits_non_zero(trained, tmp_path, capsys):
    fake = tmp_path / "notes.mp4"
    fake.write_text("not a video")
    assert main(["model", "predict", "--checkpoint", str(trained / "best.pt"), "--device", "cpu", str(fake)]) == 1
    assert "error" in capsys.readouterr().out
