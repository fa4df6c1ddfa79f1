"""Media download with requests: streaming, size cap, content-type check, Range resume, sha256, temp then rename."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
from dataclasses import dataclass
from pathlib import Path

import requests
from urllib3.exceptions import HTTPError as Urllib3Error

from core.manifest import file_digest, file_sha256
from crawler.http import Client, Failure, Retry

CHUNK = 1024 * 1024  # most bytes per read; a read returns what has arrived, so a crash loses little
_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)?/(\d+|\*)")
_TEXT_STARTS = (b"<", b"{", b"[")


@dataclass(frozen=True, slots=True)
class Downloaded:
    """A complete media file in the temp folder, not yet moved to its final place."""

    path: Path
    sha256: str
    bytes: int
    http_status: int
    content_type: str
    url: str
    resumed_from: int = 0


def part_path(tmp_dir: Path, key: str) -> Path:
    """Where the bytes of `key` accumulate until complete; kept across a crash for Range resume."""
    return tmp_dir / (hashlib.sha1(key.encode("utf-8")).hexdigest() + ".part")


def _type_ok(content_type: str, accepted: tuple[str, ...]) -> bool:
    ctype = content_type.split(";", 1)[0].strip().lower()
    return any(ctype.startswith(prefix) for prefix in accepted)


def _looks_like_text(head: bytes) -> bool:
    """An HTML/JSON page served as media: starts like markup and holds no binary control bytes."""
    stripped = head.lstrip()
    binary = any(b < 0x09 or 0x0E <= b < 0x20 for b in head)
    return not binary and stripped[:1] in _TEXT_STARTS


def _guess_type(url: str) -> str:
    return mimetypes.guess_type(url.split("?", 1)[0])[0] or "video/mp4"


def download(client: Client, url: str, tmp_dir: Path, *, key: str, max_bytes: int,
             content_types: tuple[str, ...], headers: dict[str, str] | None = None,
             fsync: bool = True) -> Downloaded | Failure:
    """Fetch `url` into `tmp_dir`, resuming a previous partial file with Range when the server allows it.

    On any failure the partial file is deleted; only a crash leaves it (to be resumed next run).
    `fsync` flushes the file to disk before it counts as complete (power-loss safety). The body is
    hashed as it arrives, while the chunk is still in the CPU's cache: on a machine with few cores
    this costs less than hashing the finished file on another thread (which reads it all back).
    """
    if not tmp_dir.is_dir():  # a stat costs far less than a failing mkdir on some filesystems
        tmp_dir.mkdir(parents=True, exist_ok=True)
    part = part_path(tmp_dir, key)
    extra = dict(headers or {})

    def request_headers() -> dict[str, str]:
        have = part.stat().st_size if part.exists() else 0
        return {**extra, "Range": f"bytes={have}-"} if have else dict(extra)

    def consume(resp: requests.Response) -> Downloaded | Retry | Failure:
        ctype = resp.headers.get("Content-Type", "")
        if not _type_ok(ctype, content_types):
            return Failure("bad_content_type", ctype or "no Content-Type", resp.status_code)
        offset = 0
        if resp.status_code == 206 and part.exists():
            match = _RANGE.match(resp.headers.get("Content-Range", ""))
            if not match or int(match.group(1)) != part.stat().st_size:
                part.unlink(missing_ok=True)
                return Retry("bad_range", resp.headers.get("Content-Range", ""), 206)
            offset = int(match.group(1))
        elif resp.status_code != 200:
            return Failure(f"http_{resp.status_code}", "unexpected status for media", resp.status_code)
        length = resp.headers.get("Content-Length")
        expected = offset + int(length) if length and length.isdigit() else None
        if expected is not None and expected > max_bytes:
            return Failure("too_large", f"{expected} bytes > cap {max_bytes}", resp.status_code)
        digest = file_digest(part) if offset else hashlib.sha256()
        written = offset
        try:
            with part.open("ab" if offset else "wb") as handle:
                while chunk := resp.raw.read1(CHUNK, decode_content=True):
                    if written == 0 and _looks_like_text(chunk[:64]):
                        return Failure("bad_content_type", f"{ctype} but the body is text/HTML", resp.status_code)
                    written += len(chunk)
                    if written > max_bytes:
                        return Failure("too_large", f"more than cap {max_bytes} bytes", resp.status_code)
                    handle.write(chunk)
                    digest.update(chunk)
                handle.flush()
                if fsync:
                    os.fsync(handle.fileno())
        except (Urllib3Error, requests.RequestException) as exc:  # network only: a full disk is not retried
            reason = "incomplete_body" if "IncompleteRead" in str(exc) else "connection_reset"
            return Retry(reason, f"{type(exc).__name__} after {written} bytes", resp.status_code)
        if expected is not None and written != expected:
            return Retry("incomplete_body", f"{written} of {expected} bytes", resp.status_code)
        if written == 0:  # this item's failure, not a sign of blocking (the .part is removed below)
            return Failure("empty_body", "0-byte media", resp.status_code)
        return Downloaded(part, digest.hexdigest(), written, resp.status_code, ctype.split(";")[0].strip(),
                          resp.url, offset)

    result = client.call(url, consume, request_headers)
    if isinstance(result, Failure) and result.reason == "http_416" and part.exists():
        total = result.detail.rsplit("/", 1)[-1]
        size = part.stat().st_size
        if total.isdigit() and int(total) == size:  # the crash came after the last byte: nothing to fetch
            return Downloaded(part, file_sha256(part), size, 416, _guess_type(url), url, size)
        part.unlink(missing_ok=True)  # our partial file no longer matches the remote one: start again
        result = client.call(url, consume, request_headers)
    if isinstance(result, Failure):
        part.unlink(missing_ok=True)
    return result
