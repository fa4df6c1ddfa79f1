"""Random and mutated media fed to cleaning: never a crash, one row per file, and a recorded reason when refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from .faults import clean_folder, mutate

pytestmark = pytest.mark.slow


@pytest.mark.timeout(300)
def test_mutated_and_random_media_never_crash_cleaning(synth_videos, tmp_path):
    source = synth_videos(per_class=1, seed=21, size="160x120", fps=10)
    clips = sorted(source.glob("*.mp4"))[:2]
    made = mutate(clips, tmp_path / "bad")
    done, rows = clean_folder(tmp_path / "bad", tmp_path / "out")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    by_name = {Path(r["source_path"]).name: r for r in rows}
    assert len(rows) == len(by_name) == len(made), sorted(set(made) ^ set(by_name))
    for name, what in made.items():
        row = by_name[name]
        assert row["status"] in ("kept", "rejected", "duplicate"), (name, what, row["status"])
        if row["status"] != "kept":
            assert isinstance(row["reason"], str) and row["reason"], (name, what, row)
    assert by_name["zero_length.mp4"]["reason"] == "empty_file"
    for name in [n for n in made if "_trunc_" in n and not n.endswith("_0.0005.mp4")]:
        assert (by_name[name]["status"], by_name[name]["reason"]) == ("rejected", "corrupt"), (name, by_name[name])
    for name in ("zero_length.mp4", "random_1.mp4", "random_4096.mp4", "text.mov", "ftyp_only.mp4"):
        assert by_name[name]["status"] == "rejected", (name, by_name[name])
    rejected = sum(r["status"] == "rejected" for r in rows)
    reasons = sorted({r["reason"] for r in rows if r["status"] != "kept"})
    print(f"media: {len(made)} bad inputs, {rejected} rejected, {len(rows) - rejected} kept/duplicate; "
          f"reasons {reasons}")
