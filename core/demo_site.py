"""A local website for the demo: one page per video (title, og:video, <video>), served on 127.0.0.1."""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def write_site(root: Path, videos: list[tuple[str, str]]) -> None:
    """Write index.html linking one page per (file, title); media files must already be in `root`."""
    links = []
    for i, (file, title) in enumerate(videos):
        page = f"video-{i:03d}.html"
        url = quote(file)
        (root / page).write_text(
            "<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title>"
            f"<meta property='og:title' content='{html.escape(title, quote=True)}'>"
            f"<meta property='og:video' content='/{url}'></head>"
            f"<body><h1>{html.escape(title)}</h1><video controls src='/{url}'></video>"
            "<a href='index.html'>all videos</a></body></html>",
            encoding="utf-8",
        )
        links.append(f"<li><a href='{page}'>{html.escape(title)}</a></li>")
    (root / "index.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>demo videos</title></head>"
        f"<body><ul>{''.join(links)}</ul></body></html>",
        encoding="utf-8",
    )
    (root / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve `root` on a free loopback port for the duration of the block; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
