"""The training loop: run outputs, exact resume after a stop, and DDP (gloo, 2 processes) against one process."""

from __future__ import annotations

import json
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from model.config import Config
from model.trainer import lr_at, train


def _quiet(tiny: Config, **train_changes) -> Config:
    """The tiny config without dropout/drop-path so runs are comparable step by step."""
    cfg = tiny.override("net", visual_dropout=0.0, lisf_dropout=0.0, lisf_attn_dropout=0.0, drop_path=0.0)
    return cfg.override("train", **{"threads": 1, **train_changes})


def test_run_writes_outputs(synth_dataset, tiny, tmp_path):
    cfg = tiny.override("train", epochs=1, threads=1).override("data", num_workers=1)  # one loader worker process
    result = train(cfg, synth_dataset, runs_dir=tmp_path, run_id="r1", device="cpu", progress=False)
    run = tmp_path / "r1"
    for name in ("config.yaml", "last.pt", "best.pt", "metrics.json", "confusion.png", "tsne.png", "history.json"):
        assert (run / name).is_file(), name
    metrics = json.loads((run / "metrics.json").read_text())
    for key in ("acc", "wa_f1", "uar", "per_class_acc", "confusion"):
        assert key in metrics
    assert metrics["split"] == "test" and 0 <= metrics["acc"] <= 1 and len(metrics["per_class_acc"]) == 6
    assert sum(map(sum, metrics["confusion"])) == metrics["n"] == 6
    assert result.metrics["acc"] == metrics["acc"]
    ckpt = torch.load(run / "best.pt", map_location="cpu", weights_only=False)
    assert ckpt["vocabulary"]["classes"][0] == "Excitation" and ckpt["config"]["train"]["arch"] == "av_canet"


def test_resume_continues_the_exact_loss_curve(synth_dataset, tiny, tmp_path):
    cfg = _quiet(tiny, epochs=3, batch_size=4, grad_accum=2)
    straight = train(cfg, synth_dataset, runs_dir=tmp_path, run_id="straight", device="cpu", progress=False)
    first = train(cfg, synth_dataset, runs_dir=tmp_path, run_id="killed", device="cpu", progress=False, stop_after=1)
    assert first.epochs_done == 1 and len(first.history["epochs"]) == 1
    resumed = train(cfg, synth_dataset, resume=tmp_path / "killed" / "last.pt", device="cpu", progress=False)
    a = [s["loss"] for s in straight.history["steps"]]
    b = [s["loss"] for s in resumed.history["steps"]]
    assert len(a) == len(b) == 3 * 2
    assert a == pytest.approx(b, rel=1e-6, abs=1e-7)
    assert resumed.run_dir == tmp_path / "killed"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, cfg_dict: dict, dataset: str, runs: str, out: str) -> None:
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": str(world),
                       "RANK": str(rank), "LOCAL_RANK": str(rank)})
    torch.set_num_threads(1)
    import torch.distributed as dist

    result = train(Config.from_dict(cfg_dict), dataset, runs_dir=runs, run_id="ddp", device="cpu", progress=False)
    if rank == 0:
        with open(out, "w") as handle:
            json.dump([s["loss"] for s in result.history["steps"]], handle)
    dist.destroy_process_group()


@pytest.mark.timeout(300)
def test_ddp_two_processes_match_one_process(synth_dataset, tiny, tmp_path):
    one = _quiet(tiny, epochs=2, batch_size=2, grad_accum=2)
    single = train(one, synth_dataset, runs_dir=tmp_path, run_id="one", device="cpu", progress=False)
    two = _quiet(tiny, epochs=2, batch_size=2, grad_accum=1)
    out = tmp_path / "ddp_losses.json"
    mp.start_processes(_ddp_worker, args=(2, _free_port(), two.to_dict(), str(synth_dataset), str(tmp_path), str(out)),
                       nprocs=2, join=True, start_method="spawn")
    ddp = json.loads(out.read_text())
    ref = [s["loss"] for s in single.history["steps"]]
    assert len(ddp) == len(ref) == 2 * 3
    assert ddp == pytest.approx(ref, rel=1e-4, abs=1e-5)


def test_lr_schedule_shapes(tiny):
    t = tiny.override("train", epochs=30, lr=1.5e-4, warmup_epochs=1.5, lr_schedule="cosine").train
    assert lr_at(0, t) == pytest.approx(1.5e-5)
    assert lr_at(1.5, t) == pytest.approx(1.5e-4)
    assert lr_at(29, t) == pytest.approx(1.5e-6)
    assert lr_at(10, t) > lr_at(20, t)
    released = tiny.override("train", epochs=30, lr=1.5e-4, lr_schedule="released").train
    assert lr_at(0, released) == pytest.approx(1.5e-6) == lr_at(15, released)


def test_held_out_validation_selects_on_val_and_reports_test(synth_dataset, tiny, tmp_path):
    cfg = tiny.override("train", epochs=2, selection="val", val_fraction=0.34)
    result = train(cfg, synth_dataset, runs_dir=tmp_path, run_id="val", device="cpu", progress=False)
    assert all("val" in e and "test" in e for e in result.history["epochs"])
    assert result.history["epochs"][0]["val"]["n"] == 6  # one of the two train clips of each class
    assert result.metrics["split"] == "test" and result.metrics["selection"] == "val"


def test_resume_takes_run_time_overrides_and_refuses_shape_changes(synth_dataset, tiny, tmp_path, capsys):
    from core.cli import main

    args = ["model", "train", "--dataset", str(synth_dataset), "--config", "tiny", "--epochs", "1", "--device", "cpu",
            "--runs-dir", str(tmp_path), "--run-id", "r"]
    assert main(args) == 0
    last = tmp_path / "r" / "last.pt"
    resume = ["model", "train", "--dataset", str(synth_dataset), "--resume", str(last), "--device", "cpu"]
    assert main([*resume, "--epochs", "2", "--workers", "1"]) == 0
    state = torch.load(last, map_location="cpu", weights_only=False)
    assert state["epoch"] == 2 and state["config"]["train"]["epochs"] == 2
    assert state["config"]["data"]["num_workers"] == 1
    capsys.readouterr()
    assert main([*resume, "--epochs", "3", "--batch-size", "4"]) == 2
    err = capsys.readouterr().err
    assert "--resume cannot change train.batch_size (8 -> 4)" in err and "start a new run" in err
    assert main([*resume, "--arch", "visual_only"]) == 2
    assert "--resume cannot change train.arch ('av_canet' -> 'visual_only')" in capsys.readouterr().err
    assert main([*resume, "--epochs", "1"]) == 2
    assert "fewer than the 2 epochs already done" in capsys.readouterr().err
    assert main([*resume, "--config", "small"]) == 2
    assert torch.load(last, map_location="cpu", weights_only=False)["epoch"] == 2


def test_persistent_loader_workers_see_each_epoch_and_the_card_flags_paper_selection(synth_dataset, tiny, tmp_path):
    cfg = _quiet(tiny, epochs=2, batch_size=4, selection="paper")
    inline = train(cfg.override("data", num_workers=0), synth_dataset, runs_dir=tmp_path, run_id="w0", device="cpu",
                   progress=False)
    workers = train(cfg.override("data", num_workers=1), synth_dataset, runs_dir=tmp_path, run_id="w1",
                    device="cpu", progress=False)
    # one persistent worker process serves both epochs: the epoch travels with the indices, so the samples match
    assert [s["loss"] for s in workers.history["steps"]] == pytest.approx([s["loss"] for s in inline.history["steps"]],
                                                                          rel=1e-6)
    card = (tmp_path / "w1" / "card.md").read_text()
    assert "best epoch on the test split" in card and "**Optimistic**" in card
