"""Process-wide logging set-up: one format, level from the settings, messages to stderr."""

from __future__ import annotations

import logging
import sys

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup_logging(level: str = "INFO") -> None:
    """Route the toolkit's and libraries' logs to stderr at `level` (idempotent)."""
    root = logging.getLogger()
    root.setLevel(level)
    if not any(getattr(h, "_emotions", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_FORMAT, datefmt="%H:%M:%S"))
        handler._emotions = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    # migration chatter ("Context impl ...", "Will assume ...") is noise for CLI users
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
