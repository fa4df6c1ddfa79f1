"""The training cache, read side: per-video JPEG frame files and MFCC matrices (the clean stage writes them).

There is one writer: the clean stage's analyse + normalise steps (`model.prepare` runs it for predict and
tests). Format read by the trainer (model.md §3):
- frames file: the JPEG images of one video in time order, concatenated byte for byte (an MJPEG
  elementary stream, as `ffmpeg -f mjpeg` writes it); frames at the cache's rate, short side 128.
  Also accepted: a tar or zip of JPEG members (name order), a folder of .jpg files (name order),
  or an .npz with `data` (uint8 bytes) and `offsets` (int64, n_frames + 1), or the cleaning stage's
  frame pack (`EMOFRM01`, uint32 little-endian header length, JSON header with `offsets`, then the JPEGs).
- MFCC file: .npy (or .npz, first array) of shape [F, 32] (time-major; [32, F] is transposed),
  float16 or float32, librosa defaults at 44.1 kHz mono (n_fft 2048, hop 512, 128 mel bands).
"""

from __future__ import annotations

import json
import mmap
import re
import struct
import tarfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

SOI, EOI = b"\xff\xd8", b"\xff\xd9"
FRAME_PACK_MAGIC = b"EMOFRM01"
_BOUNDARY = re.compile(re.escape(EOI + SOI))
N_MFCC = 32


class CacheError(Exception):
    """A cache file is missing or unreadable; the message is the per-sample reason that gets logged."""


def split_jpeg_stream(blob: bytes | mmap.mmap) -> list[tuple[int, int]]:
    """(start, end) byte ranges of the JPEG images in a concatenated stream.

    Consecutive images meet as end-of-image immediately followed by start-of-image; byte stuffing
    keeps that pair out of entropy-coded data, so one C-level scan finds every boundary.
    """
    if blob[:2] != SOI:
        raise CacheError("frames file is not a JPEG stream")
    if blob[-2:] != EOI:
        raise CacheError("truncated JPEG stream (the last frame has no end marker)")
    cuts = [m.start() + 2 for m in _BOUNDARY.finditer(blob)]
    return list(zip([0, *cuts], [*cuts, len(blob)], strict=True))


class StreamFrames(Sequence[bytes]):
    """The frames of a concatenated JPEG stream, memory-mapped: only the frames asked for are copied."""

    def __init__(self, buffer: mmap.mmap | bytes, spans: list[tuple[int, int]]) -> None:
        self._buffer, self._spans = buffer, spans

    def __len__(self) -> int:
        return len(self._spans)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        start, end = self._spans[index]
        return bytes(self._buffer[start:end])


def read_jpeg_frames(path: str | Path) -> Sequence[bytes]:
    """The encoded frames of one video, in time order. Raises CacheError with a short reason."""
    file = Path(path)
    if file.is_dir():  # one JPEG per frame, name order (the official frame-folder layout)
        return [f.read_bytes() for f in sorted(file.iterdir()) if f.suffix.lower() in (".jpg", ".jpeg")]
    if not file.is_file():
        raise CacheError(f"frames file missing: {file}")
    try:
        if file.suffix == ".npz":
            with np.load(file) as z:
                data, offsets = z["data"], z["offsets"]
            raw = data.tobytes()
            return [raw[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]
        if file.suffix == ".tar":
            with tarfile.open(file) as tar:
                members = sorted((m for m in tar.getmembers() if m.isfile()), key=lambda m: m.name)
                return [tar.extractfile(m).read() for m in members]  # type: ignore[union-attr]
        if file.suffix == ".zip":
            with zipfile.ZipFile(file) as zf:
                return [zf.read(name) for name in sorted(zf.namelist()) if not name.endswith("/")]
        if file.stat().st_size == 0:
            raise CacheError(f"frames file is empty: {file.name}")
        with file.open("rb") as handle:
            blob = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        if blob[:8] == FRAME_PACK_MAGIC:
            return StreamFrames(blob, _frame_pack_spans(blob))
    except (OSError, KeyError, ValueError, tarfile.TarError, zipfile.BadZipFile, struct.error) as exc:
        raise CacheError(f"frames file unreadable: {file.name}: {exc}") from None
    return StreamFrames(blob, split_jpeg_stream(blob))


def _frame_pack_spans(blob: mmap.mmap) -> list[tuple[int, int]]:
    """Byte spans of the JPEGs in a frame pack (magic, header length, JSON header, data)."""
    (size,) = struct.unpack("<I", blob[8:12])
    header = json.loads(bytes(blob[12:12 + size]))
    base, offsets = 12 + size, header["offsets"]
    if len(offsets) != header["count"] + 1 or base + offsets[-1] > len(blob):
        raise ValueError("frame pack is truncated")
    return [(base + offsets[i], base + offsets[i + 1]) for i in range(header["count"])]


def decode_jpegs(encoded: Sequence[bytes]) -> np.ndarray:
    """Decode JPEG bytes to uint8 RGB [N, H, W, 3] (all frames of one video share a size)."""
    import cv2

    out = []
    for i, data in enumerate(encoded):
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            raise CacheError(f"frame {i} does not decode")
        out.append(img)
    if not out:
        raise CacheError("no frames")
    if any(o.shape != out[0].shape for o in out):
        raise CacheError("frames differ in size")
    arr = np.stack(out)
    return arr[..., ::-1]  # BGR -> RGB


def read_mfcc(path: str | Path, n_mfcc: int = N_MFCC) -> np.ndarray:
    """MFCC matrix as float32 [F, n_mfcc]. Raises CacheError with a short reason."""
    file = Path(path)
    if not file.is_file():
        raise CacheError(f"mfcc file missing: {file}")
    try:
        if file.suffix == ".npz":
            with np.load(file) as z:
                arr = z[z.files[0]]
        else:
            arr = np.load(file, allow_pickle=False)
    except (OSError, ValueError, IndexError) as exc:
        raise CacheError(f"mfcc file unreadable: {file.name}: {exc}") from None
    if arr.ndim != 2 or n_mfcc not in arr.shape:
        raise CacheError(f"mfcc has shape {arr.shape}, expected [F, {n_mfcc}]")
    if arr.shape[1] != n_mfcc:
        arr = arr.T
    arr = arr.astype(np.float32)
    if not np.isfinite(arr).all():
        raise CacheError("mfcc holds NaN or inf")
    return arr


def frame_pack_header(path: str | Path) -> dict | None:
    """The JSON header of a cleaning frame pack (fps, width, height, count), or None for other formats."""
    file = Path(path)
    try:
        with file.open("rb") as handle:
            head = handle.read(12)
            if head[:8] != FRAME_PACK_MAGIC:
                return None
            (size,) = struct.unpack("<I", head[8:12])
            return json.loads(handle.read(size))
    except (OSError, ValueError, struct.error):
        return None
