"""What one worker does with one video: run the recipe's steps and return its manifest row (never raises)."""

from __future__ import annotations

import hashlib
import shutil
import traceback
from pathlib import Path
from typing import Any

from cleaning.recipe import Recipe
from cleaning.steps import Step, Video, build_steps
from core.errors import ConfigError
from core.records import CleanVideo

_BUILT: dict[str, tuple[Recipe, list[Step]]] = {}  # per process: recipe digest -> steps


def _steps(recipe_json: dict[str, Any]) -> list[Step]:
    recipe = Recipe.model_validate(recipe_json)
    key = recipe.digest()
    if key not in _BUILT:
        _BUILT[key] = (recipe, build_steps(recipe))
    return _BUILT[key][1]


def video_id(sha256: str | None, source_path: str) -> str:
    """The content hash; for an unreadable file (no content hash), a hash of its path."""
    return sha256 or hashlib.sha256(b"path:" + source_path.encode("utf-8", "backslashreplace")).hexdigest()


def clean_one(task: dict[str, Any], recipe_json: dict[str, Any], out: str) -> dict[str, Any]:
    """Run every step on one video; a bad video ends as a `rejected` row with the first failing reason.

    `task` holds index, path, source_path, sha256 and meta. Only configuration bugs raise.
    """
    steps = _steps(recipe_json)
    vid = video_id(task.get("sha256"), task["source_path"])
    out_dir = Path(out)
    video = Video(index=task["index"], path=Path(task["path"]), out=out_dir,
                  scratch=out_dir / ".scratch" / f"{vid[:16]}-{task['index']}",
                  meta=dict(task.get("meta") or {}), sha256=task.get("sha256"))
    status, reason, detail = "kept", None, ""
    try:
        for step in steps:
            skip = step(video)
            if skip is not None:
                status, reason, detail = "rejected", skip.reason, skip.detail
                break
    except ConfigError:
        raise
    except Exception as exc:  # a bug or an unforeseen input: recorded for this video, the run goes on
        last = traceback.extract_tb(exc.__traceback__)[-1]
        status, reason = "rejected", "internal_error"
        detail = f"{type(exc).__name__}: {exc} ({Path(last.filename).name}:{last.lineno})"
    finally:
        shutil.rmtree(video.scratch, ignore_errors=True)
    return build_row(video, vid, task["source_path"], status, reason, detail, recipe_json)


def crashed_row(task: dict[str, Any], why: str) -> dict[str, Any]:
    """The row of a video whose worker process died: rejected as `worker_crashed`."""
    row = {**(task.get("meta") or {}), "id": video_id(task.get("sha256"), task["source_path"]),
           "source_path": task["source_path"], "status": "rejected", "reason": "worker_crashed", "detail": why,
           "platform": (task.get("meta") or {}).get("platform"), "sha256": task.get("sha256")}
    return {**CleanVideo.model_validate(row).model_dump(mode="json"), "_index": task["index"]}


def build_row(video: Video, vid: str, source_path: str, status: str, reason: str | None, detail: str,
              recipe_json: dict[str, Any]) -> dict[str, Any]:
    """The manifest row: CleanVideo's columns, the step notes, the hashes and the carried metadata."""
    info, analysis = video.info, video.analysis
    row: dict[str, Any] = {
        **video.meta,
        **video.fields,
        "id": vid,
        "source_path": source_path,
        "status": status,
        "reason": reason,
        "detail": detail,
        "platform": video.meta.get("platform"),
        "sha256": video.sha256,
    }
    if info is not None:
        row.update(duration_s=round(info.duration_s, 3), width=info.width, height=info.height,
                   fps=info.fps, has_audio=info.has_audio)
    if analysis is not None:
        from cleaning.frames import hashes_to_hex

        signature = analysis.signature(recipe_json["dedupe"]["frames"])
        row["phash"] = hashes_to_hex(signature) if signature else None
        if analysis.max_rms_dbfs is not None:
            row["max_rms_dbfs"] = round(analysis.max_rms_dbfs, 2)
    if status == "kept":
        row.update(video.derived)
    return {**CleanVideo.model_validate(row).model_dump(mode="json"), "_index": video.index}
