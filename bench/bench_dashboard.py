"""Benchmark: the live quality dashboard (agreement overall, per group, per week; escalation; votes per day) and
the whole /dashboard page, on 100,000 member votes in SQLite and PostgreSQL.

Prints a table and writes bench/out/dashboard.json (or --out). The target is under 1 s uncached.
PostgreSQL: EMOTIONS_BENCH_PG_ADMIN (default postgresql://postgres@127.0.0.1:5432/postgres); skipped if absent.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from annotation_app.models import Group, Membership, Project, Resolution, Sample, Seat, User, Vote  # noqa: E402
from core.db import Base, make_engine, session_factory  # noqa: E402

OUT = ROOT / "bench" / "out"
NAMES = ["Excitation", "Fear", "Neutral", "Relaxation", "Sadness", "Tension"]
SHARE = np.array([11739, 954, 8795, 2214, 2090, 2204]) / 27996
PG_ADMIN = os.environ.get("EMOTIONS_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def populate(url: str, votes: int, seed: int = 0) -> None:
    """3 groups of a leader and 3 members; votes/3 samples with 3 member votes each over 60 days; 15% escalate."""
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    rng = np.random.default_rng(seed)
    n_items = -(-votes // 3)
    truth = rng.choice(6, size=n_items, p=SHARE)
    keep = rng.random((n_items, 3)) < 0.7
    labels = np.where(keep, truth[:, None], rng.integers(0, 6, size=(n_items, 3)))
    start = datetime.now(UTC) - timedelta(days=60)
    with engine.begin() as conn:
        conn.execute(insert(Project), [{"id": 1, "name": "bench"}])
        conn.execute(insert(Group), [{"id": g + 1, "project_id": 1, "name": "ABC"[g]} for g in range(3)])
        users, memberships = [], []
        for g in range(3):
            for k, role in enumerate(("leader", "member", "member", "member")):
                uid = g * 4 + k + 1
                users.append({"id": uid, "username": f"{'abc'[g]}{k}", "role": role, "display_name": ""})
                memberships.append({"user_id": uid, "group_id": g + 1, "role": role})
        conn.execute(insert(User), users)
        conn.execute(insert(Membership), memberships)
        samples, rows, seats, resolutions = [], [], [], []
        vote_id = 0
        for i in range(n_items):
            g = i % 3
            sid = f"b{i:07d}"
            cats = [NAMES[c] for c in labels[i]]
            top = max(cats.count(c) for c in cats)
            open_now = i >= n_items * 0.9  # the last 10% still wait for votes
            status = "open" if open_now or top == 1 else "resolved"
            stage = "leader" if top == 1 and not open_now else "member"
            samples.append({"id": sid, "project_id": 1, "seq": i, "kind": "task", "group_id": g + 1,
                            "media_path": "x", "source_path": "x", "stage": stage, "status": status,
                            "final_category": max(cats, key=cats.count) if status == "resolved" else None,
                            "decided_stage": "member" if status == "resolved" else None})
            when = start + timedelta(days=60 * i / n_items)
            for k in range(3):
                vote_id += 1
                rows.append({"id": vote_id, "client_id": uuid.uuid4().hex, "sample_id": sid,
                             "voter_id": g * 4 + k + 2, "stage": "member", "role": "member", "group_id": g + 1,
                             "adjective_id": 1, "category": cats[k], "confidence": 0.5, "watch_s": 5.0,
                             "revision": 1, "created_at": when + timedelta(minutes=k)})
            if status == "resolved":
                resolutions.append({"sample_id": sid, "final_category": samples[-1]["final_category"],
                                    "decided_stage": "member", "pattern": "x", "vote_id": vote_id})
            if stage == "leader":
                seats.append({"sample_id": sid, "stage": "leader", "seat_no": 0, "group_id": g + 1, "seq": i})
        for table, data in ((Sample, samples), (Vote, rows), (Resolution, resolutions), (Seat, seats)):
            for chunk in range(0, len(data), 20_000):
                conn.execute(insert(table), data[chunk:chunk + 20_000])
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


def measure(url: str, runs: int) -> dict:
    from fastapi.testclient import TestClient

    from annotation_app.app import create_app
    from annotation_app.services import auth, quality
    from core.settings import load_settings

    engine = make_engine(url)
    factory = session_factory(engine)
    compute, page, scoped = [], [], []
    with factory() as session:
        quality.compute(session)  # imports (pandas, statsmodels, krippendorff) once, outside the timings
        for _ in range(runs):
            t = time.perf_counter()
            result = quality.compute(session)
            compute.append(time.perf_counter() - t)
            t = time.perf_counter()
            quality.compute(session, [1])
            scoped.append(time.perf_counter() - t)
        admin = User(id=100, username="bench-admin", role="admin", display_name="")
        session.add(admin)
        session.flush()
        admin_token = auth.create_token(session, admin)
        session.commit()
    app = create_app(load_settings(data_dir=Path(tempfile.mkdtemp())), database_url=url)
    client = TestClient(app)
    client.headers.update({"Authorization": f"Bearer {admin_token}", "Accept": "text/html"})
    for _ in range(runs):
        quality._cache.clear()
        t = time.perf_counter()
        r = client.get("/dashboard")
        page.append(time.perf_counter() - t)
        assert r.status_code == 200, r.text[:500]
    t = time.perf_counter()
    client.get("/dashboard")
    cached = time.perf_counter() - t
    app.state.engine.dispose()
    engine.dispose()
    return {"votes": result["overall"].ratings, "kappa": result["overall"].kappa,
            "compute_s": statistics.median(compute), "compute_one_group_s": statistics.median(scoped),
            "page_uncached_s": statistics.median(page), "page_cached_s": cached, "runs": runs}


def _pg_database() -> tuple[str, callable] | None:
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except Exception as exc:  # no server: say so and go on with SQLite
        print(f"PostgreSQL skipped: {str(exc).splitlines()[0]}")
        return None
    name = f"emotions_bench_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=OUT / "dashboard.json")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("sqlite", f"sqlite:///{tmp}/bench.db", None)]
        pg = _pg_database()
        if pg is not None:
            targets.append(("postgresql", pg[0], pg[1]))
        for name, url, drop in targets:
            try:
                t = time.perf_counter()
                populate(url, args.votes)
                print(f"{name}: {args.votes} votes written in {time.perf_counter() - t:.1f} s")
                results[name] = measure(url, args.runs)
            finally:
                if drop is not None:
                    drop()
    print(f"{'database':<12}{'votes':>9}{'compute s':>11}{'1 group s':>11}{'page s':>9}{'cached s':>10}  kappa")
    for name, r in results.items():
        print(f"{name:<12}{r['votes']:>9}{r['compute_s']:>11.3f}{r['compute_one_group_s']:>11.3f}"
              f"{r['page_uncached_s']:>9.3f}{r['page_cached_s']:>10.3f}  {r['kappa']:.4f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"target_s": 1.0, **results}, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
