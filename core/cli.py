"""The `emotions` command root: lazily loaded stage groups and one-line error reporting.

Stage commands are registered by import path and loaded only when invoked, so `emotions --help`
never imports torch, selenium, cv2 or ray.
"""

from __future__ import annotations

import importlib
import sys

import click

from core import __version__
from core.errors import EmotionsError, MissingDependency

# name -> (import path "module:attribute", one-line help shown by `emotions --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "db": ("core.cli_db:db", "Database schema: upgrade, downgrade, current revision."),
    "media": ("cleaning.cli_media:media", "Synthetic media for tests and demos."),
    "clean": ("cleaning.cli:clean", "Validate, filter, de-duplicate and normalise videos."),
    "crawl": ("crawler.cli:crawl", "Discover and download short videos politely and resumably."),
    "doctor": ("core.doctor:doctor", "Check system programs, database and installed extras."),
    "demo": ("core.demo:demo", "Run the pipeline end to end on generated data."),
    "model": ("model.cli:model", "Train, evaluate, predict and benchmark AV-CANet and baselines."),
    "app": ("annotation_app.cli:app", "Annotation server: users, groups, import, serve, export."),
    "dataset": ("dataset.cli:dataset", "Build dataset variants, splits, card and exports."),
    "qa": ("qa.cli:qa", "Agreement, cross-check consistency, swaps, MOS and sample size."),
}

# third-party module -> the extra that provides it
_EXTRA_OF = {
    "requests": "crawl", "lxml": "crawl", "selenium": "crawl", "yt_dlp": "crawl",
    "cv2": "clean", "av": "clean", "librosa": "clean", "ffmpeg": "clean",
    "fastapi": "app", "uvicorn": "app", "jinja2": "app",
    "statsmodels": "qa", "krippendorff": "qa", "scipy": "qa", "matplotlib": "qa",
    "pandas": "qa", "pyarrow": "qa", "torch": "model", "torchvision": "model", "sklearn": "model",
    "cleanlab": "qa", "ray": "scale",
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use."""

    def __init__(self, *args, lazy: dict[str, tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            return _load(cmd_name, self.lazy[cmd_name][0])
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, self.lazy[name][1]) for name in sorted(self.lazy)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _load(name: str, target: str) -> click.Command:
    module_name, attr = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        extra = _EXTRA_OF.get(missing)
        if extra is None:
            raise
        raise MissingDependency(
            f"`emotions {name}` needs the Python package {missing!r}",
            remedy=f"install it with: pip install 'emotions[{extra}]'",
        ) from None
    return getattr(module, attr)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="emotions")
def cli() -> None:
    """emotions: short-video URLs to a labelled, agreement-audited, benchmarked emotion dataset.

    Configuration comes from EMOTIONS_* environment variables or a .env file
    (see `emotions doctor` and the README).
    """
    # Start-up checks: a bad setting or a bad project adjective table stops here, before any work.
    from core.logging import setup_logging
    from core.settings import get_settings
    from core.taxonomy import configured_adjectives

    settings = get_settings()
    setup_logging(settings.log_level)
    if settings.adjectives_path is not None:
        configured_adjectives()


def main(argv: list[str] | None = None) -> int:
    """Console entry point: runs the CLI, printing one line and exiting non-zero on failure."""
    try:
        cli.main(args=argv, prog_name="emotions", standalone_mode=False)
    except EmotionsError as exc:
        click.secho(f"error: {exc.one_line()}", err=True, fg="red")
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
