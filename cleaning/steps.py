"""The per-video step protocol, the work item steps enrich, and the registry built from the recipe."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from core.errors import ConfigError
from core.records import Skip

if TYPE_CHECKING:
    from cleaning.recipe import Recipe

# name -> "module:Class"; a class is built with the recipe and called once per video.
STEP_TYPES: dict[str, str] = {
    "probe": "cleaning.probe:ProbeStep",
    "duration": "cleaning.filters:DurationFilter",
    "resolution": "cleaning.filters:ResolutionFilter",
    "audio": "cleaning.filters:AudioFilter",
    "analyse": "cleaning.analyse:AnalyseStep",
    "black": "cleaning.filters:BlackFilter",
    "static": "cleaning.filters:StaticFilter",
    "silence": "cleaning.filters:SilenceFilter",
    "normalise": "cleaning.normalise:NormaliseStep",
}


@dataclass
class Video:
    """One input video as it moves through the steps; each step adds what it learnt."""

    index: int
    path: Path
    out: Path
    scratch: Path
    meta: dict[str, Any] = field(default_factory=dict)
    sha256: str | None = None
    info: Any = None  # cleaning.probe.MediaInfo once probed
    analysis: Any = None  # cleaning.analyse.Analysis once decoded
    fields: dict[str, Any] = field(default_factory=dict)  # extra manifest columns (rotation, vfr, ...)
    derived: dict[str, str] = field(default_factory=dict)  # kind -> path relative to `out`


class Step(Protocol):
    """A per-video step: enriches `video` and returns None, or returns Skip(reason) to reject it."""

    name: str

    def __call__(self, video: Video) -> Skip | None: ...


def build_steps(recipe: Recipe) -> list[Step]:
    """Instantiate the recipe's steps in order (ConfigError for a name the registry lacks)."""
    steps: list[Step] = []
    for name in recipe.steps:
        try:
            module_name, attr = STEP_TYPES[name].split(":")
        except KeyError:
            raise ConfigError(f"unknown cleaning step {name!r}; known: {sorted(STEP_TYPES)}") from None
        cls = getattr(importlib.import_module(module_name), attr)
        steps.append(cls(recipe))
    return steps


def requires(video: Video, what: str, step: str) -> None:
    """Fail fast (a configuration bug, not a bad video) when a step runs before the one it needs."""
    if getattr(video, what) is None:
        raise ConfigError(f"step {step!r} needs the {what!r} step's result; list it earlier in the recipe")
