"""Fixtures of the crawler tests: the local fixture platform, an 'external' host and fast recipes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.crawler.fixture_platform import FixturePlatform

FAST = {"min_interval_s": 0.0, "backoff_base_s": 0.05, "backoff_cap_s": 0.2, "jitter_s": 0.0,
        "block_backoff_s": 0.05, "timeout_s": 10.0}


@pytest.fixture(scope="session")
def media_dir(synth_videos: Callable[..., Path]) -> Path:
    return synth_videos(per_class=1, seed=3, size="64x48", fps=5)


@pytest.fixture(scope="session")
def _servers(media_dir: Path) -> Iterator[tuple[FixturePlatform, FixturePlatform]]:
    main = FixturePlatform(media_dir).start()
    external = FixturePlatform(media_dir).start()
    main.external_base = external.base
    yield main, external
    main.stop()
    external.stop()


@pytest.fixture
def platform(_servers: tuple[FixturePlatform, FixturePlatform]) -> FixturePlatform:
    """The fixture platform with an empty request log."""
    for server in _servers:
        server.reset()
    return _servers[0]


@pytest.fixture
def external(_servers: tuple[FixturePlatform, FixturePlatform]) -> FixturePlatform:
    return _servers[1]


@pytest.fixture
def recipe(tmp_path: Path) -> Callable[..., Any]:
    """Factory of a crawl recipe with test-speed politeness, writing into tmp_path/out by default."""
    from crawler.recipe import build_recipe

    def make(**fields: Any) -> Any:
        politeness = {**FAST, **fields.pop("politeness", {})}
        fields.setdefault("out", tmp_path / "out")
        return build_recipe(None, **fields, **politeness)

    return make
