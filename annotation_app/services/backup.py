"""Back up and restore the app database (SQLite online backup, PostgreSQL pg_dump/pg_restore) with a verify sidecar."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import MetaData, create_engine, func, select, text
from sqlalchemy.engine import Connection, make_url

from core.db import is_sqlite, make_engine
from core.errors import DatabaseError, MissingDependency
from core.system import PROGRAMS, require_program

SIDECAR_VERSION = 1
VOTES = "votes"


def sidecar_path(backup_file: Path) -> Path:
    """The JSON sidecar that sits next to a backup: FILE.json."""
    return backup_file.with_name(backup_file.name + ".json")


def _canonical(value: object) -> object:
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def summarize(conn: Connection) -> dict:
    """Row counts of every table and a SHA-256 over the votes (ordered by id, all columns, sorted by name)."""
    meta = MetaData()
    meta.reflect(conn)
    counts = {name: conn.execute(select(func.count()).select_from(table)).scalar_one()
              for name, table in sorted(meta.tables.items())}
    digest = hashlib.sha256()
    if VOTES in meta.tables:
        table = meta.tables[VOTES]
        columns = sorted(table.columns, key=lambda c: c.name)
        digest.update(json.dumps([c.name for c in columns]).encode())
        for row in conn.execute(select(*columns).order_by(table.c.id)):
            digest.update(b"\n" + json.dumps([_canonical(v) for v in row]).encode())
    return {"tables": counts, "votes_sha256": digest.hexdigest()}


def summary_of(url: str) -> dict:
    """`summarize` on the database at `url`."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return summarize(conn)
    finally:
        engine.dispose()


def _sqlite_file_summary(path: Path) -> dict:
    """`summarize` on a SQLite backup file, opened read-only so that checking it never changes it."""
    engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True))
    try:
        with engine.connect() as conn:
            return summarize(conn)
    finally:
        engine.dispose()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise DatabaseError(f"cannot back up or restore the SQLite database {database!r}",
                            remedy="use a sqlite:///path/to/file.db URL")
    return Path(database).expanduser()


def _pg_target(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password (which goes into the environment instead) and that environment."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    uri = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _pg_restore_binary() -> str:
    found = shutil.which("pg_restore")
    if found is None:
        raise MissingDependency("pg_restore not found on PATH (needed by app restore on PostgreSQL)",
                                remedy=f"install it with: {PROGRAMS['pg_dump'].install}")
    return found


def _run(args: list[str], env: dict[str, str], what: str) -> str:
    proc = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise DatabaseError(f"{what} failed: {last}")
    return proc.stdout


def _write_sidecar(out: Path, backend: str, summary: dict) -> dict:
    sidecar = {"version": SIDECAR_VERSION, "backend": backend, "created_at": datetime.now(UTC).isoformat(),
               "file": out.name, "file_sha256": _file_sha256(out), **summary}
    tmp = sidecar_path(out).with_suffix(".json.partial")
    tmp.write_text(json.dumps(sidecar, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(sidecar_path(out))
    return sidecar


def backup(url: str, out: Path) -> dict:
    """Write a consistent backup of `url` to `out` and its verify sidecar `out.json`; returns the sidecar."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    if is_sqlite(url):
        source_path = _sqlite_path(url)
        if not source_path.exists():
            raise DatabaseError(f"no SQLite database at {source_path}", remedy="check --url")
        source = sqlite3.connect(source_path, timeout=30)
        target = sqlite3.connect(partial)
        try:
            source.backup(target)  # one step: a consistent snapshot even while the app keeps writing
            target.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
            if target.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise DatabaseError("the backup copy failed SQLite's integrity check")
        finally:
            target.close()
            source.close()
        summary = _sqlite_file_summary(partial)
        backend = "sqlite"
    else:
        binary = require_program("pg_dump")
        uri, env = _pg_target(url)
        engine = make_engine(url)
        try:
            with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
                snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                summary = summarize(conn)  # counted in exactly the snapshot pg_dump writes
                _run([binary, "-Fc", "--no-owner", "--no-privileges", f"--snapshot={snapshot}", "-f", str(partial),
                      "-d", uri], env, "pg_dump")
                conn.rollback()
        finally:
            engine.dispose()
        listing = _run([_pg_restore_binary(), "--list", str(partial)], env, "reading the dump back")
        missing = [t for t in summary["tables"] if f"TABLE DATA public {t} " not in listing]
        if missing:
            raise DatabaseError(f"the dump lacks the data of table(s) {', '.join(missing)}")
        backend = "postgresql"
    partial.replace(out)
    return _write_sidecar(out, backend, summary)


BACKUPS_FOLDER = "backups"  # under the data folder: where `backup_now` writes


def backup_now(url: str, data_dir: Path | str) -> tuple[Path, dict]:
    """Back up `url` into `data_dir`/backups under a UTC timestamped name; returns the file and its sidecar."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    suffix = ".sqlite" if is_sqlite(url) else ".dump"
    out = Path(data_dir) / BACKUPS_FOLDER / f"emotions-{stamp}{suffix}"
    return out, backup(url, out)


def backups_in(data_dir: Path | str) -> list[dict]:
    """The backups in `data_dir`/backups with a readable sidecar, newest first: file name, size, created_at,
    rows and votes."""
    folder = Path(data_dir) / BACKUPS_FOLDER
    found = []
    for sidecar in sorted(folder.glob("*.json"), reverse=True) if folder.is_dir() else []:
        file = sidecar.with_name(sidecar.name[:-5])
        try:
            data = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if file.is_file():
            found.append({"file": file.name, "bytes": file.stat().st_size, "created_at": data.get("created_at", ""),
                          "rows": sum(data.get("tables", {}).values()),
                          "votes": data.get("tables", {}).get(VOTES, 0)})
    return found


def read_sidecar(backup_file: Path) -> dict:
    """The sidecar of `backup_file`; DatabaseError when it is missing or unreadable."""
    path = sidecar_path(backup_file)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatabaseError(f"no verify sidecar {path.name} next to the backup",
                            remedy="restore with --force to skip verification") from None
    except (OSError, ValueError) as exc:
        raise DatabaseError(f"cannot read the verify sidecar {path.name}: {exc}",
                            remedy="restore with --force to skip verification") from None


def _differences(expected: dict, actual: dict) -> list[str]:
    diffs = []
    tables = sorted(set(expected.get("tables", {})) | set(actual["tables"]))
    for name in tables:
        want, got = expected.get("tables", {}).get(name), actual["tables"].get(name)
        if want != got:
            diffs.append(f"{name}: {want} rows expected, {got} found")
    if expected.get("votes_sha256") != actual["votes_sha256"]:
        diffs.append("votes checksum differs")
    return diffs


def is_empty(url: str) -> bool:
    """True when no table of the database holds a row (migration bookkeeping aside)."""
    counts = summary_of(url)["tables"]
    return not any(n for name, n in counts.items() if name != "alembic_version")


def restore(url: str, backup_file: Path, *, force: bool = False) -> dict:
    """Restore `backup_file` into `url` and verify it against the sidecar; returns the restored summary.

    The summary's `mismatches` lists what differs from the sidecar (only ever non-empty with `force`).

    Refuses (DatabaseError) a backup that does not match its sidecar and a non-empty target, unless `force`.
    """
    backup_file = Path(backup_file)
    backend = "sqlite" if is_sqlite(url) else "postgresql"
    sidecar: dict | None = None
    try:
        sidecar = read_sidecar(backup_file)
    except DatabaseError:
        if not force:
            raise
    if sidecar is not None and not force:
        if sidecar.get("backend") != backend:
            raise DatabaseError(f"the backup is a {sidecar.get('backend')} backup, the target is {backend}")
        if sidecar.get("file_sha256") != _file_sha256(backup_file):
            raise DatabaseError(f"{backup_file.name} does not match its verify sidecar (changed or damaged)",
                                remedy="use another backup, or --force to restore it anyway")
    if not force and not is_empty(url):
        raise DatabaseError("the target database is not empty",
                            remedy="restore into a fresh database, or pass --force to overwrite it")
    if backend == "sqlite":
        if not force and sidecar is not None:
            diffs = _differences(sidecar, _sqlite_file_summary(backup_file))
            if diffs:
                raise DatabaseError("the backup does not match its verify sidecar: " + "; ".join(diffs[:5]))
        target_path = _sqlite_path(url)
        target_path.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(backup_file.resolve().as_uri() + "?mode=ro", uri=True)
        target = sqlite3.connect(target_path, timeout=30)
        try:
            source.backup(target)
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(f"cannot restore {backup_file.name}: {exc}") from None
        finally:
            target.close()
            source.close()
    else:
        binary = _pg_restore_binary()
        uri, env = _pg_target(url)
        _run([binary, "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
              "--exit-on-error", "-d", uri, str(backup_file)], env, "pg_restore")
    restored = summary_of(url)
    diffs = _differences(sidecar, restored) if sidecar is not None else ["no verify sidecar"]
    if diffs and not force:
        raise DatabaseError("the restored database does not match the backup's sidecar: " + "; ".join(diffs[:5]),
                            remedy="do not use this database; restore another backup")
    return {**restored, "mismatches": diffs}
