"""Benchmark: faults survived without losing data (kill -9 an app worker under load, kill cleaning and training
mid-way, mutated media into cleaning); prints one table and writes bench/out/faults.json.

Loopback only and bounded: 100 simulated annotators, 12 clips, 3 tiny epochs, ~40 bad files.
Restarting PostgreSQL is opt-in (--pg-restart): it restarts the local server for everyone using it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "out"
sys.path.insert(0, str(REPO))

from tests.e2e import faults  # noqa: E402


def _database(admin_url: str):
    import psycopg

    admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    name = f"emotions_bench_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"
    return admin, name, url


def votes(admin_url: str, tmp: Path, fault: str) -> dict:
    """100 annotators vote with retries while one worker is killed (or PostgreSQL restarts)."""
    from tests.annotation_app.conftest import F

    admin, name, url = _database(admin_url)
    fleet = faults.start_fleet(url, tmp / f"app_{fault}", annotators=100, per_group=4, workers=3)
    try:
        killed: list[int] = []
        if fault == "worker":
            def hit(out: faults.Outcome) -> None:
                killed.extend(faults.kill_a_worker(fleet.proc.pid, out))
        else:
            from tests.e2e.test_fault_votes import _restart_postgres

            def hit(out: faults.Outcome) -> None:
                _restart_postgres()
        out = faults.annotate(fleet, adjective_id=F, during=hit, fault_after=0.3, deadline_s=150)
        counts = faults.audit_votes(fleet, out)
    finally:
        faults.stop_fleet(fleet)
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    counts["workers_killed"] = len(killed)
    counts["survived"] = all(counts[k] == 0 for k in faults.PROBLEMS) and counts["resolved"] == counts["samples"]
    counts["votes_per_s"] = round(counts["acknowledged"] / max(out.seconds, 1e-9), 1)
    return counts


def clean_kill(tmp: Path) -> dict:
    from cleaning.synth import synthesize
    from core.manifest import complete_shards, read_rows

    source = tmp / "clips"
    synthesize(source, per_class=2, seed=5, size="160x120", fps=10)
    (tmp / "recipe.yaml").write_text("shard_size: 2\n")
    args = ["clean", "run", "--source", str(source), "--recipe", str(tmp / "recipe.yaml"), "--workers", "1", "--out"]
    straight, killed = tmp / "clean_straight", tmp / "clean_killed"
    assert faults.cli(*args, str(straight)).wait(120) == 0

    def ready() -> bool:
        work = killed / ".work"
        return work.exists() and any(len(complete_shards(d, "videos")) >= 2 for d in work.iterdir())

    was_killed = faults.kill_when(faults.cli(*args, str(killed)), ready)
    rc = faults.cli(*args, str(killed)).wait(120)

    def rows(out: Path) -> list[dict]:
        return sorted(read_rows(out / "manifest"), key=lambda r: r["source_path"])

    same = rc == 0 and rows(killed) == rows(straight)
    return {"killed": was_killed, "resumed_rc": rc, "rows": len(rows(straight)), "survived": was_killed and same}


def train_kill(tmp: Path) -> dict:
    from cleaning.synth import synthesize
    from model.synthdata import dataset_from_clips

    clips, ds, runs = tmp / "tclips", tmp / "ds", tmp / "runs"
    synthesize(clips, per_class=3, seed=3, size="64x48", fps=10)
    dataset_from_clips(clips, ds, test_fraction=0.34, seed=0, short_side=40)
    args = ["model", "train", "--dataset", str(ds), "--config", "tiny", "--epochs", "3", "--workers", "0",
            "--device", "cpu", "--seed", "7", "--runs-dir", str(runs), "--run-id"]
    assert faults.cli(*args, "straight").wait(300) == 0

    def history(run: str) -> dict:
        return json.loads((runs / run / "history.json").read_text())

    def ready() -> bool:
        try:
            return len(history("killed")["epochs"]) >= 1 and (runs / "killed" / "last.pt").exists()
        except (OSError, ValueError, KeyError):
            return False

    was_killed = faults.kill_when(faults.cli(*args, "killed"), ready)
    rc = faults.cli("model", "train", "--dataset", str(ds), "--device", "cpu", "--workers", "0", "--resume",
                    str(runs / "killed" / "last.pt")).wait(300)
    a = [s["loss"] for s in history("straight")["steps"]]
    b = [s["loss"] for s in history("killed")["steps"]] if rc == 0 else []
    same = len(a) == len(b) and all(abs(x - y) <= 1e-7 + 1e-6 * abs(x) for x, y in zip(a, b, strict=True))
    return {"killed": was_killed, "resumed_rc": rc, "steps": len(a), "survived": was_killed and same}


def media(tmp: Path) -> dict:
    from cleaning.synth import synthesize

    synthesize(tmp / "mclips", per_class=1, seed=21, size="160x120", fps=10)
    made = faults.mutate(sorted((tmp / "mclips").glob("*.mp4"))[:2], tmp / "bad")
    done, rows = faults.clean_folder(tmp / "bad", tmp / "bad_out")
    with_reason = sum(1 for r in rows if r["status"] == "kept" or r.get("reason"))
    crashed = done.returncode != 0 or "Traceback" in done.stderr
    return {"tried": len(made), "rows": len(rows), "rejected": sum(r["status"] == "rejected" for r in rows),
            "with_reason": with_reason, "crashed": crashed,
            "survived": not crashed and len(rows) == len(made) == with_reason}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=os.environ.get("EMOTIONS_TEST_PG_ADMIN",
                                                       "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--pg-restart", action="store_true", help="also restart the local PostgreSQL mid-run")
    parser.add_argument("--skip-train", action="store_true")
    args = parser.parse_args()
    if not args.pg.startswith("postgresql://") or ("127.0.0.1" not in args.pg and "localhost" not in args.pg):
        parser.error("--pg must be a loopback postgresql:// URL")
    result: dict = {}
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        try:
            result["votes_worker_kill"] = votes(args.pg, tmp, "worker")
            if args.pg_restart:
                result["votes_pg_restart"] = votes(args.pg, tmp, "postgres")
        except Exception as exc:  # PostgreSQL absent: the other faults still run
            if "votes_worker_kill" in result:
                raise
            print(f"votes under faults skipped: {str(exc).splitlines()[0]}")
        result["clean_kill"] = clean_kill(tmp)
        if not args.skip_train:
            result["train_kill"] = train_kill(tmp)
        result["media"] = media(tmp)
    vote_runs = [v for k, v in result.items() if k.startswith("votes_")]
    faults_tried = [k for k in result if k != "media"]
    summary = {
        "load_votes_per_s": min((v["votes_per_s"] for v in vote_runs), default=None),
        "annotators": 100 if vote_runs else 0,
        "faults_survived": sum(1 for k in faults_tried if result[k]["survived"]),
        "faults_tried": len(faults_tried),
        "bad_inputs_tried": result["media"]["tried"],
        "bad_inputs_crashed": int(result["media"]["crashed"]),
        "votes_lost": sum(v["votes_lost"] for v in vote_runs),
        "duplicates": sum(v["duplicates"] for v in vote_runs),
        "seconds": round(time.time() - started, 1),
    }
    result["summary"] = summary
    load = "n/a (no PostgreSQL)" if summary["load_votes_per_s"] is None else \
        f"{summary['load_votes_per_s']:.0f} votes/s, 100 annotators, 3 workers"
    survived = ", ".join(f"{k}{'' if result[k]['survived'] else ' FAILED'}" for k in faults_tried)
    table = [("load held", load),
             ("faults survived", f"{summary['faults_survived']}/{summary['faults_tried']} ({survived})"),
             ("bad inputs tried", f"{summary['bad_inputs_tried']} ({result['media']['rejected']} rejected with "
                                  f"a reason, {summary['bad_inputs_crashed']} crashes)"),
             ("votes lost", f"{summary['votes_lost']} (duplicates {summary['duplicates']}; must be 0)")]
    print(f"{'measure':<18}value")
    for key, value in table:
        print(f"{key:<18}{value}")
    OUT.mkdir(exist_ok=True)
    (OUT / "faults.json").write_text(json.dumps(result, indent=2, default=str))
    if summary["votes_lost"] or summary["duplicates"] or summary["faults_survived"] < summary["faults_tried"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
