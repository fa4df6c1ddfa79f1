"""Content-addressed storage of derived files: `<kind>/<aa>/<sha256>.<ext>` under the output folder."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from core.manifest import atomic_write_bytes, file_sha256


def _target(out: Path, kind: str, sha: str, ext: str) -> tuple[Path, str]:
    rel = f"{kind}/{sha[:2]}/{sha}{ext}"
    return out / rel, rel


def store_bytes(out: Path, kind: str, data: bytes, ext: str) -> str:
    """Write `data` under its own hash (atomically, once); returns the path relative to `out`."""
    path, rel = _target(out, kind, hashlib.sha256(data).hexdigest(), ext)
    if not path.exists():
        atomic_write_bytes(path, data)
    return rel


def store_file(out: Path, kind: str, source: Path, ext: str) -> str:
    """Move a finished scratch file under its own hash (rename is atomic); returns the relative path."""
    path, rel = _target(out, kind, file_sha256(source), ext)
    if path.exists():
        source.unlink()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, path)
    return rel
