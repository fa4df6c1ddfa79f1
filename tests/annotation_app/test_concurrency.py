"""Many clients submit the deciding third member vote at once, through HTTP, to several server workers on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from annotation_app.models import AuditEvent, Resolution, User, Vote
from annotation_app.services import auth, importer, people
from annotation_app.services.votes import submit_vote
from core import migrate

from .conftest import F, S, build_world, write_manifest

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
SAMPLES = 24


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(postgres_url, tmp_path):
    """The world on a migrated PostgreSQL database, served by `emotions app serve --workers 3`."""
    migrate.upgrade(postgres_url)
    world = build_world(postgres_url, tmp_path, samples=0)
    with world.session() as session:
        importer.import_manifest(session, write_manifest(tmp_path / "clean", SAMPLES, size=256))
        importer.distribute(session, SAMPLES, group_names=["A"])
        group = people.group_by_name(session, "A")
        for name in ("a4", "a5"):
            user = people.create_user(session, name, "member")
            people.assign(session, user, group)
            world.users[name] = user.id
        world.samples = [f"s{i}" for i in range(SAMPLES)]
        tokens = {name: auth.create_token(session, session.get(User, world.users[name]))
                  for name in ("a3", "a4", "a5")}
        session.commit()
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "EMOTIONS_DATABASE_URL": postgres_url,
           "EMOTIONS_DATA_DIR": str(tmp_path / "data"), "EMOTIONS_APP_SECRET_KEY": "test-secret-key"}
    proc = subprocess.Popen([sys.executable, "-m", "core.cli", "app", "serve", "--host", "127.0.0.1", "--port",
                             str(port), "--workers", "3"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(base + "/api/csrf", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("server did not start: " + (proc.communicate()[0] or ""))
    yield base, world, tokens
    os.killpg(proc.pid, signal.SIGTERM)  # the server and its workers
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
    world.factory.kw["bind"].dispose()


def test_third_votes_race_across_workers_resolve_each_sample_once(server):
    base, world, tokens = server
    with world.session() as session:
        for sample in world.samples:  # two members already voted: F and S
            for name, adj in (("a1", F), ("a2", S)):
                user = session.get(User, world.users[name])
                submit_vote(session, world.settings, user, sample_id=sample, adjective_id=adj, confidence=0.5,
                            client_id=uuid.uuid4().hex)
        session.commit()
    # three members race for the one free seat of every sample; each sends its submission twice at once
    jobs = [(name, sample, adj, uuid.uuid4().hex) for sample in world.samples
            for name, adj in (("a3", F), ("a4", S), ("a5", F))]
    jobs = [job for job in jobs for _ in range(2)]
    start = threading.Barrier(16)
    local = threading.local()

    def send(job):
        name, sample, adj, client_id = job
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=base, timeout=30)
            start.wait()
        r = local.client.post("/api/votes", headers={"Authorization": f"Bearer {tokens[name]}"},
                              json={"sample_id": sample, "adjective_id": adj, "confidence": 0.9,
                                    "client_id": client_id, "stage": "member"})
        return job, r.status_code, r.json()

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(send, jobs))
    codes = Counter(code for _, code, _ in results)
    assert set(codes) <= {200, 201, 409}, codes
    assert codes[409] >= SAMPLES  # the losers of each race were refused, not queued
    accepted = {body["vote_id"]: job for job, code, body in results if code == 201}
    assert len(accepted) == SAMPLES  # exactly one third vote per sample got in
    replays = [body["vote_id"] for _, code, body in results if code == 200]
    assert set(replays) <= set(accepted)  # a replay only ever returns the accepted vote
    with world.session() as session:
        stored = {v.id: v for v in session.scalars(select(Vote).where(Vote.id.in_(accepted)))}
        assert set(stored) == set(accepted)  # no acknowledged vote is lost
        for sample in world.samples:
            assert session.scalar(select(func.count()).select_from(Vote).where(Vote.sample_id == sample)) == 3
            assert session.scalar(select(func.count()).select_from(Resolution)
                                  .where(Resolution.sample_id == sample)) == 1
            assert session.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.entity_id == sample, AuditEvent.action == "sample.resolved")) == 1
    # a burst far larger than the workers' threads and connection pools must neither deadlock nor fail
    async def burst() -> list[int]:
        headers = {"Authorization": f"Bearer {tokens['a3']}"}
        async with httpx.AsyncClient(base_url=base, timeout=30,
                                     limits=httpx.Limits(max_connections=300)) as client:
            calls = [client.get(f"/media/{s}", headers={**headers, "Range": "bytes=0-99"}) for s in world.samples * 5]
            calls += [client.get(f"/api/samples/{s}", headers=headers) for s in world.samples * 4]
            return [r.status_code for r in await asyncio.gather(*calls)]

    assert Counter(asyncio.run(burst())) == {206: SAMPLES * 5, 200: SAMPLES * 4}


def test_fifty_members_through_http_never_share_a_seat(server):
    """50 members of group A, one HTTP client each, ask for work at once across the server's workers and vote.

    No sample is served to more members than its 3 seats, and every served task's vote is accepted.
    """
    base, world, _ = server
    with world.session() as session:
        group = people.group_by_name(session, "A")
        names = ["a1", "a2", "a3", "a4", "a5"]
        for i in range(45):
            user = people.create_user(session, f"h{i:02d}", "member")
            people.assign(session, user, group)
            world.users[user.username] = user.id
            names.append(user.username)
        tokens = {n: auth.create_token(session, session.get(User, world.users[n])) for n in names}
        session.commit()
    served: Counter = Counter()
    outcomes: Counter = Counter()
    lock = threading.Lock()
    start = threading.Barrier(len(names))

    def annotate(name: str) -> None:
        headers = {"Authorization": f"Bearer {tokens[name]}"}
        with httpx.Client(base_url=base, timeout=60, headers=headers) as client:
            start.wait()
            while True:
                task = client.get("/api/tasks/next").json()["task"]
                if task is None:
                    return
                with lock:
                    served[task["sample_id"]] += 1
                r = client.post("/api/votes", json={"sample_id": task["sample_id"], "adjective_id": F,
                                                    "confidence": 0.5, "client_id": uuid.uuid4().hex,
                                                    "stage": task["stage"]})
                with lock:
                    outcomes[r.status_code if r.status_code == 201 else r.text] += 1

    with ThreadPoolExecutor(len(names)) as pool:
        list(pool.map(annotate, names))
    assert dict(outcomes) == {201: SAMPLES * 3}  # every served task's vote counted, nothing refused
    assert served == Counter({s: 3 for s in world.samples})  # three members per sample, never a fourth
    with world.session() as session:
        assert session.scalar(select(func.count()).select_from(Resolution)) == SAMPLES
