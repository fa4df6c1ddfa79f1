"""The optional yt-dlp download backend, for pages whose media URL only yt-dlp knows how to extract."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.manifest import file_sha256
from crawler.download import Downloaded, part_path
from crawler.http import Failure


class _Quiet:
    def debug(self, msg: str) -> None: ...
    def info(self, msg: str) -> None: ...
    def warning(self, msg: str) -> None: ...
    def error(self, msg: str) -> None: ...


def download_with_ytdlp(url: str, tmp_dir: Path, *, key: str, max_bytes: int, user_agent: str,
                        cookie_file: Path | None, retries: int, timeout_s: float
                        ) -> tuple[Downloaded, dict[str, Any]] | Failure:
    """Let yt-dlp extract and download `url` into `tmp_dir`; returns the file and yt-dlp's info dict."""
    try:
        import yt_dlp
    except ImportError:
        return Failure("backend_missing", "yt-dlp is not installed: pip install 'emotions[crawl]'")
    stem = part_path(tmp_dir, key).with_suffix("")
    opts: dict[str, Any] = {
        "outtmpl": f"{stem}.ytdlp.%(ext)s", "quiet": True, "no_warnings": True, "noprogress": True,
        "noplaylist": True, "max_filesize": max_bytes, "retries": retries, "fragment_retries": retries,
        "socket_timeout": timeout_s, "http_headers": {"User-Agent": user_agent}, "format": "best",
        "logger": _Quiet(), "overwrites": True, "continuedl": True, "cachedir": False,
    }
    if cookie_file is not None:
        opts["cookiefile"] = str(cookie_file)
    try:
        with yt_dlp.YoutubeDL(opts) as ydl:
            info = ydl.extract_info(url, download=True)
            path = Path(ydl.prepare_filename(info)) if info else None
    except yt_dlp.utils.DownloadError as exc:
        text = str(exc).removeprefix("ERROR: ")
        reason = "unsupported_url" if "Unsupported URL" in text else "ytdlp_error"
        return Failure(reason, text.splitlines()[0][:300])
    if path is None or not path.exists():
        return Failure("too_large" if info else "ytdlp_error", "yt-dlp produced no file")
    size = path.stat().st_size
    if size == 0:
        path.unlink(missing_ok=True)
        return Failure("empty_body", "0-byte media")
    ext = str(info.get("ext") or "mp4")
    keep = {k: info.get(k) for k in ("id", "title", "description", "duration", "url", "extractor") if info.get(k)}
    return Downloaded(path, file_sha256(path), size, 200, f"video/{ext}", str(info.get("url") or url)), keep
