"""Benchmark: N simulated annotators against `emotions app serve` on PostgreSQL, the way people arrive.

Each run gets a fresh database on the local PostgreSQL server, groups of three members, a queue of
samples per group, an API token per annotator and `emotions app serve --workers W`. Every simulated
annotator has an HTTP connection pool of its own (one client per person: a shared pool makes the
load generator the bottleneck) and loops: GET /api/tasks/next, optionally fetch the first 64 KiB of
the clip, watch for a while (0 s in the closed loop, uniform in --watch MIN MAX otherwise), then
POST /api/votes. After --warmup seconds a measuring window of --seconds opens; only calls that end
inside it count. Reported per N: votes/s, p50/p95/p99 of next and vote, refusals of served tasks by
error code, other errors (5xx, time-outs), server and PostgreSQL CPU milliseconds per vote cycle
(from /proc, over the window), and a write check against the database afterwards: acknowledged vs
stored votes, duplicates, rungs with more votes than seats, and seats held by more than one person.

    .venv/bin/python bench/bench_app.py --annotators 10 50 200 1000 --warmup 20 --seconds 60
    .venv/bin/python bench/bench_app.py --annotators 500 --watch 5 30 --warmup 20 --seconds 60

Prints a table and writes bench/out/app.json (or --out).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
sys.path.insert(0, str(REPO))
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes and of their children that exited (from /proc).

    The children's share matters for PostgreSQL: a backend that ends (a connection closed by the pool)
    hands its CPU time to the postmaster's cutime/cstime.
    """
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return total / CLK_TCK


def _children(pid: int) -> list[int]:
    found, frontier = [pid], [pid]
    while frontier:
        parent = frontier.pop()
        for task in Path(f"/proc/{parent}/task").iterdir():
            try:
                kids = (task / "children").read_text().split()
            except FileNotFoundError:
                continue
            found += [int(k) for k in kids]
            frontier += [int(k) for k in kids]
    return sorted(set(found))


def _postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    pids.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
    return pids


def _setup(url: str, annotators: int, per_group: int, folder: Path) -> dict[str, str]:
    """Migrate, create groups of 3 members (4 where N is not a multiple of 3: every rung can complete), import
    per_group samples each; return user -> token."""
    from annotation_app.services import auth, importer, people
    from core import migrate
    from core.db import make_engine, session_factory, session_scope

    migrate.upgrade(url)
    n_groups = max(1, annotators // 3)  # groups of 3 members; a remainder joins the first groups (4 members)
    media = folder / "clip.mp4"
    media.write_bytes(os.urandom(256 * 1024))
    manifest = folder / "clean.jsonl"
    with manifest.open("w") as handle:
        for i in range(n_groups * per_group):
            handle.write(json.dumps({"id": f"v{i:07d}", "source_path": "x", "status": "kept",
                                     "web_mp4": str(media), "duration_s": 20.0}) + "\n")
    engine = make_engine(url)
    tokens = {}
    with session_scope(session_factory(engine)) as session:
        groups = people.ensure_groups(session, n_groups)
        for i in range(annotators):
            group = groups[i % n_groups]
            user = people.create_user(session, f"u{i % n_groups:04d}_{i // n_groups}", "member")
            people.assign(session, user, group)
            tokens[user.username] = auth.create_token(session, user, "bench")
        importer.import_manifest(session, manifest)
        importer.distribute(session, per_group)
    engine.dispose()
    return tokens


class Window:
    """Collects the calls that end inside the measuring window."""

    def __init__(self, opens: float, closes: float) -> None:
        self.opens, self.closes = opens, closes
        self.next: list[float] = []
        self.vote: list[float] = []
        self.media: list[float] = []
        self.refused: Counter = Counter()
        self.errors: Counter = Counter()
        self.votes_in_window = 0
        self.acked: set[int] = set()  # every acknowledged vote, warm-up included (for the write check)

    def inside(self, t: float) -> bool:
        return self.opens <= t <= self.closes


async def _annotator(client, win: Window, watch: tuple[float, float], media: bool, rng: random.Random,
                     stop_at: float) -> None:
    import httpx

    async with client:
        await asyncio.sleep(rng.uniform(0, max(1.0, watch[1])))  # people do not all start at the same instant
        while time.perf_counter() < stop_at:
            try:
                t0 = time.perf_counter()
                r = await client.get("/api/tasks/next")
                t1 = time.perf_counter()
                if win.inside(t1):
                    win.next.append(t1 - t0)
                if r.status_code != 200:
                    if win.inside(t1):
                        win.errors[f"next {r.status_code}"] += 1
                    await asyncio.sleep(1)
                    continue
                task = r.json()["task"]
                if task is None:
                    return
                if media:
                    t0 = time.perf_counter()
                    m = await client.get(task["media_url"], headers={"Range": "bytes=0-65535"})
                    if win.inside(time.perf_counter()):
                        win.media.append(time.perf_counter() - t0)
                        if m.status_code != 206:
                            win.errors[f"media {m.status_code}"] += 1
                if watch[1] > 0:
                    await asyncio.sleep(rng.uniform(*watch))
                body = {"sample_id": task["sample_id"], "adjective_id": rng.randint(1, 62),
                        "confidence": round(rng.uniform(0.3, 1.0), 1), "client_id": uuid.uuid4().hex,
                        "stage": task["stage"], "watch_s": round(watch[0], 1)}
                t0 = time.perf_counter()
                v = await client.post("/api/votes", json=body)
                t1 = time.perf_counter()
                if v.status_code in (200, 201):
                    win.acked.add(v.json()["vote_id"])
                if not win.inside(t1):
                    continue
                win.vote.append(t1 - t0)
                if v.status_code == 201:
                    win.votes_in_window += 1
                elif 400 <= v.status_code < 500:
                    win.refused[v.json().get("error", {}).get("code", str(v.status_code))] += 1
                else:
                    win.errors[f"vote {v.status_code}"] += 1
            except httpx.HTTPError as exc:
                if win.inside(time.perf_counter()):
                    win.errors[type(exc).__name__] += 1


async def _load(base: str, tokens: dict[str, str], warmup: float, seconds: float, watch: tuple[float, float],
                media: bool, server_pids: list[int]) -> tuple[Window, dict]:
    import ssl

    import httpx

    # one client (own connection pool) per person, all made before the clock starts; one TLS context for all
    # (each client would build its own, which takes the event loop seconds for a thousand people)
    shared_tls = ssl.create_default_context()
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [httpx.AsyncClient(base_url=base, timeout=30, limits=limits, verify=shared_tls,
                                 headers={"Authorization": f"Bearer {token}"}) for token in tokens.values()]
    started = time.perf_counter()
    win = Window(started + warmup, started + warmup + seconds)
    rng = random.Random(7)
    cpu: dict = {}

    async def sample_cpu() -> None:
        await asyncio.sleep(max(0.0, win.opens - time.perf_counter()))
        pg = _postgres_pids()
        cpu["server0"], cpu["pg0"], cpu["t0"] = _cpu_seconds(server_pids), _cpu_seconds(pg), time.perf_counter()
        cpu["self0"] = time.process_time()
        await asyncio.sleep(max(0.0, win.closes - time.perf_counter()))
        cpu["server1"], cpu["pg1"], cpu["t1"] = _cpu_seconds(server_pids), _cpu_seconds(_postgres_pids()), \
            time.perf_counter()
        cpu["self1"] = time.process_time()

    await asyncio.gather(sample_cpu(), *(
        _annotator(client, win, watch, media, random.Random(rng.random()), win.closes) for client in clients))
    return win, cpu


def _write_check(url: str, acked: set[int]) -> dict:
    from sqlalchemy import func, select

    from annotation_app.models import Seat, Vote
    from core.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(Vote)).scalar_one()
        ids = set(conn.execute(select(Vote.id)).scalars())
        duplicates = conn.execute(select(func.count()).select_from(
            select(Vote.sample_id, Vote.voter_id, Vote.stage).where(Vote.revision == 1)
            .group_by(Vote.sample_id, Vote.voter_id, Vote.stage).having(func.count() > 1).subquery())).scalar_one()
        per_rung = conn.execute(select(Vote.sample_id, Vote.stage, func.count(func.distinct(Vote.voter_id)))
                                .group_by(Vote.sample_id, Vote.stage)).all()
        seats = Counter((s, st) for s, st in conn.execute(select(Seat.sample_id, Seat.stage)))
        unseated = conn.execute(select(func.count()).select_from(Vote).where(
            ~select(Seat.id).where(Seat.vote_id == Vote.id).exists())).scalar_one()
    engine.dispose()
    over = sum(1 for s, st, n in per_rung if n > seats[(s, st)])
    return {"votes_acknowledged": len(acked), "votes_stored": stored, "lost_votes": len(acked - ids),
            "duplicate_votes": duplicates, "rungs_over_seats": over, "votes_without_seat": unseated}


def _run_one(admin_url: str, annotators: int, workers: int, warmup: float, seconds: float,
             watch: tuple[float, float], media: bool, per_group: int | None) -> dict:
    import psycopg

    name = f"emotions_bench_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(admin_url, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"
    if per_group is None:  # enough work for the whole run: about 200 votes/s in a closed loop
        per_member = (warmup + seconds) * (200 if watch[1] == 0 else 1 / max(0.5, sum(watch) / 2))
        per_group = max(30, int(1.5 * per_member * 3 / annotators) if watch[1] == 0 else int(1.5 * per_member))
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
            win, cpu = asyncio.run(_load(base, tokens, warmup, seconds, watch, media, _children(proc.pid)))
        check = _write_check(url, win.acked)
    finally:
        if proc is not None:
            _stop(proc)
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    elapsed = cpu["t1"] - cpu["t0"]
    if abs(elapsed - seconds) > 0.05 * seconds:
        print(f"warning: the measuring window lasted {elapsed:.1f} s instead of {seconds:.0f} s "
              "(the load generator's event loop was late)", file=sys.stderr)
    votes = max(1, win.votes_in_window)
    ms = lambda xs, q: None if not xs else round(1000 * _percentile(xs, q), 1)  # noqa: E731
    return {
        "annotators": annotators, "workers": workers, "watch_s": list(watch), "media": media,
        "window_s": round(elapsed, 1), "per_group": per_group,
        "votes_per_s": round(win.votes_in_window / seconds, 1),
        **{f"{op}_p{q}_ms": ms(getattr(win, op), q) for op in ("next", "vote", "media") for q in (50, 95, 99)},
        "refused_by_code": dict(win.refused), "refused": sum(win.refused.values()),
        "errors_by_kind": dict(win.errors), "errors": sum(win.errors.values()),
        "server_cpu_ms_per_vote": round(1000 * (cpu["server1"] - cpu["server0"]) / votes, 2),
        "postgres_cpu_ms_per_vote": round(1000 * (cpu["pg1"] - cpu["pg0"]) / votes, 2),
        "server_pg_cpu_ms_per_vote": round(1000 * (cpu["server1"] - cpu["server0"] + cpu["pg1"] - cpu["pg0"]) / votes,
                                           2),
        "loadgen_cpu_ms_per_vote": round(1000 * (cpu["self1"] - cpu["self0"]) / votes, 2),
        **check,
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
                time.sleep(1.0)  # every worker up
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError("server did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--annotators", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=5.0, help="Seconds before the measuring window opens.")
    parser.add_argument("--seconds", type=float, default=20.0, help="Length of the measuring window.")
    parser.add_argument("--watch", type=float, nargs=2, default=[0.0, 0.0], metavar=("MIN", "MAX"),
                        help="Seconds each person watches a clip before voting (0 0: closed loop).")
    parser.add_argument("--media", action="store_true", help="Also fetch the first 64 KiB of every clip.")
    parser.add_argument("--per-group", type=int, default=None, help="Samples queued per group (default: enough).")
    parser.add_argument("--out", type=Path, default=OUT / "app.json")
    parser.add_argument("--pg", default=os.environ.get("EMOTIONS_TEST_PG_ADMIN",
                                                       "postgresql://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    if not args.pg.startswith("postgresql://") or ("127.0.0.1" not in args.pg and "localhost" not in args.pg):
        parser.error("--pg must be a loopback postgresql:// URL")
    results = []
    for n in args.annotators:
        results.append(_run_one(args.pg, n, args.workers, args.warmup, args.seconds, tuple(args.watch), args.media,
                                args.per_group))
        print(json.dumps(results[-1]), flush=True)
    header = ("N", "votes/s", "next p50/p95/p99 ms", "vote p50/p95/p99 ms", "refused", "errors", "cpu ms/vote",
              "acked", "lost", "over")
    line = "{:>5} {:>8} {:>22} {:>22} {:>8} {:>7} {:>12} {:>7} {:>5} {:>5}"
    print(line.format(*header))
    for r in results:
        print(line.format(
            r["annotators"], r["votes_per_s"], f"{r['next_p50_ms']}/{r['next_p95_ms']}/{r['next_p99_ms']}",
            f"{r['vote_p50_ms']}/{r['vote_p95_ms']}/{r['vote_p99_ms']}", r["refused"], r["errors"],
            r["server_pg_cpu_ms_per_vote"], r["votes_acknowledged"], r["lost_votes"], r["rungs_over_seats"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"machine_cpus": os.cpu_count(), "load_before": os.getloadavg()[0], "watch_s": args.watch,
               "warmup_s": args.warmup, "window_s": args.seconds, "runs": results}
    args.out.write_text(json.dumps(payload, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
