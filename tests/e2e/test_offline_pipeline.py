"""One video's path through the offline stages: synth -> clean -> dataset build -> model train, via the CLI."""

import csv
import json
from pathlib import Path

from core.cli import main
from core.manifest import read_rows


def _labels_for_clean_ids(clean_dir: Path, synth_dir: Path, out: Path) -> int:
    truth = {row["file"]: row["category"] for row in csv.DictReader((synth_dir / "labels.csv").open())}
    kept = [r for r in read_rows(clean_dir / "manifest") if r["status"] == "kept"]
    with out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sample_id", "category"])
        for row in kept:
            writer.writerow([row["id"], truth[Path(row["source_path"]).name]])
    return len(kept)


def test_clean_build_train_on_synthetic_clips(synth_videos, tmp_path, capsys):
    synth = synth_videos(per_class=4, seed=11, size="160x120", fps=8)
    clean = tmp_path / "clean"
    assert main(["clean", "run", "--source", str(synth), "--out", str(clean)]) == 0
    rows = list(read_rows(clean / "manifest"))
    assert len(rows) == 24
    assert {r["status"] for r in rows} == {"kept"}, [(r["source_path"], r["reason"]) for r in rows]

    labels = tmp_path / "labels.csv"
    assert _labels_for_clean_ids(clean, synth, labels) == 24
    ds = tmp_path / "ds"
    assert main(["dataset", "build", "--labels", str(labels), "--clean", str(clean), "--out", str(ds),
                 "--variant", "all"]) == 0

    runs = tmp_path / "runs"
    assert main(["model", "train", "--dataset", str(ds), "--config", "tiny", "--epochs", "1", "--workers", "0",
                 "--device", "cpu", "--runs-dir", str(runs), "--run-id", "e2e"]) == 0
    metrics = json.loads((runs / "e2e" / "metrics.json").read_text())
    assert metrics["n"] == 6  # 20 % of 4 clips per category rounds to one test clip each
    assert metrics["n_failed"] == 0  # every cache file from cleaning was readable by the trainer
    config = (runs / "e2e" / "config.yaml").read_text()  # the cache the model learnt from, via the dataset manifest
    assert "cache_fps: 30.0" in config and "cache_short_side: 128" in config
    assert 0.0 <= metrics["acc"] <= 1.0
