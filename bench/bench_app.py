"""Benchmark: N simulated annotators (next -> watch -> vote) against the app on PostgreSQL over loopback.

Each run gets a fresh database on the local PostgreSQL server, groups of three members, a queue of
samples per group, an API token per annotator and `emotions app serve --workers W`. Every virtual
annotator starts at a random moment within one think time, then loops: GET /api/tasks/next, fetch
the first 64 KiB of the video (Range), think, POST /api/votes. A run stops at --seconds or when
every queue is empty. Afterwards the acknowledged votes are counted in the database. Prints a table
and writes bench/out/app.json.

    .venv/bin/python bench/bench_app.py --annotators 50 200 500 --workers 2 --seconds 60 --think 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
sys.path.insert(0, str(REPO))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _setup(url: str, annotators: int, per_group: int, folder: Path) -> dict[str, str]:
    """Migrate, create groups of 3 members (+ leader), import per_group samples each; return user -> token."""
    from annotation_app.services import auth, importer, people
    from core import migrate
    from core.db import make_engine, session_factory, session_scope

    migrate.upgrade(url)
    n_groups = max(1, annotators // 3)
    media = folder / "clip.mp4"
    media.write_bytes(os.urandom(256 * 1024))
    manifest = folder / "clean.jsonl"
    with manifest.open("w") as handle:
        for i in range(n_groups * per_group):
            handle.write(json.dumps({"id": f"v{i:06d}", "source_path": "x", "status": "kept",
                                     "web_mp4": str(media), "duration_s": 20.0}) + "\n")
    engine = make_engine(url)
    tokens = {}
    with session_scope(session_factory(engine)) as session:
        groups = people.ensure_groups(session, n_groups)
        for g_index, group in enumerate(groups):
            for k in range(3):
                if len(tokens) >= annotators:
                    break
                user = people.create_user(session, f"u{g_index:03d}_{k}", "member")
                people.assign(session, user, group)
                tokens[user.username] = auth.create_token(session, user, "bench")
        importer.import_manifest(session, manifest)
        importer.distribute(session, per_group)
    engine.dispose()
    return tokens


async def _annotator(client, token: str, stop_at: float, think_s: float, stats: dict, rng: random.Random) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    await asyncio.sleep(rng.uniform(0, think_s))  # people do not all click at the same millisecond
    while time.perf_counter() < stop_at:
        try:
            t0 = time.perf_counter()
            r = await client.get("/api/tasks/next", headers=headers)
            stats["next"].append(time.perf_counter() - t0)
            if r.status_code != 200:
                stats["errors"].append(f"next {r.status_code}")
                await asyncio.sleep(think_s)
                continue
            task = r.json()["task"]
            if task is None:
                return
            t0 = time.perf_counter()
            m = await client.get(task["media_url"], headers={**headers, "Range": "bytes=0-65535"})
            stats["media"].append(time.perf_counter() - t0)
            if m.status_code != 206:
                stats["errors"].append(f"media {m.status_code}")
            await asyncio.sleep(think_s * rng.uniform(0.5, 1.5))
            body = {"sample_id": task["sample_id"], "adjective_id": rng.randint(1, 62),
                    "confidence": round(rng.uniform(0.3, 1.0), 1), "client_id": uuid.uuid4().hex,
                    "stage": task["stage"], "watch_s": 20.0}
            t0 = time.perf_counter()
            v = await client.post("/api/votes", headers=headers, json=body)
            stats["vote"].append(time.perf_counter() - t0)
            if v.status_code == 201:
                stats["acked"].add(v.json()["vote_id"])
            else:
                stats["errors"].append(f"vote {v.status_code}")
        except httpx.HTTPError as exc:
            stats["errors"].append(type(exc).__name__)


async def _load(base: str, tokens: dict[str, str], seconds: float, think_s: float) -> dict:
    import httpx

    stats = {"next": [], "media": [], "vote": [], "errors": [], "acked": set()}
    limits = httpx.Limits(max_connections=len(tokens), max_keepalive_connections=len(tokens))
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        for token in list(tokens.values())[:20]:  # warm both workers (imports, connections, caches)
            await client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        started = time.perf_counter()
        stop_at = started + seconds
        rng = random.Random(7)
        await asyncio.gather(*(_annotator(client, tok, stop_at, think_s, stats, random.Random(rng.random()))
                               for tok in tokens.values()))
        stats["elapsed_s"] = time.perf_counter() - started
    return stats


def _run_one(admin_url: str, annotators: int, workers: int, seconds: float, think_s: float,
             per_group: int) -> dict:
    import psycopg
    from sqlalchemy import func, select

    from annotation_app.models import Vote
    from core.db import make_engine

    name = f"emotions_bench_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(admin_url, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"
    proc = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tokens = _setup(url, annotators, per_group, Path(tmp))
            port = _free_port()
            env = {**os.environ, "PYTHONPATH": str(REPO), "EMOTIONS_DATABASE_URL": url,
                   "EMOTIONS_DATA_DIR": tmp, "EMOTIONS_APP_SECRET_KEY": uuid.uuid4().hex}
            proc = subprocess.Popen([sys.executable, "-m", "core.cli", "app", "serve", "--host", "127.0.0.1",
                                     "--port", str(port), "--workers", str(workers)], cwd=REPO, env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            base = f"http://127.0.0.1:{port}"
            _wait_up(base)
            stats = asyncio.run(_load(base, tokens, seconds, think_s))
        engine = make_engine(url)
        with engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(Vote)).scalar_one()
            found = conn.execute(select(func.count()).select_from(Vote)
                                 .where(Vote.id.in_(list(stats["acked"]) or [-1]))).scalar_one()
        engine.dispose()
    finally:
        if proc is not None:
            _stop(proc)
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    requests = len(stats["next"]) + len(stats["media"]) + len(stats["vote"])
    ms = lambda xs, q: None if not xs else round(1000 * _percentile(xs, q), 1)  # noqa: E731
    return {
        "annotators": annotators, "workers": workers, "think_s": think_s, "elapsed_s": round(stats["elapsed_s"], 2),
        "requests": requests, "throughput_rps": round(requests / stats["elapsed_s"], 1),
        "votes_per_s": round(len(stats["vote"]) / stats["elapsed_s"], 1),
        **{f"{op}_p{q}_ms": ms(stats[op], q) for op in ("next", "vote", "media") for q in (50, 95, 99)},
        "next_mean_ms": round(1000 * statistics.fmean(stats["next"]), 1) if stats["next"] else None,
        "errors": len(stats["errors"]), "error_kinds": sorted(set(stats["errors"]))[:10],
        "votes_acknowledged": len(stats["acked"]), "votes_stored": stored, "acknowledged_found": found,
        "lost_votes": len(stats["acked"]) - found,
    }


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server and its workers (their own process group): TERM, then KILL after a grace period."""
    for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _wait_up(base: str, timeout: float = 60) -> None:
    import httpx

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if httpx.get(base + "/api/csrf", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError("server did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--annotators", type=int, nargs="+", default=[50, 200, 500])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30.0, help="Time cap per run.")
    parser.add_argument("--think", type=float, default=2.0, help="Mean seconds 'watching' before each vote.")
    parser.add_argument("--per-group", type=int, default=40, help="Samples queued per group (bounds the count).")
    parser.add_argument("--pg", default=os.environ.get("EMOTIONS_TEST_PG_ADMIN",
                                                       "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    if not args.pg.startswith("postgresql://") or ("127.0.0.1" not in args.pg and "localhost" not in args.pg):
        parser.error("--pg must be a loopback postgresql:// URL")
    results = []
    for n in args.annotators:
        results.append(_run_one(args.pg, n, args.workers, args.seconds, args.think, args.per_group))
        print(json.dumps(results[-1]), flush=True)
    header = ("N", "req/s", "next p50/p95/p99 ms", "vote p50/p95/p99 ms", "errors", "acked", "lost")
    print("{:>5} {:>7} {:>22} {:>22} {:>6} {:>6} {:>5}".format(*header))
    for r in results:
        print("{:>5} {:>7} {:>22} {:>22} {:>6} {:>6} {:>5}".format(
            r["annotators"], r["throughput_rps"], f"{r['next_p50_ms']}/{r['next_p95_ms']}/{r['next_p99_ms']}",
            f"{r['vote_p50_ms']}/{r['vote_p95_ms']}/{r['vote_p99_ms']}", r["errors"], r["votes_acknowledged"],
            r["lost_votes"]))
    OUT.mkdir(parents=True, exist_ok=True)
    payload = {"machine_cpus": os.cpu_count(), "load_before": os.getloadavg()[0], "runs": results}
    (OUT / "app.json").write_text(json.dumps(payload, indent=2))
    print(f"wrote {OUT / 'app.json'}")


if __name__ == "__main__":
    main()
