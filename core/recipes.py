"""Reading run recipes: a YAML file holding one mapping, with one clear error line when it is not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from core.errors import ConfigError


def read_yaml_mapping(path: Path | str, what: str = "recipe") -> dict[str, Any]:
    """The top-level mapping of a YAML file (empty file: {}); ConfigError naming `what` and the file."""
    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{what} {path}: cannot read ({exc.strerror})") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{what} {path}: not valid YAML ({first})") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{what} {path}: expected a mapping of settings at the top level")
    return dict(loaded)
