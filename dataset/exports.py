"""Files of one variant: manifests, media tree (HF folder layout), URL list, WebDataset shards, SHA256SUMS."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from core.manifest import atomic_write_bytes, file_sha256
from dataset.vocab import EMOTIONS, Vocabulary

# Manifest columns in output order; label-file columns not listed here are appended after them.
CORE_COLUMNS = ("sample_id", "category", "label", "polarity", "split", "duration_s", "platform", "platform_id",
                "group", "member_votes", "confidence_mean", "decided_stage", "media", "poster", "frames", "mfcc")
# Columns used while building that never reach the manifest (absolute source paths, row pointers).
INTERNAL = ("_row", "web_mp4", "src_poster", "src_frames", "src_mfcc", "page_url", "url")
CACHE_KINDS = ("poster", "frames", "mfcc")


_HEX64 = re.compile(r"[0-9a-f]{64}")


def content_address(path: str) -> str | None:
    """The sha256 a content-addressed file carries in its name (`<aa>/<sha256>.<ext>`), else None.

    The clean stage stores derived files under their own hash, so their checksum need not be recomputed;
    `sha256sum -c SHA256SUMS` still detects a file changed after cleaning.
    """
    stem = os.path.basename(path).split(".", 1)[0]
    if _HEX64.fullmatch(stem) and os.path.basename(os.path.dirname(path)) == stem[:2]:
        return stem
    return None


class Writer:
    """Writes the files of one folder and remembers each file's SHA-256 (sources hashed once)."""

    def __init__(self, root: Path, media_mode: str, source_digests: dict[str, str] | None = None,
                 trust_names: bool = True) -> None:
        self.root = root
        self.media_mode = media_mode
        self.trust_names = trust_names
        self.sums: dict[str, str] = {}
        self._source_digests = source_digests if source_digests is not None else {}
        self._made: set[str] = set()

    def write(self, rel: str, data: bytes) -> None:
        os.chmod(atomic_write_bytes(self.root / rel, data), 0o644)
        self.sums[rel] = hashlib.sha256(data).hexdigest()

    def text(self, rel: str, text: str) -> None:
        self.write(rel, text.encode("utf-8"))

    def place(self, rel: str, src: Path | str) -> None:
        """Hard-link (or copy) a file or a folder tree to `rel`."""
        key = os.fspath(src)
        digest = self._source_digests.get(key)
        if key.endswith("/"):
            for child in sorted(Path(key).rglob("*")):
                if child.is_file():
                    self.place(f"{rel}/{child.relative_to(key).as_posix()}", child)
            return
        dst = os.path.join(self.root, rel)
        parent = os.path.dirname(dst)
        if parent not in self._made:
            os.makedirs(parent, exist_ok=True)
            self._made.add(parent)
        if self.media_mode == "link":
            try:
                os.link(key, dst)
            except OSError:  # another device or a file system without hard links
                shutil.copyfile(key, dst)
        else:
            shutil.copyfile(key, dst)
        if digest is None:
            digest = (self.trust_names and content_address(key)) or file_sha256(Path(key))
            self._source_digests[key] = digest
        self.sums[rel] = digest

    def record(self, rel: str) -> None:
        """Checksum a file written directly (e.g. a tar shard)."""
        self.sums[rel] = file_sha256(self.root / rel)

    def write_sums(self) -> None:
        lines = "".join(f"{digest}  {rel}\n" for rel, digest in sorted(self.sums.items()))
        os.chmod(atomic_write_bytes(self.root / "SHA256SUMS", lines.encode("utf-8")), 0o644)


def _suffix(path: str) -> str:
    return "" if path.endswith("/") else os.path.splitext(path)[1]


def layout(table: pd.DataFrame, with_media: bool) -> pd.DataFrame:
    """Add relative output paths: media under data/<split>/, cache files under cache/<kind>/."""
    out = table.copy()
    ids = out["sample_id"].astype(str).tolist()
    splits = out["split"].astype(str).tolist()
    out["media"] = [
        f"data/{s}/{i}{_suffix(src)}" if with_media and isinstance(src, str) else None
        for i, s, src in zip(ids, splits, out["web_mp4"].tolist(), strict=True)
    ]
    for kind in CACHE_KINDS:
        src_col = f"src_{kind}"
        out[src_col] = out[kind]
        out[kind] = [
            f"cache/{kind}/{i}{_suffix(src)}" if with_media and isinstance(src, str) else None
            for i, src in zip(ids, out[src_col].tolist(), strict=True)
        ]
    return out


def manifest_frame(table: pd.DataFrame, vocab: Vocabulary = EMOTIONS) -> pd.DataFrame:
    """The public manifest: core columns first (all present), then carried label columns; sorted by id."""
    out = table.copy()
    out["label"] = out["category"].map(vocab.index())
    out["polarity"] = out["category"].map(dict(vocab.polarity))
    for col in CORE_COLUMNS:
        if col not in out.columns:
            out[col] = None
    extra = [c for c in out.columns if c not in CORE_COLUMNS and c not in INTERNAL and not c.startswith("_")
             and c not in ("fps", "width", "height", "has_audio", "n_frames")]
    meta = [c for c in ("fps", "width", "height", "has_audio", "n_frames") if c in out.columns]
    out = out[[*CORE_COLUMNS, *meta, *extra]].sort_values("sample_id", kind="stable").reset_index(drop=True)
    out["label"] = out["label"].astype("int64")
    for col in ("duration_s", "confidence_mean"):
        out[col] = pd.to_numeric(out[col], errors="coerce")
    return out


def hf_features(vocab: Vocabulary = EMOTIONS) -> dict[str, Any]:
    """Hugging Face `datasets` features of the Parquet files: `label` is a ClassLabel over the vocabulary.

    Written into the Parquet schema metadata (key `huggingface`), where `datasets` looks for features;
    columns not named here keep the type `datasets` derives from their Arrow type.
    """
    return {"label": {"_type": "ClassLabel", "names": list(vocab.names)}}


def parquet_bytes(frame: pd.DataFrame, features: dict[str, Any] | None = None) -> bytes:
    """`frame` as zstd Parquet; `features` (see `hf_features`) go into the schema metadata for `datasets`."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types in a carried column: keep them as text
        fixed = frame.copy()
        for col in fixed.columns:
            if fixed[col].dtype == object:
                fixed[col] = fixed[col].map(lambda v: None if v is None else str(v))
        table = pa.Table.from_pandas(fixed, preserve_index=False)
    if features:
        info = json.dumps({"info": {"features": features}}, sort_keys=True).encode()
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"huggingface": info})
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def csv_text(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


def write_manifests(writer: Writer, manifest: pd.DataFrame, vocab: Vocabulary = EMOTIONS) -> None:
    """manifest.parquet (label as a ClassLabel for `datasets`), manifest.csv and splits/<split>.txt (ids, sorted)."""
    writer.write("manifest.parquet", parquet_bytes(manifest, hf_features(vocab)))
    writer.text("manifest.csv", csv_text(manifest))
    for split, rows in manifest.groupby("split", sort=True):
        writer.text(f"splits/{split}.txt", "".join(f"{i}\n" for i in sorted(rows["sample_id"])))


def write_media(writer: Writer, built: pd.DataFrame) -> int:
    """Link or copy media and training-cache files to their relative paths; returns files placed."""
    placed = 0
    for kind, src_kind in (("media", "web_mp4"), *((k, f"src_{k}") for k in CACHE_KINDS)):
        for rel, src in zip(built[kind].tolist(), built[src_kind].tolist(), strict=True):
            if isinstance(rel, str) and isinstance(src, str):
                writer.place(rel, src)
                placed += 1
    return placed


def write_hf_metadata(writer: Writer, manifest: pd.DataFrame, vocab: Vocabulary = EMOTIONS) -> list[str]:
    """data/<split>/metadata.parquet in the Hugging Face folder layout (file_name next to the metadata file).

    `label` is the class index and reads as a ClassLabel over the vocabulary's names (class-index order)
    with `load_dataset("videofolder", data_dir=...)`; `category` holds the name.
    """
    written = []
    for split, rows in manifest.groupby("split", sort=True):
        meta = pd.DataFrame({
            "sample_id": rows["sample_id"],
            "category": rows["category"],
            "label": rows["label"].astype("int64"),
            "polarity": rows["polarity"],
            "duration_s": rows["duration_s"],
            "platform": rows["platform"],
        })
        if rows["media"].notna().any():
            meta.insert(0, "file_name", [Path(m).name if isinstance(m, str) else None for m in rows["media"]])
        rel = f"data/{split}/metadata.parquet"
        writer.write(rel, parquet_bytes(meta.reset_index(drop=True), hf_features(vocab)))
        written.append(rel)
    return written


def write_urls(writer: Writer, built: pd.DataFrame, manifest: pd.DataFrame) -> int:
    """urls.csv (Kinetics-style): platform ids, page URLs and labels, no media.

    Returns the number of rows with neither a URL nor a platform + platform_id to fetch the video by.
    """
    url = built["url"] if "url" in built.columns else pd.Series(None, index=built.index)
    page = built["page_url"] if "page_url" in built.columns else pd.Series(None, index=built.index)
    url = url.where(url.notna() & url.astype(str).str.strip().ne(""), page)
    by_id = dict(zip(built["sample_id"], url, strict=True))
    frame = pd.DataFrame({
        "sample_id": manifest["sample_id"],
        "platform": manifest["platform"],
        "platform_id": manifest["platform_id"],
        "url": [by_id.get(i) for i in manifest["sample_id"]],
        "category": manifest["category"],
        "label": manifest["label"],
        "split": manifest["split"],
    })
    writer.text("urls.csv", csv_text(frame))

    def filled(col: str) -> pd.Series:
        return frame[col].notna() & frame[col].astype("string").fillna("").str.strip().ne("")

    return int((~(filled("url") | (filled("platform") & filled("platform_id")))).sum())


def _tar_member(tar: tarfile.TarFile, name: str, data: bytes | None = None, path: Path | None = None) -> None:
    info = tarfile.TarInfo(name)
    info.mtime, info.uid, info.gid, info.uname, info.gname, info.mode = 0, 0, 0, "", "", 0o644
    if path is not None:
        info.size = path.stat().st_size
        with path.open("rb") as handle:
            tar.addfile(info, handle)
    else:
        payload = data or b""
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))


def _sample_files(row: Any, root: Path) -> Iterable[tuple[str, Path]]:
    sid = row.sample_id
    if isinstance(row.media, str):
        yield f"{sid}{Path(row.media).suffix}", root / row.media
    for kind in ("mfcc", "frames"):
        rel = getattr(row, kind)
        if not isinstance(rel, str):
            continue
        path = root / rel
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file():
                    yield f"{sid}.{kind}.{child.relative_to(path).as_posix().replace('/', '_')}", child
        else:
            yield f"{sid}.{kind}{path.suffix}", path


def write_webdataset(writer: Writer, manifest: pd.DataFrame, shard_size: int) -> list[str]:
    """wds/<split>-NNNNN.tar: per sample a .json label record plus media and training-cache members."""
    shards = []
    for split, rows in manifest.groupby("split", sort=True):
        rows = rows.sort_values("sample_id")
        for index, start in enumerate(range(0, len(rows), shard_size)):
            rel = f"wds/{split}-{index:05d}.tar"
            path = writer.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
                for row in rows.iloc[start:start + shard_size].itertuples(index=False):
                    record = {"sample_id": row.sample_id, "category": row.category, "label": int(row.label),
                              "polarity": row.polarity, "split": row.split}
                    _tar_member(tar, f"{row.sample_id}.json", json.dumps(record, sort_keys=True).encode())
                    for name, src in _sample_files(row, writer.root):
                        _tar_member(tar, name, path=src)
            writer.record(rel)
            shards.append(rel)
    return shards
