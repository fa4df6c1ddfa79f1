"""Fault tests of the votes API: 100 simulated annotators with client retries while a worker (or PostgreSQL) dies."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.annotation_app.conftest import F

from .faults import annotate, check_votes, kill_a_worker, start_fleet, stop_fleet, worker_pids

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
PER_GROUP = 4  # four members race for the three member seats of each of their group's four samples


@pytest.fixture
def fleet(postgres_url, tmp_path):
    made = start_fleet(postgres_url, tmp_path, annotators=100, per_group=PER_GROUP, workers=3)
    yield made
    stop_fleet(made)


@pytest.mark.timeout(240)
def test_kill_one_worker_mid_run_loses_and_duplicates_no_vote(fleet):
    killed: list[int] = []

    def kill(out) -> None:
        assert len(worker_pids(fleet.proc.pid)) == 3
        killed.extend(kill_a_worker(fleet.proc.pid, out))

    out = annotate(fleet, adjective_id=F, during=kill, fault_after=0.3)
    counts = check_votes(fleet, out)
    assert killed and not set(killed) & set(worker_pids(fleet.proc.pid))
    counts["workers_killed"] = len(killed)
    print("kill -9 worker:", counts)
    assert counts["transport_errors"] >= 1 and counts["retries"] >= 1  # the kill cut requests off; clients retried
    assert counts["attempted"] == 400 and counts["acknowledged"] == 300 and counts["refused"] == 100
    assert fleet.proc.poll() is None  # the server itself survived the loss of a worker


def _pg_version() -> str:
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir() if p.name[0].isdigit())
    return versions[-1]


def _restart_postgres() -> None:
    version = _pg_version()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True,
                   timeout=60, capture_output=True)
    deadline = time.time() + 60
    while subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], check=False).returncode != 0:
        assert time.time() < deadline, "PostgreSQL did not come back"
        time.sleep(0.5)


@pytest.fixture
def restart_fleet(tmp_path):
    """Like `fleet`, on a database of its own whose admin connection is opened again after the restart."""
    import psycopg

    from tests.conftest import PG_ADMIN_URL

    def admin():
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)

    name = f"emotions_test_{uuid.uuid4().hex[:12]}"
    with admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"
    made = start_fleet(url, tmp_path, annotators=100, per_group=PER_GROUP, workers=3)
    yield made
    stop_fleet(made)
    with admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.pg_restart
@pytest.mark.timeout(300)
@pytest.mark.skipif(os.environ.get("EMOTIONS_TEST_PG_RESTART") != "1",
                    reason="restarts the shared PostgreSQL server: set EMOTIONS_TEST_PG_RESTART=1 to run")
def test_restart_postgres_mid_run_loses_and_duplicates_no_vote(restart_fleet):
    out = annotate(restart_fleet, adjective_id=F, during=lambda _: _restart_postgres(), fault_after=0.3, deadline_s=150)
    counts = check_votes(restart_fleet, out)
    print("PostgreSQL restart:", counts)
    assert counts["acknowledged"] == 300 and counts["refused"] == 100
    assert counts["transport_errors"] + counts["retries"] >= 1  # the restart was felt by the clients
