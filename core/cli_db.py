"""`emotions db …`: apply, revert and inspect schema migrations on the configured database."""

from __future__ import annotations

import click

from core import migrate
from core.settings import get_settings


def _url(url: str | None) -> str:
    return url or get_settings().database_url


_url_option = click.option("--url", help="Database URL (default: EMOTIONS_DATABASE_URL).")


@click.group()
def db() -> None:
    """Database schema: upgrade, downgrade, current revision."""


@db.command()
@click.argument("revision", default="head")
@_url_option
def upgrade(revision: str, url: str | None) -> None:
    """Upgrade the schema to REVISION (default: head)."""
    rev = migrate.upgrade(_url(url), revision)
    click.echo(f"database at revision {rev or 'base (empty)'}")


@db.command()
@click.argument("revision")
@_url_option
def downgrade(revision: str, url: str | None) -> None:
    """Downgrade the schema to REVISION ('base' removes every table, '-1' goes one step back)."""
    rev = migrate.downgrade(_url(url), revision)
    click.echo(f"database at revision {rev or 'base (empty)'}")


@db.command()
@_url_option
def current(url: str | None) -> None:
    """Show the database's revision and whether it is up to date."""
    rev = migrate.current(_url(url))
    head = migrate.head()
    state = "up to date" if rev == head else f"behind (head is {head}); run `emotions db upgrade`"
    click.echo(f"{rev or 'base (empty)'}: {state}")
