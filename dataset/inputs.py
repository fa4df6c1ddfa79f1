"""Reading and checking the build inputs: the final-labels table and the clean manifest, joined into one table."""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import ConfigError
from core.manifest import read_rows
from dataset.vocab import EMOTIONS, Vocabulary

# Other spellings accepted for the two required columns (the app exports `final_category`).
LABEL_ALIASES = {"id": "sample_id", "item": "sample_id", "final_category": "category", "label": "category"}
RESOLVED, OPEN, EXCLUDED = "resolved", "open", "excluded"
STATUS_ALIASES = {"resolved": RESOLVED, "final": RESOLVED, "open": OPEN, "unresolved": OPEN, "pending": OPEN,
                  "excluded": EXCLUDED, "rejected": EXCLUDED}
# Clean-manifest columns naming a near-duplicate group (the first present is used).
GROUP_COLUMNS = ("near_dup_group", "dup_group", "duplicate_group", "group_id")
MEDIA_COLUMNS = ("web_mp4", "poster", "frames", "mfcc")
# how cleaning made the training cache (frame rate taken, its cap, short side): the model checks them
CACHE_POLICY_COLUMNS = ("cache_fps", "cache_max_fps", "cache_short_side")


@dataclass
class Labels:
    """The resolved labels (one row per sample) and what was left out, by reason."""

    table: pd.DataFrame
    source: str
    left_out: dict[str, int] = field(default_factory=dict)


def _read_any(path: Path, what: str) -> pd.DataFrame:
    where = str(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types for a bad file
            raise ConfigError(f"{what} {where}: not a readable Parquet file ({exc})") from None
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{what} {where}: cannot read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{what} {where} line {line}: not UTF-8", remedy="save the file as UTF-8") from None
    if not text.strip():
        raise ConfigError(f"{what} {where}: empty file", remedy="expected a header with sample_id,category")
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        detail = str(exc).strip().splitlines()[-1].split("C error: ")[-1]
        raise ConfigError(f"{what} {where}: malformed CSV: {detail}") from None


def _row_name(frame: pd.DataFrame, position: int) -> str:
    """How to point at a row: the CSV line (header is line 1) or the Parquet row number."""
    if frame.attrs.get("csv"):
        return f"line {position + 2}"
    return f"row {position + 1}"


def read_labels(path: Path | str, vocab: Vocabulary = EMOTIONS) -> Labels:
    """Read final labels (CSV or Parquet: sample_id, category[, status, ...]) and keep the resolved ones.

    Unresolved (`status` open, or empty category) and excluded rows are left out and counted. Raises
    ConfigError naming the first offending row for a blank id, an unknown category or status, or an id
    given twice. Other columns are carried along unchanged.
    """
    src = Path(path)
    where = str(src)
    frame = _read_any(src, "labels file")
    frame.attrs["csv"] = src.suffix.lower() not in (".parquet", ".pq")
    frame.columns = [str(c).strip() for c in frame.columns]
    renames = {k: v for k, v in LABEL_ALIASES.items() if k in frame.columns and v not in frame.columns}
    frame = frame.rename(columns=renames)
    missing = [c for c in ("sample_id", "category") if c not in frame.columns]
    if missing:
        raise ConfigError(
            f"labels file {where}: missing column(s) {', '.join(missing)} (found: {', '.join(frame.columns)})",
            remedy="the header must include sample_id,category",
        )
    if frame.empty:
        raise ConfigError(f"labels file {where}: no data rows")
    ids = frame["sample_id"].astype("string").fillna("").str.strip()
    blank = ids.eq("")
    if blank.any():
        raise ConfigError(f"labels file {where} {_row_name(frame, _first(blank))}: empty sample_id")
    dup = ids.duplicated(keep="first")
    if dup.any():
        pos = _first(dup)
        earlier = _first(ids.eq(ids.iloc[pos]))
        raise ConfigError(
            f"labels file {where} {_row_name(frame, pos)}: sample_id {ids.iloc[pos]!r} repeats "
            f"{_row_name(frame, earlier)}",
            remedy="give each sample one final label",
        )
    raw_cat = frame["category"].astype("string").fillna("").str.strip()
    canon = raw_cat.str.lower().map(vocab.keys())
    unknown = raw_cat.ne("") & canon.isna()
    if unknown.any():
        pos = _first(unknown)
        raise ConfigError(
            f"labels file {where} {_row_name(frame, pos)}: unknown category {raw_cat.iloc[pos]!r}",
            remedy="known: " + ", ".join(vocab.names),
        )
    if "status" in frame.columns:
        raw_status = frame["status"].astype("string").fillna("").str.strip().str.lower()
        status = raw_status.map(STATUS_ALIASES)
        status = status.where(raw_status.ne(""), RESOLVED)
        bad = status.isna()
        if bad.any():
            pos = _first(bad)
            raise ConfigError(
                f"labels file {where} {_row_name(frame, pos)}: unknown status {raw_status.iloc[pos]!r}",
                remedy="use resolved, open or excluded",
            )
    else:
        status = pd.Series(RESOLVED, index=frame.index)
    status = status.where(~(status.eq(RESOLVED) & canon.isna()), OPEN)
    left_out = {"unresolved": int(status.eq(OPEN).sum()), "excluded": int(status.eq(EXCLUDED).sum())}
    keep = status.eq(RESOLVED).to_numpy()
    table = frame.loc[keep].copy()
    table["sample_id"] = ids[keep].astype(str).to_numpy()
    table["category"] = canon[keep].astype(str).to_numpy()
    table = table.drop(columns=[c for c in ("status",) if c in table.columns])
    table["_row"] = [_row_name(frame, int(p)) for p in np.flatnonzero(keep)]
    return Labels(table=table.reset_index(drop=True), source=where, left_out=left_out)


def _first(mask: pd.Series) -> int:
    return int(np.flatnonzero(mask.to_numpy())[0])


def manifest_files(path: Path | str) -> list[Path]:
    """The files a clean manifest consists of (a JSONL/Parquet file, or a folder of complete shards)."""
    src = Path(path)
    if src.is_file():
        return [src]
    from core.manifest import complete_shards

    files = complete_shards(src) or sorted(src.glob("*.parquet"))
    if not files:  # the shards may sit one folder down (e.g. <clean>/manifest/)
        for sub in sorted(p for p in src.iterdir() if p.is_dir()):
            files = complete_shards(sub)
            if files:
                break
    return files


def read_clean(path: Path | str) -> pd.DataFrame:
    """All rows of a clean manifest (JSONL shards folder, one JSONL file or a Parquet file), with a `group` column.

    `group` names the near-duplicate group of each row: the union of `duplicate_of` links and of a
    group-id column when cleaning writes one; a row without either is its own group.
    """
    src = Path(path)
    where = str(src)
    if not src.exists():
        raise ConfigError(f"clean manifest {where}: not found", remedy="run `emotions clean run` or pass --clean")
    files = manifest_files(src)
    if not files:
        raise ConfigError(f"clean manifest {where}: no complete shard found", remedy="run the clean stage first")
    rows: list[dict] = []
    try:
        for file in files:
            if file.suffix.lower() in (".parquet", ".pq"):
                rows.extend(pd.read_parquet(file).to_dict("records"))
            else:
                rows.extend(read_rows(file))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"clean manifest {where}: malformed row ({exc})") from None
    frame = pd.DataFrame(rows)
    for col in ("id", "status"):
        if col not in frame.columns:
            raise ConfigError(f"clean manifest {where}: rows have no {col!r} field")
    for col in ("duplicate_of", "platform", "duration_s", "fps", *MEDIA_COLUMNS):
        if col not in frame.columns:
            frame[col] = None
    frame["id"] = frame["id"].astype(str)
    frame["group"] = leakage_groups(frame)
    frame.attrs["source"] = where
    return frame


def leakage_groups(frame: pd.DataFrame) -> list[str]:
    """Group name per row (the smallest id of its group): rows that must share a split (union-find over
    `duplicate_of` and the group columns). Finding near-duplicates is cleaning's job (`cleaning.dedupe`)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    ids = frame["id"].tolist()
    for a, b in zip(ids, frame["duplicate_of"].tolist(), strict=True):
        if isinstance(b, str) and b:
            union(a, b)
    column = next((c for c in GROUP_COLUMNS if c in frame.columns), None)
    if column is not None:
        first_of: dict[str, str] = {}
        for a, g in zip(ids, frame[column].tolist(), strict=True):
            if g is None or (isinstance(g, float) and np.isnan(g)) or g == "":
                continue
            key = str(g)
            if key in first_of:
                union(first_of[key], a)
            else:
                first_of[key] = a
    return [find(a) for a in ids]


def join(labels: Labels, clean: pd.DataFrame, *, include_duplicates: bool = False) -> tuple[pd.DataFrame, dict]:
    """Resolved labels joined with their clean rows; returns the table and the left-out counts.

    A label whose sample is not in the manifest is refused (ConfigError with the first offending row);
    labels of samples cleaning rejected (or marked duplicate, unless `include_duplicates`) are left out
    and counted.
    """
    left_out = dict(labels.left_out)
    rank = clean["status"].map({"kept": 0, "duplicate": 1}).fillna(2)
    # A content id can appear twice (an exact duplicate row); the kept row wins.
    by_id = clean.assign(_rank=rank).sort_values(["id", "_rank"], kind="stable").drop_duplicates("id")
    by_id = by_id.set_index("id")
    table = labels.table
    known = table["sample_id"].isin(by_id.index)
    if not known.all():
        pos = _first(~known)
        row = table.iloc[pos]
        raise ConfigError(
            f"labels file {labels.source} {row['_row']}: sample_id {row['sample_id']!r} is not in the clean "
            f"manifest {clean.attrs.get('source', '')}".rstrip(),
            remedy="check that --labels and --clean belong to the same project",
        )
    status = by_id.loc[table["sample_id"], "status"].to_numpy()
    allowed = {"kept", "duplicate"} if include_duplicates else {"kept"}
    ok = np.isin(status, list(allowed))
    for reason in sorted(set(status[~ok])):
        left_out[f"clean_{reason}"] = int((status[~ok] == reason).sum())
    table = table.loc[ok].reset_index(drop=True)
    meta = by_id.loc[table["sample_id"]].reset_index()
    keep_meta = ["group", "duration_s", "platform", "fps", "width", "height", "has_audio", "n_frames",
                 "platform_id", "page_url", "hashtags", *MEDIA_COLUMNS, *CACHE_POLICY_COLUMNS]
    for col in keep_meta:
        if col not in meta.columns:
            continue
        if col not in table.columns:
            table[col] = meta[col].to_numpy()
        else:  # a value in the labels file wins; empty cells are filled from the manifest
            given = table[col].notna() & table[col].astype(str).str.strip().ne("")
            table[col] = table[col].where(given, meta[col].to_numpy())
    table["duration_s"] = pd.to_numeric(table.get("duration_s"), errors="coerce")
    return table, left_out


def _filled(table: pd.DataFrame, column: str) -> pd.Series:
    """True where `column` holds a non-blank value (all False when the column is absent)."""
    if column not in table.columns:
        return pd.Series(False, index=table.index)
    return table[column].notna() & table[column].astype("string").fillna("").str.strip().ne("")


def labels_alone(labels: Labels) -> pd.DataFrame:
    """The build table from the labels alone, for a URL list without a clean manifest (Kinetics-style).

    Each resolved row needs a `url` (or `page_url`), or both `platform` and `platform_id`: ConfigError names
    the file when it has none of these columns, else the first row without a locator. A `group` column keeps
    near-duplicates in one split; without one every sample is its own group. `duration_s` is used when given.
    """
    table = labels.table.copy()
    columns = set(table.columns)
    if not ({"url", "page_url"} & columns or {"platform", "platform_id"} <= columns):
        raise ConfigError(
            f"labels file {labels.source}: a URL list without a clean manifest needs a url column, or platform "
            f"and platform_id columns (found: {', '.join(c for c in table.columns if not c.startswith('_'))})",
            remedy="add those columns, or pass --clean with the clean manifest")
    located = (_filled(table, "url") | _filled(table, "page_url")
               | (_filled(table, "platform") & _filled(table, "platform_id")))
    if not located.all():
        row = table.iloc[_first(~located)]
        raise ConfigError(
            f"labels file {labels.source} {row['_row']}: sample_id {row['sample_id']!r} has no url and no "
            "platform + platform_id", remedy="fill them in, or drop the row")
    if "group" in columns:
        table["group"] = table["group"].where(_filled(table, "group"), table["sample_id"]).astype(str)
    else:
        table["group"] = table["sample_id"]
    for col in ("platform", "platform_id", "duration_s", *MEDIA_COLUMNS):
        if col not in columns:
            table[col] = None
    table["duration_s"] = pd.to_numeric(table["duration_s"], errors="coerce")
    return table


def media_root(table: pd.DataFrame, clean_path: Path) -> Path:
    """The folder relative media paths start from: the clean folder, or the manifest's folder or its parent."""
    if clean_path.is_dir():
        candidates = [clean_path, clean_path.parent]
    else:
        candidates = [clean_path.parent, clean_path.parent.parent]
    for col in MEDIA_COLUMNS:
        if col not in table.columns:
            continue
        first = next((v for v in table[col].tolist() if isinstance(v, str) and v and not os.path.isabs(v)), None)
        if first is not None:
            return next((c for c in candidates if (c / first).exists()), candidates[0])
    return candidates[0]


def resolve_media(table: pd.DataFrame, root: Path) -> tuple[pd.DataFrame, list[str]]:
    """Absolute source paths of media/cache files (relative ones are under `root`); also the missing ones.

    Folders (a cache kept as a tree of files) come back with a trailing slash.
    """
    missing: list[str] = []
    base = os.fspath(root)
    out = table.copy()
    for col in MEDIA_COLUMNS:
        if col not in out.columns:
            out[col] = None
            continue
        paths = []
        for value in out[col].tolist():
            if not isinstance(value, str) or not value:
                paths.append(None)
                continue
            p = value if os.path.isabs(value) else os.path.join(base, value)
            if os.path.isdir(p):
                p = p.rstrip("/") + "/"  # a trailing slash marks a folder (a tree of cache files)
            elif not os.path.exists(p):
                missing.append(p)
            paths.append(p)
        out[col] = paths
    return out, missing


def vote_summary(votes_path: Path | str, vocab: Vocabulary = EMOTIONS) -> pd.DataFrame:
    """Per sample: member votes ('Category:n;...'), mean confidence and stage count, from a tidy votes table.

    The table needs sample_id and category; `stage` (member votes are stage 'member'/'1') and
    `confidence` are used when present.
    """
    frame = _read_any(Path(votes_path), "votes file")
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.rename(columns={k: v for k, v in {"item": "sample_id"}.items() if k in frame.columns})
    missing = [c for c in ("sample_id", "category") if c not in frame.columns]
    if missing:
        raise ConfigError(f"votes file {votes_path}: missing column(s) {', '.join(missing)}")
    if "stage" in frame.columns:
        frame = frame[frame["stage"].astype(str).str.strip().str.lower().isin({"member", "members", "1"})]
    cat = frame["category"].astype(str).str.strip().str.lower().map(vocab.keys())
    frame = frame.assign(category=cat).dropna(subset=["category"])
    counts = frame.groupby(["sample_id", "category"]).size().rename("n").reset_index()
    counts = counts.sort_values(["sample_id", "n", "category"], ascending=[True, False, True])
    summary = counts.groupby("sample_id", sort=True).apply(
        lambda g: ";".join(f"{c}:{n}" for c, n in zip(g["category"], g["n"], strict=True)), include_groups=False
    ).rename("member_votes")
    result = summary.to_frame()
    if "confidence" in frame.columns:
        conf = pd.to_numeric(frame["confidence"], errors="coerce")
        result["confidence_mean"] = conf.groupby(frame["sample_id"]).mean().round(4)
    return result.reset_index()
