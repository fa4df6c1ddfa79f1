"""Shared fault-injection helpers: a multi-worker app server on PostgreSQL, simulated annotators, checks.

Used by the fault tests and by the faults benchmark. Everything is loopback only and bounded in count and time.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import func, select

REPO = Path(__file__).resolve().parents[2]
MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "zip": b"PK\x03\x04", "elf": b"\x7fELF", "pdf": b"%PDF-1.7\n",
         "webm": b"\x1aE\xdf\xa3", "riff": b"RIFF\x00\x00\x00\x00AVI "}


def cli_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def cli(*args: str) -> subprocess.Popen:
    """`emotions ARGS` in its own process group (so a kill reaches its worker processes too)."""
    return subprocess.Popen([sys.executable, "-m", "core.cli", *args], cwd=REPO, env=cli_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)


def kill_when(proc: subprocess.Popen, ready: Callable[[], bool], timeout: float = 120) -> bool:
    """SIGKILL the process group of `proc` as soon as `ready()`; False when it finished first."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if ready():
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    raise RuntimeError("the run neither progressed nor finished in time")


def mutate(clips: list[Path], folder: Path, seed: int = 0) -> dict[str, str]:
    """Write mutated copies of `clips` and random files into `folder`; returns file name -> mutation."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, str] = {}

    def put(name: str, data: bytes, what: str) -> None:
        (folder / name).write_bytes(data)
        made[name] = what

    for c, clip in enumerate(clips):
        data = clip.read_bytes()
        for frac in (0.0005, 0.01, 0.1, 0.5, 0.9, 0.999):
            put(f"c{c}_trunc_{frac}.mp4", data[:max(1, int(len(data) * frac))], f"truncated at {frac:.1%}")
        for flips in (1, 16, 256):
            buf = bytearray(data)
            for _ in range(flips):
                i = rng.randrange(len(buf))
                buf[i] ^= 1 << rng.randrange(8)
            put(f"c{c}_flip_{flips}.mp4", bytes(buf), f"{flips} bits flipped")
        for kind, magic in MAGIC.items():
            put(f"c{c}_magic_{kind}.mp4", magic + data[len(magic):], f"wrong magic header ({kind})")
        put(f"c{c}_zeroed_head.mp4", bytes(4096) + data[4096:], "first 4 KiB zeroed")
        put(f"c{c}_wrong_ext.webm", data, "mp4 content with a .webm name")
    for size in (1, 17, 4096, 200_000):
        put(f"random_{size}.mp4", rng.randbytes(size), f"{size} random bytes")
    put("random_big.mkv", rng.randbytes(50_000), "random bytes as .mkv")
    put("zero_length.mp4", b"", "zero length")
    put("text.mov", b"this is not a video\n" * 100, "text")
    put("ftyp_only.mp4", b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", "an ftyp box and nothing else")
    return made


def clean_folder(folder: Path, out: Path, workers: int = 2) -> tuple[subprocess.CompletedProcess, list[dict]]:
    """`emotions clean run` over `folder`; returns the finished process and the manifest rows."""
    from core.manifest import read_rows

    done = subprocess.run([sys.executable, "-m", "core.cli", "clean", "run", "--source", str(folder), "--out",
                           str(out), "--workers", str(workers)], cwd=REPO, env=cli_env(), capture_output=True,
                          text=True, timeout=240)
    rows = list(read_rows(out / "manifest")) if (out / "manifest").exists() else []
    return done, rows


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    """Direct child process ids of `pid`, read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def worker_pids(server_pid: int) -> list[int]:
    """The app worker processes of a `serve --workers N` server (multiprocessing spawn children)."""
    pids = []
    for pid in children(server_pid):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"spawn_main" in cmd:
            pids.append(pid)
    return pids


def busiest_worker(server_pid: int) -> int:
    """The worker holding the most sockets (client connections), so a kill -9 hits requests in flight."""
    def sockets(pid: int) -> int:
        try:
            return sum(1 for fd in Path(f"/proc/{pid}/fd").iterdir() if os.readlink(fd).startswith("socket:"))
        except OSError:
            return -1

    return max(worker_pids(server_pid), key=sockets)


def kill_a_worker(server_pid: int, out: Outcome, tries: int = 3) -> list[int]:
    """kill -9 the busiest worker; again (another one, at most `tries` in all) if no request in flight was cut off."""
    killed = []
    for _ in range(tries):
        before = out.transport_errors
        deadline = time.time() + 20
        while len(worker_pids(server_pid)) < 3 and time.time() < deadline:  # the server replaces a lost worker
            time.sleep(0.1)
        victim = busiest_worker(server_pid)
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)
        time.sleep(0.5)
        if out.transport_errors > before:
            break
    return killed


@dataclass
class Fleet:
    """The world of the fault run: `groups` groups of `per_group` members, each group owning `per_group` samples."""

    base: str
    proc: subprocess.Popen
    tokens: dict[str, str]
    members: dict[str, list[str]]  # group name -> member names
    samples: dict[str, list[str]]  # group name -> sample ids
    factory: object


def start_fleet(url: str, tmp: Path, *, annotators: int = 100, per_group: int = 4, workers: int = 3) -> Fleet:
    """Migrate `url`, create annotators and samples, and start `emotions app serve --workers N` on loopback."""
    from annotation_app.models import Sample, User
    from annotation_app.services import auth, importer, people
    from core import migrate
    from core.db import make_engine, session_factory
    from tests.annotation_app.conftest import write_manifest

    migrate.upgrade(url)
    factory = session_factory(make_engine(url))
    n_groups = annotators // per_group
    tokens: dict[str, str] = {}
    members: dict[str, list[str]] = {}
    samples: dict[str, list[str]] = {}
    with factory() as session:
        groups = people.ensure_groups(session, n_groups)
        importer.import_manifest(session, write_manifest(tmp / "clean", n_groups * per_group, size=256))
        importer.distribute(session, per_group)
        for group in groups:
            members[group.name] = []
            for i in range(per_group):
                user = people.create_user(session, f"{group.name.lower()}m{i}", "member")
                people.assign(session, user, group)
                members[group.name].append(user.username)
        session.flush()
        by_id = {g.id: g.name for g in groups}
        for sample in session.scalars(select(Sample).order_by(Sample.seq)):
            samples.setdefault(by_id[sample.group_id], []).append(sample.id)
        for user in session.scalars(select(User)):
            tokens[user.username] = auth.create_token(session, user)
        session.commit()
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "EMOTIONS_DATABASE_URL": url,
           "EMOTIONS_DATA_DIR": str(tmp / "data"), "EMOTIONS_APP_SECRET_KEY": "fault-secret-key"}
    proc = subprocess.Popen([sys.executable, "-m", "core.cli", "app", "serve", "--host", "127.0.0.1", "--port",
                             str(port), "--workers", str(workers)], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(base + "/api/csrf", timeout=1).status_code == 200 and len(worker_pids(proc.pid)) == workers:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    else:
        stop_fleet_proc(proc)
        raise RuntimeError("app server did not start")
    return Fleet(base, proc, tokens, members, samples, factory)


def stop_fleet_proc(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def stop_fleet(fleet: Fleet) -> None:
    stop_fleet_proc(fleet.proc)
    fleet.factory.kw["bind"].dispose()


@dataclass
class Outcome:
    acked: dict[str, int] = field(default_factory=dict)  # client_id -> vote_id of every acknowledged vote
    refused: list[str] = field(default_factory=list)  # client_ids answered 409 (seat taken): never stored
    codes: Counter = field(default_factory=Counter)  # every HTTP status seen, retries included
    transport_errors: int = 0
    retries: int = 0
    gave_up: list[str] = field(default_factory=list)
    replays: int = 0  # 200 answers: the server returned an already stored vote
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


RETRYABLE = {500, 502, 503, 504}


def annotate(fleet: Fleet, *, adjective_id: int, during: Callable[[Outcome], None] | None = None,
             fault_after: float = 0.3, deadline_s: float = 90.0) -> Outcome:
    """Every member votes on every sample of its group, one thread per member; `during(outcome)` runs mid-run.

    A vote is retried with the same client_id on transport errors and 5xx, for at most `deadline_s` in all.
    """
    out = Outcome()
    stop_at = time.time() + deadline_s
    jobs = [(name, group) for group, names in fleet.members.items() for name in names]
    total = sum(len(fleet.samples[g]) for _, g in jobs)
    done = threading.Semaphore(0)

    def annotator(name: str, group: str) -> None:
        with httpx.Client(base_url=fleet.base, timeout=10,
                          headers={"Authorization": f"Bearer {fleet.tokens[name]}"}) as client:
            for sample in fleet.samples[group]:
                client_id = uuid.uuid4().hex
                body = {"sample_id": sample, "adjective_id": adjective_id, "confidence": 0.8,
                        "client_id": client_id, "stage": "member"}
                attempt = 0
                while True:
                    attempt += 1
                    try:
                        r = client.post("/api/votes", json=body)
                    except httpx.TransportError:
                        code = None
                    else:
                        code = r.status_code
                    with out.lock:
                        if code is None:
                            out.transport_errors += 1
                        else:
                            out.codes[code] += 1
                        if code in (200, 201):
                            out.acked[client_id] = r.json()["vote_id"]
                            out.replays += code == 200
                        elif code == 409:
                            out.refused.append(client_id)
                    if code is not None and code not in RETRYABLE:
                        break
                    if time.time() > stop_at:
                        with out.lock:
                            out.gave_up.append(client_id)
                        break
                    with out.lock:
                        out.retries += 1
                    time.sleep(min(0.05 * 2 ** attempt, 1.0))
                done.release()

    start = time.time()
    threads = [threading.Thread(target=annotator, args=job, daemon=True) for job in jobs]
    for t in threads:
        t.start()
    if during is not None:
        for _ in range(max(1, int(total * fault_after))):  # let a share of the votes through first
            done.acquire(timeout=deadline_s)
        during(out)
    for t in threads:
        t.join(max(1.0, stop_at - time.time() + 15))
    out.seconds = time.time() - start
    return out


def audit_votes(fleet: Fleet, out: Outcome) -> dict[str, int]:
    """Compare what the clients were told with what the database holds; returns counts (all problems counted)."""
    from annotation_app.models import AuditEvent, Resolution, Vote

    with fleet.factory() as session:
        rows = session.execute(select(Vote.client_id, Vote.id, Vote.sample_id, Vote.stage)).all()
        resolved = session.execute(select(Resolution.sample_id, func.count()).group_by(Resolution.sample_id)).all()
        events = session.execute(select(AuditEvent.entity_id, func.count())
                                 .where(AuditEvent.action == "sample.resolved")
                                 .group_by(AuditEvent.entity_id)).all()
    per_client = Counter(r.client_id for r in rows)
    stored = {r.client_id: r.id for r in rows}
    per_sample = Counter(r.sample_id for r in rows if r.stage == "member")
    return {
        "attempted": sum(len(fleet.samples[g]) * len(m) for g, m in fleet.members.items()),
        "acknowledged": len(out.acked), "refused": len(out.refused), "replays": out.replays,
        "retries": out.retries, "transport_errors": out.transport_errors, "gave_up": len(out.gave_up),
        "unexpected_codes": sum(n for c, n in out.codes.items() if c not in {200, 201, 409} | RETRYABLE),
        "votes_lost": sum(1 for c, vote_id in out.acked.items() if stored.get(c) != vote_id),
        "duplicates": sum(n - 1 for n in per_client.values() if n > 1),
        "refused_but_stored": sum(1 for c in out.refused if c in stored and c not in out.acked),
        "stored_unacknowledged": len(set(stored) - set(out.acked)),
        "over_seated_samples": sum(1 for n in per_sample.values() if n > 3),
        "samples": sum(len(v) for v in fleet.samples.values()),
        "resolved": len(resolved),
        "resolved_twice": sum(1 for _, n in resolved if n > 1) + sum(1 for _, n in events if n > 1),
        "seconds": round(out.seconds, 2),
    }


PROBLEMS = ("gave_up", "unexpected_codes", "votes_lost", "duplicates", "refused_but_stored", "stored_unacknowledged",
            "over_seated_samples", "resolved_twice")


def check_votes(fleet: Fleet, out: Outcome) -> dict[str, int]:
    """Assert the invariants after a fault run: no vote lost or duplicated, no sample resolved twice."""
    counts = audit_votes(fleet, out)
    assert {k: counts[k] for k in PROBLEMS} == dict.fromkeys(PROBLEMS, 0), (counts, out.codes)
    assert counts["resolved"] == counts["samples"]  # every sample got three agreeing votes and was resolved once
    return counts
