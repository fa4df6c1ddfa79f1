"""A cleaning run: plan (discover, hash, exact groups), per-video steps in shards, dedupe, final manifest.

Output folder: `manifest/clean-NNNNN.jsonl` + `_stats.json` (final rows), `manifest.parquet`,
`recipe.yaml` (resolved), `run.json` (summary), derived files by content hash (`web/`, `poster/`,
`wav/`, `frames/`, `mfcc/`) and `.work/<plan>/videos-NNNNN.jsonl` (per-video results, the unit of
resume: a shard with its stats file is never recomputed).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cleaning.dedupe import near_duplicate_groups
from cleaning.executors import Executor, LocalExecutor
from cleaning.frames import hex_to_hashes
from cleaning.keep import Member, Size, choose, crawl_time, frame_detail, measurements
from cleaning.outputs import shard_stats, write_outputs
from cleaning.recipe import Recipe
from cleaning.sources import InputVideo, discover
from cleaning.worker import clean_one, crashed_row
from core.manifest import complete_shards, file_sha256, read_rows, write_shard

DERIVED = ("web_mp4", "poster", "wav", "frames", "mfcc")
WORK_DIR = ".work"


def _sha(video: InputVideo) -> str | None:
    try:
        return file_sha256(video.path)
    except OSError:
        return None


def _crawl_order(video: InputVideo, index: int) -> tuple[float, int]:
    stamp = crawl_time(video.meta.get("crawled_at"))
    return (stamp.timestamp() if stamp is not None else float("inf"), index)


def plan(videos: list[InputVideo], threads: int = 4) -> list[dict[str, Any]]:
    """One task per input, with its content hash; exact copies point at the earliest crawled file with
    those bytes (the earliest input when crawl times are unknown), which alone is cleaned."""
    with ThreadPoolExecutor(threads) as pool:
        shas = list(pool.map(_sha, videos))
    first: dict[str, int] = {}
    for index, (video, sha) in enumerate(zip(videos, shas, strict=True)):
        if sha is not None and (sha not in first or _crawl_order(video, index) < _crawl_order(videos[first[sha]],
                                                                                              first[sha])):
            first[sha] = index
    tasks = []
    for index, (video, sha) in enumerate(zip(videos, shas, strict=True)):
        task = {"index": index, "path": str(video.path), "source_path": video.source_path,
                "sha256": sha, "meta": video.meta}
        if sha is not None and first[sha] != index:
            task["copy_of"] = first[sha]
        tasks.append(task)
    return tasks


def _copy_row(task: dict[str, Any], original: dict[str, Any]) -> dict[str, Any]:
    """The row of an exact copy, from its original's final row: a duplicate of the kept row of the original's
    group, or rejected for the original's reason. It keeps its own path, id and metadata."""
    row = {k: (None if k in DERIVED else v) for k, v in original.items()}
    same = f"same bytes as {original['source_path']}"
    row.update({**task["meta"], "source_path": task["source_path"],
                "id": hashlib.sha256(f"{task['sha256']}:{task['source_path']}".encode(
                    "utf-8", "backslashreplace")).hexdigest()})
    if original["status"] == "rejected":
        row.update(detail=f"{same}: {original.get('detail') or original['reason']}", duplicate_of=None,
                   dup_group=original.get("dup_group") or original["id"])
    else:
        kept = original["duplicate_of"] if original["status"] == "duplicate" else original["id"]
        row.update(status="duplicate", reason="exact_duplicate", detail=same, duplicate_of=kept,
                   dup_group=original.get("dup_group") or kept)
    return row


def _near_dedupe(rows: list[dict[str, Any]], paths: list[str], recipe: Recipe) -> None:
    """Marks near duplicates among kept rows in place (status, reason, detail, duplicate_of, dup_group)."""
    import numpy as np

    rule = recipe.dedupe
    kept = [i for i, r in enumerate(rows) if r is not None and r["status"] == "kept" and r.get("phash")]
    if len(kept) < 2:
        return
    sigs = np.array([hex_to_hashes(rows[i]["phash"]) for i in kept], dtype=np.uint64)
    durations = np.array([rows[i]["duration_s"] or 0.0 for i in kept], dtype=np.float64)
    groups = [[kept[j] for j in members] for members in near_duplicate_groups(sigs, durations, rule)]
    if not groups:
        return
    members = [[Member(order=i, path=paths[i], name=rows[i]["source_path"], width=rows[i]["width"] or 0,
                       height=rows[i]["height"] or 0, duration_s=rows[i]["duration_s"] or 0.0,
                       kbps=rows[i].get("video_kbps"), crawled_at=crawl_time(rows[i].get("crawled_at")))
                for i in g] for g in groups]
    details = _group_details(members, recipe) if rule.keep == "quality" else [{} for _ in members]
    for group, measured in zip(members, details, strict=True):
        if rule.keep == "quality":
            winner, why = choose(group, measured, rule.upscale_detail, rule.min_detail)
        else:
            winner, why = 0, {i: "a later input" for i in range(1, len(group))}
        keep = rows[group[winner].order]
        for i, member in enumerate(group):
            row = rows[member.order]
            row["dup_group"] = keep["id"]
            if row is not keep:
                row.update(status="duplicate", reason="near_duplicate", duplicate_of=keep["id"],
                           detail=f"looks like {keep['source_path']}, which is kept: this one is {why[i]}")


def _group_details(groups: list[list[Member]], recipe: Recipe) -> list[dict[tuple[int, Size], float | None]]:
    """Per group, the detail measurements its keep rule needs (ffmpeg runs in threads)."""
    jobs = [(g, i, size) for g, group in enumerate(groups) for i, size in measurements(group)]
    frames, timeout = recipe.dedupe.detail_frames, recipe.analyse.timeout_s

    def measure(job: tuple[int, int, Size]) -> float | None:
        g, i, size = job
        member = groups[g][i]
        return frame_detail(member.path, size, member.duration_s, frames, timeout)

    found: list[dict[tuple[int, Size], float | None]] = [{} for _ in groups]
    with ThreadPoolExecutor(recipe.workers or None) as pool:
        for (g, i, size), value in zip(jobs, pool.map(measure, jobs), strict=True):
            found[g][(i, size)] = value
    return found


def _drop_unreferenced(out: Path, before: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    """Deletes derived files of rows that became duplicates, unless a kept row shares them."""
    live = {r.get(k) for r in rows if r["status"] == "kept" for k in DERIVED}
    for row in before:
        for key in DERIVED:
            rel = row.get(key)
            if rel and rel not in live:
                (out / rel).unlink(missing_ok=True)


def finalise(out: Path, tasks: list[dict[str, Any]], results: dict[int, dict[str, Any]], recipe: Recipe) -> list[dict]:
    """Final rows in input order: per-video results, near-duplicate groups applied, then exact copies,
    so that every `duplicate_of` names the kept row of its group."""
    rows: list[dict[str, Any] | None] = [None if "copy_of" in t else dict(results[t["index"]]) for t in tasks]
    if recipe.dedupe.near:
        before = [dict(r) for r in rows if r is not None and r["status"] == "kept"]
        _near_dedupe(rows, [t["path"] for t in tasks], recipe)
        for row in rows:
            if row is not None and row["status"] == "duplicate" and row.get("reason") == "near_duplicate":
                for key in DERIVED:
                    row[key] = None
        _drop_unreferenced(out, before, [r for r in rows if r is not None])
    for task in tasks:  # an exact copy joins its original's group
        if "copy_of" in task:
            original = rows[task["copy_of"]]
            original["dup_group"] = original.get("dup_group") or original["id"]
            rows[task["index"]] = _copy_row(task, original)
    return rows  # type: ignore[return-value]


def run_clean(source: Path | str, out: Path | str, recipe: Recipe, *, executor: Executor | None = None,
              progress: Callable[[int], None] | None = None,
              on_total: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Clean everything under `source` into `out`; resumes finished shards; returns the run summary."""
    started = time.time()
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    executor = executor or LocalExecutor(recipe.workers)
    videos = [v for v in discover(source) if not _inside(v.path, out)]
    tasks = plan(videos)
    if not recipe.dedupe.exact:
        for task in tasks:
            task.pop("copy_of", None)
    digest = hashlib.sha256(json.dumps([recipe.digest()] + [[t["source_path"], t["sha256"]] for t in tasks],
                                       sort_keys=True).encode()).hexdigest()[:16]
    work = out / WORK_DIR / digest
    todo = [t for t in tasks if "copy_of" not in t]
    shards = [todo[i:i + recipe.shard_size] for i in range(0, len(todo), recipe.shard_size)]
    done = {int(p.stem.split("-")[1]) for p in complete_shards(work, "videos")} if work.exists() else set()
    if on_total:
        on_total(sum(len(s) for i, s in enumerate(shards) if i not in done))
    results: dict[int, dict[str, Any]] = {}
    for index in sorted(done):
        for row in read_rows(work / f"videos-{index:05d}.jsonl"):
            results[row["_index"]] = row
    pending = [(i, s) for i, s in enumerate(shards) if i not in done]
    shard_of = {t["index"]: i for i, s in pending for t in s}
    waiting = {i: len(s) for i, s in pending}
    recipe_json = recipe.model_dump(mode="json")
    flat = [t for _, s in pending for t in s]
    shard_started = time.time()
    for row in executor.run(clean_one, flat, recipe_json, str(out), crashed=crashed_row):
        index = row["_index"]
        results[index] = row
        shard = shard_of[index]
        waiting[shard] -= 1
        if progress:
            progress(1)
        if waiting[shard] == 0:
            rows = [results[t["index"]] for t in shards[shard]]
            write_shard(work, "videos", shard, rows, shard_stats(rows, shard_started))
    for row in results.values():
        row.pop("_index", None)
    rows = finalise(out, tasks, results, recipe)
    return write_outputs(out, rows, recipe, started, executor.name, len(done))


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder)
    except OSError:
        return False
