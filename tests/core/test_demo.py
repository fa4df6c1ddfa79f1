from click.testing import CliRunner

from core.cli import COMMANDS, cli
from core.demo import PIPELINE


def test_demo_runs_every_built_stage_and_names_the_rest(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTIONS_DATABASE_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    work = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--out", str(work), "--per-class", "2", "--epochs", "1"])
    assert result.exit_code == 0, result.output
    summary = result.output.split("\nSummary\n", 1)[1]
    assert "  fixture site  19 files (5 edge cases, 1 exact copy, 1 truncated)" in summary
    assert f"  crawl         downloaded 18, skipped 1  -> {work / 'raw'}" in summary
    assert ("  clean         kept 12, rejected 6  (black_video 1, corrupt 1, no_audio_stream 1, silent_audio 1, "
            "static_video 1, too_short 1)") in summary
    assert ("  annotation    42 votes (exchange 2, expert 1, leader 3, member 36); resolved by exchange 1, "
            "expert 1, leader 1, member 9; 12/12 match the generator's truth") in summary
    assert ("    planned     exchange 2-1-1-1 1, expert 1, leader 2-1-1 1, members 2-1 3, members 3-0 6"
            in summary)
    assert "  qa            fleiss_kappa 0." in summary and (work / "reports" / "qa" / "report.html").is_file()
    assert (work / "export" / "votes.csv").is_file()
    assert f"  dataset       all 12, balanced 10, test 6  -> {work / 'dataset'}" in summary
    assert " test clips  -> " in summary and (work / "runs" / "demo" / "metrics.json").is_file()
    assert "  label issues  " in summary and "queued for the expert's audit" in summary
    assert (work / "label-issues" / "report.html").is_file()
    missing = [stage for stage in PIPELINE if stage not in COMMANDS]
    if missing:
        assert f"not built yet {', '.join(missing)}" in summary
    assert (work / "emotions.db").is_file()  # the demo keeps its own database
    assert not (tmp_path / "elsewhere.db").exists()


def test_demo_summary_matches_the_files_it_wrote(tmp_path):
    import csv
    import json
    import re
    from collections import Counter

    work = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--out", str(work), "--per-class", "2", "--epochs", "1", "--seed", "3"])
    assert result.exit_code == 0, result.output
    summary = result.output.split("\nSummary\n", 1)[1]
    votes = list(csv.DictReader((work / "export" / "votes.csv").open()))
    labels = list(csv.DictReader((work / "export" / "labels.csv").open()))
    cast = Counter(v["stage"] for v in votes)
    decided = Counter(r["decided_stage"] for r in labels if r["status"] == "resolved")
    line = next(x for x in summary.splitlines() if x.startswith("  annotation"))
    assert f"{len(votes)} votes (" in line
    assert ", ".join(f"{k} {v}" for k, v in sorted(cast.items())) in line
    assert "resolved by " + ", ".join(f"{k} {v}" for k, v in sorted(decided.items())) in line
    assert set(decided) == {"member", "leader", "exchange", "expert"}  # every rung of the ladder was used
    built = json.loads((work / "dataset" / "build.json").read_text())["variants"]
    assert f"all {built['all']['samples']}, balanced {built['balanced']['samples']}, test" in summary
    metrics = json.loads((work / "runs" / "demo" / "metrics.json").read_text())
    acc = re.search(r"ACC (\d+\.\d)%", summary).group(1)
    assert acc == f"{metrics['acc'] * 100:.1f}"
