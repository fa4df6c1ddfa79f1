"""Frame-level tools: perceptual hashes, frame statistics, and the JPEG frame-pack file format.

Frame pack (one file per video, `.frames`): the 8 bytes `EMOFRM01`, a little-endian uint32 header
length, a UTF-8 JSON header `{"fps", "width", "height", "count", "offsets"}` where `offsets` has
count + 1 byte offsets into the data that follows, then the JPEG images back to back. Frame i is
`data[offsets[i]:offsets[i + 1]]` and was taken at i / fps seconds.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"EMOFRM01"
HASH_SIZE = 8  # 8x8 low DCT frequencies -> 64-bit hash
_DCT_SIZE = 32
_CROP = 0.15  # fraction cut from each border before hashing: platform watermarks sit in the corners


def hash_thumb(grey: np.ndarray) -> np.ndarray:
    """The 32x32 float32 centre thumbnail a perceptual hash is computed from (corners with watermarks cut)."""
    import cv2

    h, w = grey.shape
    dy, dx = int(h * _CROP), int(w * _CROP)
    centre = grey[dy:h - dy, dx:w - dx]
    return cv2.resize(centre, (_DCT_SIZE, _DCT_SIZE), interpolation=cv2.INTER_AREA).astype(np.float32)


def thumb_hash(thumb: np.ndarray) -> int:
    """64-bit DCT perceptual hash of a thumbnail: low 8x8 frequencies compared with their median."""
    import cv2

    low = cv2.dct(thumb)[:HASH_SIZE, :HASH_SIZE].ravel()
    bits = low > np.median(low[1:])
    return int(np.packbits(bits).view(">u8")[0])


def phash(grey: np.ndarray) -> int:
    """64-bit DCT perceptual hash of a grey frame's centre."""
    return thumb_hash(hash_thumb(grey))


def sample_positions(count: int, k: int) -> list[int]:
    """Indices of k frames at fixed relative positions (centres of k equal slices) among `count`."""
    if count <= 0:
        return []
    return [min(count - 1, int((i + 0.5) * count / k)) for i in range(k)]


def hashes_to_hex(values: Sequence[int]) -> str:
    return "".join(f"{v:016x}" for v in values)


def hex_to_hashes(text: str) -> list[int]:
    return [int(text[i:i + 16], 16) for i in range(0, len(text), 16)]


def pack_frames(jpegs: Sequence[bytes], fps: float, width: int, height: int) -> bytes:
    """One frame-pack file's bytes (see the module docstring)."""
    offsets = [0]
    for data in jpegs:
        offsets.append(offsets[-1] + len(data))
    header = json.dumps({"fps": fps, "width": width, "height": height, "count": len(jpegs),
                         "offsets": offsets}, separators=(",", ":")).encode()
    return b"".join([MAGIC, struct.pack("<I", len(header)), header, *jpegs])


@dataclass(frozen=True, slots=True)
class FramePack:
    """A frame-pack file read back: header fields and the raw JPEG bytes of each frame."""

    fps: float
    width: int
    height: int
    jpegs: list[bytes]

    def decode(self, index: int) -> np.ndarray:
        """Frame `index` as an RGB uint8 array of shape (height, width, 3)."""
        import cv2

        bgr = cv2.imdecode(np.frombuffer(self.jpegs[index], np.uint8), cv2.IMREAD_COLOR)
        return bgr[:, :, ::-1]


def read_frame_pack(path: Path | str) -> FramePack:
    """Parse a frame pack; ValueError when the file is not one."""
    blob = Path(path).read_bytes()
    if blob[:8] != MAGIC:
        raise ValueError(f"{path} is not a frame pack")
    (size,) = struct.unpack("<I", blob[8:12])
    header = json.loads(blob[12:12 + size])
    data = memoryview(blob)[12 + size:]
    offsets = header["offsets"]
    jpegs = [bytes(data[offsets[i]:offsets[i + 1]]) for i in range(header["count"])]
    return FramePack(header["fps"], header["width"], header["height"], jpegs)
