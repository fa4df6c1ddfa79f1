"""`emotions doctor`: one line per requirement (programs, database, extras) with the fix for each gap."""

from __future__ import annotations

import importlib.util
import sys

import click

from core.errors import EmotionsError
from core.settings import load_settings
from core.system import PROGRAMS, find_program

EXTRAS: dict[str, tuple[str, ...]] = {
    "crawl": ("requests", "lxml", "selenium", "yt_dlp", "protego"),
    "clean": ("cv2", "av", "librosa", "ffmpeg"),
    "app": ("fastapi", "uvicorn", "jinja2", "babel"),
    "qa": ("statsmodels", "krippendorff", "scipy", "pandas", "sklearn", "cleanlab"),
    "model": ("torch", "torchvision", "sklearn"),
    "scale": ("ray",),
}


def _row(ok: bool, what: str, detail: str) -> None:
    mark = click.style("ok  ", fg="green") if ok else click.style("MISS", fg="yellow")
    click.echo(f"{mark} {what:<14} {detail}")


@click.command()
def doctor() -> None:
    """Check system programs, database and installed extras; exit 1 if anything is missing."""
    missing = 0
    _row(sys.version_info >= (3, 11), "python", sys.version.split()[0])
    for name, prog in PROGRAMS.items():
        path = find_program(name)
        missing += path is None
        _row(path is not None, name, path or f"not found; install: {prog.install}")
    settings = load_settings()
    try:
        from core import migrate

        rev, head = migrate.current(settings.database_url), migrate.head()
        ok = rev == head
        _row(ok, "database", f"{_safe_url(settings.database_url)} at {rev or 'base'}"
             + ("" if ok else f" (head {head}; run: emotions db upgrade)"))
    except EmotionsError as exc:
        ok = False
        _row(False, "database", exc.one_line())
    missing += not ok
    for extra, modules in EXTRAS.items():
        absent = [m for m in modules if importlib.util.find_spec(m) is None]
        missing += bool(absent)
        _row(not absent, f"extra [{extra}]",
             "installed" if not absent else f"missing {', '.join(absent)}; pip install 'emotions[{extra}]'")
    if missing:
        raise click.exceptions.Exit(1)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
