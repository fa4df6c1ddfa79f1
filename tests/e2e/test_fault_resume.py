"""Fault tests of resumable stages: SIGKILL a cleaning run and a training run mid-way, re-run, compare outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.manifest import complete_shards, read_rows

from .faults import cli, kill_when

pytestmark = pytest.mark.slow
TIMING = ("elapsed", "seconds", "started", "finished", "took", "wall", "_at", "_per_s", "per_second")


def _without_timing(row: dict) -> dict:
    return {k: v for k, v in row.items() if not any(t in k for t in TIMING)}


def _manifest(out: Path) -> list[dict]:
    return sorted((_without_timing(r) for r in read_rows(out / "manifest")), key=lambda r: r["source_path"])


def _derived(out: Path) -> list[str]:
    """Every derived file of a cleaning output, relative, without the work folder and the run report."""
    return sorted(str(p.relative_to(out)) for p in out.rglob("*")
                  if p.is_file() and p.relative_to(out).parts[0] not in (".work", "report", "manifest"))


@pytest.mark.timeout(180)
def test_clean_killed_mid_way_resumes_to_the_same_manifest(synth_videos, tmp_path):
    source = synth_videos(per_class=2, seed=5, size="160x120", fps=10)  # 12 small clips
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("shard_size: 2\n")  # resume works per shard: small shards make a mid-way kill meaningful
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    args = ["clean", "run", "--source", str(source), "--recipe", str(recipe), "--workers", "1", "--out"]
    done = cli(*args, str(straight))
    assert done.wait(120) == 0, done.stderr.read()

    def some_shards_done() -> bool:
        work = killed / ".work"
        return work.exists() and any(len(complete_shards(d, "videos")) >= 2 for d in work.iterdir())

    proc = cli(*args, str(killed))
    assert kill_when(proc, some_shards_done), "the cleaning run finished before it could be killed"
    finished_before = sum(len(complete_shards(d, "videos")) for d in (killed / ".work").iterdir())
    assert 2 <= finished_before < 6  # killed mid-way: some shards done, some not
    assert not (killed / "manifest").exists() or not complete_shards(killed / "manifest")
    again = cli(*args, str(killed))
    assert again.wait(120) == 0, again.stderr.read()

    expected, got = _manifest(straight), _manifest(killed)
    assert len(expected) == 12 and {r["status"] for r in expected} == {"kept"}
    assert got == expected
    assert _derived(killed) == _derived(straight)
    print(f"clean: killed after {finished_before}/6 shards; resumed manifest equals the straight run's (12 rows)")


@pytest.fixture(scope="module")
def tiny_dataset(synth_videos, tmp_path_factory) -> Path:
    from model.synthdata import dataset_from_clips

    clips = synth_videos(per_class=3, seed=3, size="64x48", fps=10)
    out = tmp_path_factory.mktemp("fault_ds")
    dataset_from_clips(clips, out, test_fraction=0.34, seed=0, short_side=40)
    return out


def _history(run: Path) -> dict:
    return json.loads((run / "history.json").read_text())


@pytest.mark.timeout(300)
def test_training_killed_after_epoch_one_resumes_to_the_same_history(tiny_dataset, tmp_path):
    runs = tmp_path / "runs"
    args = ["model", "train", "--dataset", str(tiny_dataset), "--config", "tiny", "--epochs", "3", "--workers", "0",
            "--device", "cpu", "--seed", "7", "--runs-dir", str(runs), "--run-id"]
    done = cli(*args, "straight")
    assert done.wait(240) == 0, done.stderr.read()

    def after_epoch_one() -> bool:
        try:
            return len(_history(runs / "killed")["epochs"]) >= 1 and (runs / "killed" / "last.pt").exists()
        except (OSError, ValueError, KeyError):
            return False

    proc = cli(*args, "killed")
    assert kill_when(proc, after_epoch_one), "the training run finished before it could be killed"
    assert len(_history(runs / "killed")["epochs"]) < 3 and not (runs / "killed" / "metrics.json").exists()
    resumed = cli("model", "train", "--dataset", str(tiny_dataset), "--device", "cpu", "--workers", "0",
                   "--resume", str(runs / "killed" / "last.pt"))
    assert resumed.wait(240) == 0, resumed.stderr.read()

    a, b = _history(runs / "straight"), _history(runs / "killed")
    assert len(a["epochs"]) == len(b["epochs"]) == 3
    assert [s["loss"] for s in b["steps"]] == pytest.approx([s["loss"] for s in a["steps"]], rel=1e-6, abs=1e-7)
    for ea, eb in zip(a["epochs"], b["epochs"], strict=True):
        ea, eb = _without_timing(ea), _without_timing(eb)
        assert ea.keys() == eb.keys()
        for key in ea:
            if isinstance(ea[key], float | dict):
                assert eb[key] == pytest.approx(ea[key], rel=1e-6, abs=1e-7), key
            else:
                assert eb[key] == ea[key], key
    ma = _without_timing(json.loads((runs / "straight" / "metrics.json").read_text()))
    mb = _without_timing(json.loads((runs / "killed" / "metrics.json").read_text()))
    assert {k: v for k, v in mb.items() if k in ("acc", "n", "n_failed")} == \
        {k: v for k, v in ma.items() if k in ("acc", "n", "n_failed")}
    print(f"train: killed after epoch 1; resumed history equals the straight run's ({len(a['steps'])} steps)")
