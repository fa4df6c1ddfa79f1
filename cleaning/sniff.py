"""Content sniffing for files the probe cannot read: broken media (`corrupt`) or not media at all (`not_a_video`).

A file is media when its first bytes carry the signature of a container or stream format FFmpeg reads
(MP4/MOV box, Matroska/WebM, AVI/WAV, FLV, Ogg, ASF, MPEG-TS/PS, elementary video or audio streams), or
when its head or tail still holds the structure of an MP4 or Matroska file (an MP4 with a damaged header,
an MP4 cut short). Anything else (text such as an HTML error page saved under a video's name, a picture,
an archive, random bytes) is not media. Pure functions over bytes; `sniff_file` reads the head and tail.
"""

from __future__ import annotations

import os
import re
import string
from dataclasses import dataclass

WINDOW = 64 * 1024  # bytes read from each end of the file

# (prefix at offset 0, family) of container and stream formats
_MEDIA_PREFIXES = (
    (b"\x1a\x45\xdf\xa3", "matroska"), (b"RIFF", "riff"), (b"FLV\x01", "flv"), (b"OggS", "ogg"),
    (bytes.fromhex("3026b2758e66cf11"), "asf"), (b".RMF", "realmedia"), (b"DKIF", "ivf"),
    (b"YUV4MPEG2", "y4m"), (b"\x06\x0e\x2b\x34", "mxf"), (b"nut/multimedia", "nut"),
    (b"\x00\x00\x01\xba", "mpeg-ps"), (b"\x00\x00\x01\xb3", "mpeg-video"), (b"\x00\x00\x00\x01", "annex-b"),
    (b"ID3", "mp3"), (b"fLaC", "flac"), (b"#!AMR", "amr"), (b"FORM", "aiff"), (b"caff", "caf"),
    (b"MAC ", "ape"), (b"wvpk", "wavpack"),
)
_IMAGE_PREFIXES = (
    (b"\x89PNG", "png"), (b"\xff\xd8\xff", "jpeg"), (b"GIF8", "gif"), (b"BM", "bmp"),
    (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"),
)
_IMAGE_BRANDS = {b"heic", b"heix", b"mif1", b"msf1", b"avif"}  # ISO boxes that hold pictures, not video
_BOX_TYPES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"styp", b"sidx", b"moof", b"uuid"}
# structure that survives a damaged header: MP4 boxes with a plausible size, Matroska Segment/Cluster ids
_MP4_BOX = re.compile(rb"(?s)(....)(moov|mdat|mvhd|trak|moof|mfra)")
_EBML_IDS = (b"\x18\x53\x80\x67", b"\x1f\x43\xb6\x75")
_PRINTABLE = set(string.printable)


@dataclass(frozen=True, slots=True)
class Sniffed:
    """What the bytes look like: `kind` is media, image, text or data; `family` names the format found."""

    kind: str
    family: str

    @property
    def is_media(self) -> bool:
        return self.kind == "media"


def _mpeg_ts(head: bytes) -> bool:
    for offset, size in ((0, 188), (4, 192)):  # plain transport stream; Blu-ray M2TS has 4-byte prefixes
        marks = range(offset, min(len(head), offset + 3 * size), size)
        if len(marks) >= 2 and all(head[i] == 0x47 for i in marks):
            return True
    return False


def _has_structure(data: bytes, file_size: int) -> str | None:
    for match in _MP4_BOX.finditer(data):
        size = int.from_bytes(match.group(1), "big")
        if size in (0, 1) or 8 <= size <= max(file_size, 8):
            return "mp4"
    return "matroska" if any(marker in data for marker in _EBML_IDS) else None


def _text(head: bytes) -> str | None:
    """The head as text when it is UTF-8 of printable characters and white space (no NUL byte), else None.

    Media is binary from its first bytes (box sizes, ids and flags hold zeros and control bytes), so this is
    asked first: a text file that happens to start like `RIFF` or `FORM` is still text.
    """
    if not head or b"\x00" in head:
        return None
    text = head.decode("utf-8", "replace").removesuffix("\ufffd")  # the window may cut a character
    shown = sum(ch in _PRINTABLE or ch.isprintable() for ch in text)
    return text if shown >= 0.95 * len(text) else None


def sniff(head: bytes, tail: bytes = b"", file_size: int | None = None) -> Sniffed:
    """Classify a file from its first and last bytes (see the module docstring)."""
    size = len(head) if file_size is None else file_size
    text = _text(head)
    if text is not None:
        return Sniffed("text", " ".join(text.split())[:40].rstrip())
    if head[4:8] in _BOX_TYPES:
        brand = head[8:12] if head[4:8] == b"ftyp" else b""
        return Sniffed("image", brand.decode("ascii", "replace")) if brand in _IMAGE_BRANDS else Sniffed("media", "mp4")
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return Sniffed("image", "webp")
    for prefix, family in _MEDIA_PREFIXES:
        if head.startswith(prefix):
            return Sniffed("media", family)
    if _mpeg_ts(head):
        return Sniffed("media", "mpeg-ts")
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] != 0xFF:
        return Sniffed("media", "mpeg-audio")  # MP3 / ADTS AAC frame sync
    for data in (head, tail):
        family = _has_structure(data, size)
        if family is not None:
            return Sniffed("media", family)
    for prefix, family in _IMAGE_PREFIXES:
        if head.startswith(prefix):
            return Sniffed("image", family)
    return Sniffed("data", head[:8].hex(" "))


def describe(found: Sniffed) -> str:
    """One line for a manifest's `detail`."""
    if found.kind == "text":
        return f"text, not media (starts {found.family!r})"
    if found.kind == "image":
        return f"a picture ({found.family}), not a video"
    if found.kind == "data":
        return f"no media signature (starts {found.family})"
    return f"{found.family} media"


def sniff_file(path: str | os.PathLike[str]) -> Sniffed:
    """`sniff` of a file's first and last WINDOW bytes; OSError when it cannot be read."""
    with open(path, "rb") as handle:
        head = handle.read(WINDOW)
        size = os.fstat(handle.fileno()).st_size
        tail = b""
        if size > len(head):
            handle.seek(max(len(head), size - WINDOW))
            tail = handle.read(WINDOW)
    return sniff(head, tail, size)
