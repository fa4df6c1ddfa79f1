"""Backup and restore: every vote and every table's row count survive a round trip into a fresh database."""

import json
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import MetaData, func, select

from annotation_app.models import User, Vote
from annotation_app.services import backup as backup_service
from annotation_app.services import reviews
from annotation_app.services.votes import submit_vote
from core.cli import cli
from core.db import make_engine
from core.errors import DatabaseError, MissingDependency

from .conftest import F, N, S, T, World


def cli_ok(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def cli_error(*args: str) -> Exception:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code != 0 and result.exception is not None
    return result.exception


def fill(world: World) -> None:
    """Votes through the app's own service: two samples resolved, one climbing to the leader, plus a report."""
    s0, s1 = world.samples[:2]
    with world.session() as session:
        for name, adjectives in (("a1", (F, T)), ("a2", (S, T)), ("a3", (F, N))):
            user = session.get(User, world.users[name])
            for sample, adjective in zip((s0, s1), adjectives, strict=True):
                submit_vote(session, world.settings, user, sample_id=sample, adjective_id=adjective,
                            confidence=0.35 + 0.1 * len(name), client_id=uuid.uuid4().hex, watch_s=3.25)
        reviews.report_sample(session, world.settings, session.get(User, world.users["b1"]), world.samples[2],
                              "broken", "no sound")
        session.commit()


def fresh_url(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / f'fresh-{uuid.uuid4().hex[:6]}.db'}"
    return request.getfixturevalue("postgres_server")()


def snapshot(url: str) -> tuple[dict[str, int], list[tuple]]:
    """Row counts of every table and every vote with all its columns."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            meta = MetaData()
            meta.reflect(conn)
            counts = {n: conn.execute(select(func.count()).select_from(t)).scalar_one() for n, t in meta.tables.items()}
            votes = [tuple(row) for row in conn.execute(select(*Vote.__table__.columns).order_by(Vote.id))]
        return counts, votes
    finally:
        engine.dispose()


@pytest.fixture
def backed_up(db_url, world_factory, tmp_path):
    world = world_factory(db_url)
    fill(world)
    out = tmp_path / "backups" / "app.backup"
    output = cli_ok("app", "backup", "--out", str(out), "--url", db_url)
    assert "backed up" in output and out.exists()
    return world, out


def test_round_trip_into_a_fresh_database_keeps_every_vote(backed_up, tmp_path, request):
    world, out = backed_up
    sidecar = json.loads(backup_service.sidecar_path(out).read_text())
    counts, votes = snapshot(world.url)
    assert len(votes) == 6 and sidecar["tables"] == counts and counts["resolutions"] >= 1
    target = fresh_url(world.url, tmp_path, request)
    assert "verified" in cli_ok("app", "restore", str(out), "--url", target)
    restored_counts, restored_votes = snapshot(target)
    assert restored_counts == counts
    assert restored_votes == votes  # every column of every vote, timestamps included
    # the restored database is a working app database: it backs up to the same checksum
    again = tmp_path / "again.backup"
    cli_ok("app", "backup", "--out", str(again), "--url", target)
    assert json.loads(backup_service.sidecar_path(again).read_text())["votes_sha256"] == sidecar["votes_sha256"]


def test_restore_refuses_a_non_empty_database_without_force(backed_up):
    world, out = backed_up
    error = cli_error("app", "restore", str(out), "--url", world.url)
    assert isinstance(error, DatabaseError) and "not empty" in error.one_line() and "--force" in error.one_line()
    assert "verified" in cli_ok("app", "restore", str(out), "--url", world.url, "--force")
    counts, votes = snapshot(world.url)
    assert len(votes) == 6 and counts == json.loads(backup_service.sidecar_path(out).read_text())["tables"]


def test_a_tampered_backup_is_refused(backed_up, tmp_path, request):
    world, out = backed_up
    if world.url.startswith("sqlite"):
        with sqlite3.connect(out) as conn:  # a vote quietly changed inside the backup
            conn.execute("UPDATE votes SET confidence = 0.01 WHERE id = (SELECT min(id) FROM votes)")
        conn.close()
    else:
        with out.open("r+b") as handle:  # a flipped byte in the dump
            handle.seek(out.stat().st_size // 2)
            byte = handle.read(1)
            handle.seek(-1, 1)
            handle.write(bytes([byte[0] ^ 0xFF]))
    target = fresh_url(world.url, tmp_path, request)
    error = cli_error("app", "restore", str(out), "--url", target)
    assert isinstance(error, DatabaseError) and "does not match its verify sidecar" in error.one_line()
    assert backup_service.summary_of(target)["tables"].get("votes", 0) == 0  # nothing was restored


def test_an_edited_sidecar_is_caught(backed_up, tmp_path, request):
    world, out = backed_up
    path = backup_service.sidecar_path(out)
    sidecar = json.loads(path.read_text())
    sidecar["tables"]["votes"] += 1
    path.write_text(json.dumps(sidecar))
    with pytest.raises(DatabaseError, match="does not match"):
        backup_service.restore(fresh_url(world.url, tmp_path, request), out)


def test_a_missing_sidecar_is_refused(backed_up, tmp_path, request):
    world, out = backed_up
    backup_service.sidecar_path(out).unlink()
    error = cli_error("app", "restore", str(out), "--url", fresh_url(world.url, tmp_path, request))
    assert isinstance(error, DatabaseError) and "sidecar" in error.one_line()


@pytest.mark.postgres
def test_missing_pg_dump_gives_one_line_with_the_install_command(postgres_url, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    error = cli_error("app", "backup", "--out", str(tmp_path / "x.backup"), "--url", postgres_url)
    assert isinstance(error, MissingDependency)
    line = error.one_line()
    assert "\n" not in line and "pg_dump not found" in line and "apt-get install postgresql-client" in line


def test_a_migrated_cli_database_round_trips_and_stays_usable(db_url, tmp_path, request):
    cli_ok("app", "init", "--url", db_url)
    cli_ok("app", "create-user", "boss", "--role", "admin", "--password", "secret-123", "--url", db_url)
    out = tmp_path / "cli.backup"
    cli_ok("app", "backup", "--out", str(out), "--url", db_url)
    target = fresh_url(db_url, tmp_path, request)
    cli_ok("app", "restore", str(out), "--url", target)
    assert snapshot(target) == snapshot(db_url)
    assert "alembic_version" in snapshot(target)[0]
    assert json.loads(cli_ok("app", "progress", "--json", "--url", target))  # schema check passes on the copy


def test_force_restores_an_unverified_backup_and_says_so(backed_up, tmp_path, request):
    world, out = backed_up
    backup_service.sidecar_path(out).unlink()
    target = fresh_url(world.url, tmp_path, request)
    assert "NOT verified: no verify sidecar" in cli_ok("app", "restore", str(out), "--url", target, "--force")
    assert snapshot(target) == snapshot(world.url)


def test_backup_while_annotators_keep_voting_is_a_consistent_snapshot(db_url, world_factory, tmp_path, request):
    world = world_factory(db_url, samples=24)
    pairs = [(f"{'abc'[(i // 2) % 3]}{m}", sample) for m in (1, 2, 3) for i, sample in enumerate(world.samples)]
    stop = threading.Event()
    done: list[int] = []

    def annotate() -> None:
        for name, sample in pairs:
            if stop.is_set():
                return
            with world.session() as session:
                submit_vote(session, world.settings, session.get(User, world.users[name]), sample_id=sample,
                            adjective_id=F, confidence=0.5, client_id=uuid.uuid4().hex)
                session.commit()
            done.append(1)

    worker = threading.Thread(target=annotate)
    worker.start()
    try:
        while len(done) < 10:
            time.sleep(0.01)
        out = tmp_path / "busy.backup"
        cli_ok("app", "backup", "--out", str(out), "--url", db_url)
    finally:
        stop.set()
        worker.join(timeout=30)
    backed_up_votes = json.loads(backup_service.sidecar_path(out).read_text())["tables"]["votes"]
    assert 10 <= backed_up_votes <= len(done)
    target = fresh_url(db_url, tmp_path, request)
    assert "verified" in cli_ok("app", "restore", str(out), "--url", target)  # counts and checksum match the snapshot
    assert snapshot(target)[1] == snapshot(db_url)[1][:backed_up_votes]
