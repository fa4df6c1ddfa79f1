import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import inspect

import migrations.models  # noqa: F401  (complete Base.metadata)
from core import migrate
from core.cli import cli, main
from core.db import Base, make_engine


def _schema_diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_head_yields_exactly_the_orm_schema_then_downgrade_base(db_url):
    assert migrate.current(db_url) is None
    assert migrate.upgrade(db_url) == migrate.head()
    assert _schema_diff(db_url) == []
    assert _tables(db_url) - {"alembic_version"} == set(Base.metadata.tables)
    assert migrate.downgrade(db_url, "base") is None
    assert _tables(db_url) - {"alembic_version"} == set()
    # and back up again: the history is replayable
    assert migrate.upgrade(db_url) == migrate.head()
    assert _schema_diff(db_url) == []


def test_db_commands_report_revision(sqlite_url):
    runner = CliRunner()
    up = runner.invoke(cli, ["db", "upgrade", "--url", sqlite_url])
    assert up.exit_code == 0, up.output
    assert up.output.strip() == f"database at revision {migrate.head() or 'base (empty)'}"
    cur = runner.invoke(cli, ["db", "current", "--url", sqlite_url])
    assert cur.output.strip().endswith(": up to date")


def test_default_sqlite_database_is_created_under_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["db", "upgrade"]) == 0
    assert (tmp_path / "data" / "emotions.db").is_file()


@pytest.mark.postgres
def test_unreachable_postgres_is_one_clear_line(capsys):
    url = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"
    assert main(["db", "current", "--url", url]) == 4
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert err.startswith("error: cannot connect to database postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    assert err.endswith("(start PostgreSQL (or install it: apt-get install postgresql) "
                        "or point EMOTIONS_DATABASE_URL elsewhere)")
