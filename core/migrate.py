"""Schema migrations driven from code: upgrade, downgrade and current revision via Alembic."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from core.db import check_connection, make_engine
from core.errors import DatabaseError


def _migrations_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("migrations")
    if spec is None or not spec.submodule_search_locations:
        raise DatabaseError("the migrations package is not installed", remedy="reinstall: make setup")
    return Path(next(iter(spec.submodule_search_locations)))


def alembic_config(url: str) -> Config:
    """An Alembic Config pointing at the shipped migrations and the given database URL."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> str | None:
    """Apply migrations up to `revision`; returns the resulting current revision."""
    check_connection(make_engine(url))
    command.upgrade(alembic_config(url), revision)
    return current(url)


def downgrade(url: str, revision: str) -> str | None:
    """Revert migrations down to `revision` ('base' for an empty schema)."""
    check_connection(make_engine(url))
    command.downgrade(alembic_config(url), revision)
    return current(url)


def current(url: str) -> str | None:
    """The revision the database is at (None when never migrated)."""
    engine = make_engine(url)
    check_connection(engine)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head() -> str | None:
    """The newest revision shipped with this version of the toolkit."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
