"""Fixtures for the annotation app: a migrated database and a small world of groups, people and samples."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from annotation_app.app import create_app
from annotation_app.models import Sample, User
from annotation_app.services import auth, importer, people
from core.db import Base, make_engine, session_factory
from core.settings import Settings, load_settings
from core.taxonomy import Category, adjective_table

# one adjective id per category, for readable tests
ADJ = {c: adjective_table().by_category(c)[0].id for c in Category}
E, F, N, R, S, T = (ADJ[c] for c in Category)


@dataclass
class World:
    """Three groups A-C (leader + 3 members each), an expert, an admin and task samples s0..sN."""

    factory: sessionmaker[Session]
    settings: Settings
    url: str
    users: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    media_dir: Path | None = None

    def session(self) -> Session:
        return self.factory()


def write_manifest(folder: Path, count: int, *, size: int = 4096, prefix: str = "s") -> Path:
    """A clean manifest of `count` kept rows whose web MP4s are `size` bytes of a known pattern."""
    media = folder / "media"
    media.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(count):
        name = f"{prefix}{i}"
        (media / f"{name}.mp4").write_bytes(bytes(range(256)) * (size // 256))
        rows.append({"id": name, "source_path": f"raw/{name}.mp4", "status": "kept", "web_mp4": f"media/{name}.mp4",
                     "duration_s": 5.0})
    rows.append({"id": "gone", "source_path": "raw/gone.mp4", "status": "rejected", "reason": "too_short"})
    manifest = folder / "clean.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return manifest


def build_world(url: str, tmp: Path, *, samples: int = 6, passwords: tuple[str, ...] = (), **overrides) -> World:
    """Create the schema and the world; samples are dealt to groups in batches of 2 (A, B, C, A ...).

    Only the users named in `passwords` get one ("password-<name>"): argon2 is slow on purpose.
    """
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    settings = load_settings(data_dir=tmp / "data", **overrides)
    world = World(session_factory(engine), settings, url)
    with world.session() as session:
        groups = people.ensure_groups(session, 3)
        for group in groups:
            g = group.name.lower()
            for name, role in [(f"{g}lead", "leader"), (f"{g}1", "member"), (f"{g}2", "member"),
                               (f"{g}3", "member")]:
                user = people.create_user(session, name, role,
                                          password="password-" + name if name in passwords else None)
                people.assign(session, user, group)
                world.users[name] = user.id
        for name, role in [("expert", "expert"), ("admin", "admin")]:
            user = people.create_user(session, name, role, password="password-" + name if name in passwords else None)
            world.users[name] = user.id
        if samples:
            manifest = write_manifest(tmp / "clean", samples)
            importer.import_manifest(session, manifest)
            importer.distribute(session, 2)
            world.media_dir = tmp / "clean" / "media"
        world.samples = [s.id for s in session.query(Sample).order_by(Sample.seq)]
        session.commit()
    return world


@pytest.fixture
def world_factory(tmp_path: Path) -> Iterator[Callable[..., World]]:
    made: list[World] = []

    def make(url: str, **kwargs) -> World:
        world = build_world(url, tmp_path, **kwargs)
        made.append(world)
        return world

    yield make
    for world in made:
        world.factory.kw["bind"].dispose()


@pytest.fixture
def world(db_url: str, world_factory: Callable[..., World]) -> World:
    """The default world on SQLite and on PostgreSQL."""
    return world_factory(db_url)


@pytest.fixture
def client_of():
    made = []

    def make(world: World, username: str | None = None) -> TestClient:
        client = TestClient(create_app(world.settings, database_url=world.url))
        made.append(client)
        if username:
            with world.session() as session:
                token = auth.create_token(session, session.get(User, world.users[username]))
                session.commit()
            client.headers["Authorization"] = f"Bearer {token}"
        return client

    yield make
    for client in made:
        client.app.state.engine.dispose()


def post_vote(client: TestClient, sample: str, adjective: int, confidence: float = 0.7, client_id: str | None = None,
              **extra):
    body = {"sample_id": sample, "adjective_id": adjective, "confidence": confidence,
            "client_id": client_id or uuid.uuid4().hex, **extra}
    return client.post("/api/votes", json=body)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """One headless Chromium per test module (Selenium; skipped where chromium/chromedriver are missing)."""
    import shutil

    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and chromedriver):
        pytest.skip("chromium/chromedriver not installed")
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1280,900", "--autoplay-policy=no-user-gesture-required",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=chromedriver))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def shots_dir(tmp_path_factory, request) -> Path:
    """Where a browser module saves its screenshots: `$EMOTIONS_TEST_SHOTS/<module>/` when that is set (to keep
    them as artifacts and look at them), else a temporary folder."""
    keep = os.environ.get("EMOTIONS_TEST_SHOTS")
    if keep:
        folder = Path(keep) / request.module.__name__.rsplit(".", 1)[-1]
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("screenshots")


@contextmanager
def served(app, **config) -> Iterator[str]:
    """`app` served by uvicorn in a thread on a free loopback port (as `emotions app serve` serves it); yields the
    base URL and stops the server afterwards. `config`: more uvicorn.Config options (e.g. proxy headers)."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
