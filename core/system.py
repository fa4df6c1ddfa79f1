"""Checks for the system programs the pipeline shells out to, with the command that installs each."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from core.errors import MissingDependency


@dataclass(frozen=True, slots=True)
class Program:
    name: str
    candidates: tuple[str, ...]
    install: str
    needed_by: str


PROGRAMS: dict[str, Program] = {
    "ffmpeg": Program("ffmpeg", ("ffmpeg",), "apt-get install ffmpeg", "clean, media synth"),
    "ffprobe": Program("ffprobe", ("ffprobe",), "apt-get install ffmpeg", "clean"),
    "chromium": Program("chromium", ("chromium", "chromium-browser", "google-chrome"),
                        "apt-get install chromium", "crawl (platform discovery)"),
    "chromedriver": Program("chromedriver", ("chromedriver",), "apt-get install chromium-driver",
                            "crawl (platform discovery)"),
    "pg_dump": Program("pg_dump", ("pg_dump",), "apt-get install postgresql-client",
                       "app backup on PostgreSQL"),
}


def find_program(name: str) -> str | None:
    """Absolute path of the first candidate of a known program on PATH, or None."""
    for candidate in PROGRAMS[name].candidates:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def require_program(name: str) -> str:
    """Absolute path of a known program; MissingDependency naming it and its install command."""
    found = find_program(name)
    if found is None:
        prog = PROGRAMS[name]
        raise MissingDependency(f"{name} not found on PATH (needed by {prog.needed_by})",
                                remedy=f"install it with: {prog.install}")
    return found
