"""Shared fixtures: a SQLite and a PostgreSQL database per test session, and the synth-video factory."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.settings import get_settings

PG_ADMIN_URL = os.environ.get("EMOTIONS_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every test sees settings rebuilt from its own environment (and never the developer's .env)."""
    monkeypatch.chdir(tmp_path_factory.getbasetemp())
    for key in [k for k in os.environ if k.startswith("EMOTIONS_") and not k.startswith("EMOTIONS_TEST_")]:
        monkeypatch.delenv(key)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh, empty SQLite database file."""
    return f"sqlite:///{tmp_path / 'emotions.db'}"


def _pg_admin():
    import psycopg

    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0]
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL} ({first}): PostgreSQL tests skipped")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Callable[[], str]]:
    """A factory of fresh, empty PostgreSQL databases on the local server; all dropped at the end."""
    created: list[str] = []
    admin = _pg_admin()

    def make() -> str:
        import psycopg

        nonlocal admin
        name = f"emotions_test_{uuid.uuid4().hex[:12]}"
        try:
            admin.execute(f'CREATE DATABASE "{name}"')
        except psycopg.OperationalError:  # a fault test restarted the server: connect again, once
            admin.close()
            admin = _pg_admin()
            admin.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        return f"{base}/{name}"

    yield make
    admin.close()
    admin = _pg_admin()  # a fresh connection: a fault test may have restarted the server meanwhile
    for name in created:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def postgres_url(postgres_server: Callable[[], str]) -> str:
    """A fresh, empty PostgreSQL database (skipped with a reason when the server is absent)."""
    return postgres_server()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture(scope="session")
def synth_videos(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Factory: `synth_videos(per_class=1, seed=0, edge_cases=(...))` -> folder with clips + labels.csv.

    Results are cached per argument set for the whole session (ffmpeg runs once per set).
    """
    from cleaning.synth import synthesize

    cache: dict[tuple, Path] = {}

    def make(per_class: int = 1, seed: int = 0, size: str = "160x120", fps: int = 10,
             edge_cases: tuple = ()) -> Path:
        key = (per_class, seed, size, fps, tuple(edge_cases))
        if key not in cache:
            out = tmp_path_factory.mktemp("synth")
            synthesize(out, per_class=per_class, seed=seed, size=size, fps=fps, edge_cases=edge_cases)
            cache[key] = out
        return cache[key]

    return make


@pytest.fixture(scope="session")
def music_video_dir() -> Path:
    """The real labelled clips in shared/data; skipped with a clear message when absent."""
    folder = SHARED / "data" / "music_video_train"
    if not (folder / "labels.csv").exists():
        pytest.skip(f"real clips not found at {folder}: tests on real media skipped")
    return folder
