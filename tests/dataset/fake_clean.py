"""A stand-in `emotions clean` group for import tests: content ids, kept rows, media copied by hash."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import click

from core.manifest import write_shard


@click.group()
def clean() -> None:
    """Fake clean stage."""


@clean.command("run")
@click.option("--source", type=click.Path(path_type=Path), required=True)
@click.option("--out", type=click.Path(path_type=Path), required=True)
def run(source: Path, out: Path) -> None:
    rows, seen = [], set()
    for line in source.read_text().splitlines():
        meta = json.loads(line)
        path = Path(meta.pop("path"))
        data = path.read_bytes()
        sid = hashlib.sha256(data).hexdigest()
        row = {"id": sid, "source_path": str(path), "status": "kept", "duration_s": 1.0 + len(data) % 7,
               **meta}
        if sid in seen:
            row.update(status="duplicate", duplicate_of=sid)
        elif b"broken" in data:
            row.update(status="rejected", reason="corrupt")
        else:
            rel = f"web/{sid}.mp4"
            (out / "web").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, out / rel)
            row["web_mp4"] = rel
        seen.add(sid)
        rows.append(row)
    write_shard(out, "clean", 0, rows, {})
