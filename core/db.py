"""Database plumbing: engine and session factories, the declarative base, and connection checks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import MetaData, create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from core.errors import ConfigError, DatabaseError

# Stable constraint names make autogenerate diffs empty and SQLite batch migrations reversible.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every ORM model; its metadata is what migrations must reproduce."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, **kwargs: object) -> Engine:
    """Create an engine for a sqlite:/// or postgresql+psycopg:// URL.

    SQLite: the file's folder is created, foreign keys are enforced, WAL journal and a busy timeout
    let several app workers share the file. PostgreSQL: pre-ping pooled connections.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"EMOTIONS_DATABASE_URL: cannot parse {url!r}") from None
    if is_sqlite(url):
        db_path = parsed.database
        if db_path and db_path != ":memory:" and not db_path.startswith("file:"):
            Path(db_path).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A sessionmaker bound to `engine`; objects stay usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def check_connection(engine: Engine) -> None:
    """Open one connection; raise DatabaseError with a remedy if the server cannot be reached."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        url = engine.url.render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        if is_sqlite(url):
            remedy = "check that the folder of EMOTIONS_DATABASE_URL is writable"
        else:
            remedy = (
                "start PostgreSQL (or install it: apt-get install postgresql) "
                "or point EMOTIONS_DATABASE_URL elsewhere"
            )
        raise DatabaseError(f"cannot connect to database {url}: {reason}", remedy=remedy) from None
