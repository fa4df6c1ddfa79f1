"""Bringing work in: import kept videos from a clean manifest (and gold items), distribute them to groups."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from annotation_app.models import QualificationItem, Sample
from annotation_app.services import audit, people, seats
from core.errors import ConfigError, InvalidRequest
from core.manifest import SHARD_SUFFIX, complete_shards, read_rows
from core.records import CleanVideo
from core.taxonomy import Category


@dataclass
class ImportReport:
    """Counts of one import: rows read, samples added, and skipped rows by reason."""

    rows: int = 0
    imported: int = 0
    gold: int = 0
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def read_gold(path: Path | str) -> dict[str, str]:
    """Gold labels from a CSV with an `id` (or `sample_id`) and a `category` column."""
    with Path(path).open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    gold = {}
    for line, row in enumerate(rows, start=2):
        key = (row.get("id") or row.get("sample_id") or "").strip()
        try:
            gold[key] = Category.parse(row.get("category") or "").value
        except ValueError as exc:
            raise ConfigError(f"gold labels {path} line {line}: {exc}") from None
    return gold


class _OutsideRoots(ValueError):
    """A media path that leads (directly, by `..` or through a symlink) outside the allowed folders."""


def _media(path: str | None, bases: list[Path], roots: list[Path]) -> str | None:
    """An absolute, symlink-free media path inside one of `roots`; relative paths are resolved against
    the first base folder holding the file. Raises _OutsideRoots for anything else: a manifest from
    elsewhere must not make the app serve /etc/passwd or a home folder to annotators."""
    if not path:
        return None
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = next((b / candidate for b in bases if (b / candidate).exists()), bases[0] / candidate)
    resolved = candidate.resolve()
    if not any(resolved.is_relative_to(root) for root in roots):
        raise _OutsideRoots(path)
    return str(resolved)


def media_root(folder: Path) -> Path:
    """The folder a manifest's media must lie in, given the manifest's folder: the run folder (the
    parent of a `manifest/` folder), else that folder itself."""
    return (folder.parent if folder.name == "manifest" else folder).resolve()


SEARCH_DEPTH = 4  # folders below the data folder looked into for manifests
SKIPPED_FOLDERS = {"media", "backups", "exports", "__pycache__"}


def _walk(root: Path):
    """(folder, its plain files) under `root`, at most SEARCH_DEPTH folders down; hidden, media and backup
    folders and symbolic links are skipped (a link could lead anywhere)."""
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        depth = len(here.relative_to(root).parts)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_FOLDERS
                         and depth < SEARCH_DEPTH and not (here / d).is_symlink())
        yield here, sorted(f for f in files if not f.startswith(".") and not (here / f).is_symlink())


def offered_manifests(data_dir: Path | str) -> list[str]:
    """Manifests an admin may import from the browser: JSONL files and folders of complete shards under
    `data_dir` (see `_walk`), as paths relative to `data_dir` with '/' separators, in name order."""
    root = Path(data_dir).resolve()
    found: list[str] = []
    for here, files in _walk(root) if root.is_dir() else ():
        if complete_shards(here):
            found.append(here.relative_to(root).as_posix() or ".")
            continue  # its shards are offered as the folder
        found.extend((here / f).relative_to(root).as_posix() for f in files if f.endswith(SHARD_SUFFIX))
    return sorted(found)


def offered_gold_files(data_dir: Path | str) -> list[str]:
    """CSV files under `data_dir` (see `_walk`) an admin may give as gold labels, relative, in name order."""
    root = Path(data_dir).resolve()
    return sorted((here / f).relative_to(root).as_posix() for here, files in (_walk(root) if root.is_dir() else ())
                  for f in files if f.endswith(".csv"))


def offered_manifest(data_dir: Path | str, choice: str) -> Path:
    """The manifest `choice` names, if `offered_manifests` offers it; anything else (another folder, `..`,
    an absolute path) is refused with InvalidRequest 'manifest_not_offered'."""
    if choice not in offered_manifests(data_dir):
        raise InvalidRequest(f"{choice!r} is not one of the manifests in the data folder", code="manifest_not_offered",
                             remedy="choose one of the listed manifests")
    return Path(data_dir).resolve() / choice


def import_offered(session: Session, data_dir: Path | str, choice: str, *, gold_choice: str = "",
                   actor_id: int | None = None) -> ImportReport:
    """`import_manifest` of a manifest `offered_manifests` lists, with gold labels from a CSV file
    `offered_gold_files` lists (anything else is refused). A manifest that is not JSON Lines is refused as
    'manifest_unreadable', a gold file with an unknown category as 'gold_unreadable'; nothing is imported then."""
    path = offered_manifest(data_dir, choice)
    gold = None
    if gold_choice:
        if gold_choice not in offered_gold_files(data_dir):
            raise InvalidRequest(f"{gold_choice!r} is not one of the CSV files in the data folder",
                                 code="gold_not_offered", remedy="choose one of the listed files")
        try:
            gold = read_gold(Path(data_dir).resolve() / gold_choice)
        except (ConfigError, ValueError, UnicodeDecodeError) as exc:
            raise InvalidRequest(f"cannot read gold labels {gold_choice}: {exc}", code="gold_unreadable") from None
    try:
        return import_manifest(session, path, gold=gold, actor_id=actor_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"cannot read {choice}: {exc}", code="manifest_unreadable") from None


def import_manifest(session: Session, source: Path | str, *, gold: dict[str, str] | None = None,
                    actor_id: int | None = None, media_roots: list[Path] | None = None) -> ImportReport:
    """Add every `kept` row of a clean manifest as a sample: a JSONL file, a folder of shards, or a clean
    run's output folder (its `manifest/` shards).

    Rows already imported, not kept, or without a web MP4 are skipped and counted. Relative media
    paths are resolved against the run folder (or the manifest's folder). Media must lie inside that
    folder or one of `media_roots`; rows whose web MP4 or poster lead elsewhere are skipped as
    `media_outside_root`. Ids in `gold` become qualification items.
    """
    source = Path(source)
    if not source.exists():
        raise ConfigError(f"manifest {source} does not exist")
    folder = source if source.is_dir() else source.parent
    if source.is_dir() and (source / "manifest").is_dir():  # a clean run's output folder
        source = source / "manifest"
    root = media_root(folder)
    bases = list(dict.fromkeys([folder, root]))  # media paths are relative to the manifest's folder or the run's
    roots = [root, *(Path(r).resolve() for r in media_roots or [])]
    proj = people.project(session)
    seq = session.scalar(select(func.max(Sample.seq))) or 0
    known = set(session.scalars(select(Sample.id)))
    report = ImportReport()
    gold = gold or {}
    for row in read_rows(source):
        report.rows += 1
        try:
            video = CleanVideo.model_validate(row)
        except ValidationError:
            report.skip("invalid_row")
            continue
        if video.status != "kept":
            report.skip(video.status)
            continue
        if video.id in known:
            report.skip("already_imported")
            continue
        try:
            media, poster = _media(video.web_mp4, bases, roots), _media(video.poster, bases, roots)
        except _OutsideRoots:
            report.skip("media_outside_root")
            continue
        if media is None:
            report.skip("no_web_mp4")
            continue
        seq += 1
        kind = "gold" if video.id in gold else "task"
        session.add(Sample(id=video.id, project_id=proj.id, seq=seq, kind=kind, media_path=media,
                           poster_path=poster, duration_s=video.duration_s,
                           platform=video.platform, source_path=video.source_path))
        known.add(video.id)
        if kind == "gold":
            session.flush()
            session.add(QualificationItem(sample_id=video.id, gold_category=gold[video.id]))
            report.gold += 1
        report.imported += 1
    session.flush()
    audit.record(session, actor_id, "samples.imported", "project", proj.id, source=str(source),
                 imported=report.imported, gold=report.gold, skipped=report.skipped)
    return report


def distribute(session: Session, batch_size: int, *, group_names: list[str] | None = None,
               limit: int | None = None, actor_id: int | None = None,
               members_per_sample: int = 3) -> dict[str, int]:
    """Deal undistributed task samples to groups in batches of `batch_size`, round-robin, in import order;
    each dealt sample gets the `members_per_sample` seats of its member rung."""
    if batch_size < 1:
        raise InvalidRequest("batch size must be at least 1")
    rows = people.groups(session)
    if group_names:
        rows = [people.group_by_name(session, n) for n in group_names]
    if not rows:
        raise InvalidRequest("no groups yet", remedy="run `emotions app form-groups` or create groups first",
                             code="no_groups")
    query = select(Sample).where(Sample.kind == "task", Sample.group_id.is_(None)).order_by(Sample.seq)
    if limit is not None:
        query = query.limit(limit)
    pending = list(session.scalars(query))
    next_batch = (session.scalar(select(func.max(Sample.batch))) or 0) + 1
    dealt = {g.name: 0 for g in rows}
    for index in range(0, len(pending), batch_size):
        group = rows[(index // batch_size) % len(rows)]
        for sample in pending[index:index + batch_size]:
            sample.group_id, sample.batch = group.id, next_batch
            seats.open_rung(session, sample, "member", seats.rung_size("member", members_per_sample))
            dealt[group.name] += 1
        next_batch += 1
    session.flush()
    if session.get_bind().dialect.name == "postgresql":  # fresh statistics, so the queue's plans use its indexes
        session.execute(text("ANALYZE samples, seats"))
    audit.record(session, actor_id, "samples.distributed", "project", "default", batch_size=batch_size,
                 dealt=dealt)
    return dealt
