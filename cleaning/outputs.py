"""The files a cleaning run ends with: final manifest shards, `manifest.parquet`, the resolved recipe, the summary.

Every row is normalised through `CleanVideo`, so each declared column is present in every row; the Parquet
table takes its column order and types from `manifest_schema(CleanVideo)`, never from the order the keys
of some row happened to have (rows computed now and rows read back from a resumed shard differ there).
Carried crawl metadata follows as extra columns in name order.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

from cleaning.recipe import Recipe
from core.manifest import atomic_write_json, atomic_write_text, write_shard
from core.records import CleanVideo, manifest_schema

MANIFEST_DIR = "manifest"


def shard_stats(rows: list[dict[str, Any]], started: float) -> dict[str, Any]:
    """Counts by status and reason, kept duration and elapsed seconds of one shard's rows."""
    return {"status": dict(Counter(r["status"] for r in rows)),
            "reasons": dict(Counter(r["reason"] for r in rows if r["reason"])),
            "duration_s": round(sum(r.get("duration_s") or 0 for r in rows if r["status"] == "kept"), 3),
            "seconds": round(time.time() - started, 3)}


def normalise_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as `CleanVideo` dumps them: every declared column (typed, defaults filled), then the extras."""
    return [CleanVideo.model_validate(row).model_dump(mode="json") for row in rows]


def _extra_column(values: list[Any]) -> tuple[Any, list[Any]]:
    """(Arrow type, values) of a carried-metadata column: a plain type when its values share one,
    otherwise JSON text (nested or mixed values)."""
    import pyarrow as pa

    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return pa.null(), values
    for allowed, kind in (({bool}, pa.bool_()), ({int}, pa.int64()), ({int, float}, pa.float64()),
                          ({str}, pa.string())):
        if kinds <= allowed:
            return kind, values
    return pa.string(), [None if v is None else json.dumps(v, ensure_ascii=False, sort_keys=True) for v in values]


def manifest_table(rows: list[dict[str, Any]]) -> Any:
    """The manifest as a pyarrow Table: CleanVideo's columns with their declared types, then the extras by name."""
    import pyarrow as pa

    schema = manifest_schema(CleanVideo)
    fields, arrays = list(schema), [pa.array([r.get(f.name) for r in rows], type=f.type) for f in schema]
    for name in sorted({k for r in rows for k in r} - set(schema.names)):
        kind, values = _extra_column([r.get(name) for r in rows])
        fields.append(pa.field(name, kind))
        arrays.append(pa.array(values, type=kind))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def write_parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    """`manifest_table(rows)` written to `path` atomically (temporary file, then rename)."""
    import pyarrow.parquet as pq

    tmp = path.with_name(f".{path.name}.part")
    pq.write_table(manifest_table(rows), tmp)
    tmp.replace(path)
    return path


def write_outputs(out: Path, rows: list[dict[str, Any]], recipe: Recipe, started: float, executor: str,
                  resumed: int) -> dict[str, Any]:
    """Final manifest shards (+ stats), manifest.parquet, resolved recipe and the run summary."""
    rows = normalise_rows(rows)
    manifest = out / MANIFEST_DIR
    manifest.mkdir(exist_ok=True)
    for old in manifest.glob("clean-*"):
        old.unlink()
    for i in range(0, max(1, len(rows)), recipe.shard_size):
        chunk = rows[i:i + recipe.shard_size]
        write_shard(manifest, "clean", i // recipe.shard_size, chunk, shard_stats(chunk, started))
    write_parquet(out / "manifest.parquet", rows)
    atomic_write_text(out / "recipe.yaml", recipe.to_yaml())
    shutil.rmtree(out / ".scratch", ignore_errors=True)
    summary = {"videos": len(rows), "status": dict(Counter(r["status"] for r in rows)),
               "reasons": dict(sorted(Counter(r["reason"] for r in rows if r["reason"]).items())),
               "executor": executor, "resumed_shards": resumed, "seconds": round(time.time() - started, 2)}
    atomic_write_json(out / "run.json", summary)
    return summary
