"""The one seam to ffmpeg/ffprobe: locating the binaries and running them with bounded time."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from core.errors import MediaError, MissingDependency
from core.settings import get_settings

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]

INSTALL_HINT = "install it with: apt-get install ffmpeg (or set EMOTIONS_FFMPEG_BINARY)"


def ffmpeg_binary() -> str:
    """Absolute path of ffmpeg; MissingDependency with the install command if it is absent."""
    return _locate(get_settings().ffmpeg_binary, "ffmpeg")


def ffprobe_binary() -> str:
    """Absolute path of ffprobe; MissingDependency with the install command if it is absent."""
    return _locate(get_settings().ffprobe_binary, "ffprobe")


def _locate(name: str, what: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise MissingDependency(f"{what} not found ({name!r} is not on PATH)", remedy=INSTALL_HINT)
    return found


def run_ffmpeg(args: Sequence[str], *, timeout: float = 300.0) -> subprocess.CompletedProcess[bytes]:
    """Run `ffmpeg -hide_banner -nostdin -loglevel error <args>`; raise MediaError on failure.

    Both pipes are drained by `subprocess.run`, so a chatty ffmpeg can never block on a full pipe.
    """
    cmd = [ffmpeg_binary(), "-hide_banner", "-nostdin", "-loglevel", "error", *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise MediaError(f"ffmpeg did not finish within {timeout:.0f} s") from None
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise MediaError(f"ffmpeg exited with {proc.returncode}: {' | '.join(tail) or 'no message'}")
    return proc


def media_arg(path: str | os.PathLike[str]) -> str:
    """An input/output argument that ffmpeg can never read as an option or a protocol.

    The absolute path never starts with `-`, and the `file:` prefix keeps a `:` in a name literal.
    """
    return "file:" + os.path.abspath(os.fspath(path))


def probe(path: str | os.PathLike[str], *, timeout: float = 60.0) -> dict[str, Any]:
    """ffprobe's JSON (format + streams) for one file; MediaError with ffprobe's last words on failure.

    The command is the one `ffmpeg.probe` builds; it runs here because ffmpeg-python's probe has
    no timeout, and a stuck probe must never stall a worker.
    """
    cmd = [ffprobe_binary(), "-v", "error", "-show_format", "-show_streams", "-of", "json", media_arg(path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise MediaTimeout(f"ffprobe did not finish within {timeout:.0f} s") from None
    if proc.returncode != 0:
        raise MediaError(_last_words(proc.stderr) or f"ffprobe exited with {proc.returncode}")
    try:
        return json.loads(proc.stdout.decode("utf-8", "replace"))
    except json.JSONDecodeError:
        raise MediaError("ffprobe printed no JSON") from None


def _last_words(stderr: bytes, lines: int = 2) -> str:
    text = stderr.decode("utf-8", "replace").strip().splitlines()
    return " | ".join(line.strip() for line in text[-lines:])


class MediaTimeout(MediaError):
    """An ffmpeg/ffprobe run went past its time limit (it has been killed)."""


@dataclass(frozen=True, slots=True)
class GraphResult:
    """How a streamed ffmpeg run ended: exit code, its error log, and whether it was killed."""

    returncode: int
    errors: list[str]
    timed_out: bool


def compile_graph(stream_spec: Any, paths: dict[str, str] | None = None, extra: Sequence[str] = ()) -> list[str]:
    """The ffmpeg command line for an ffmpeg-python output spec, quiet and never reading stdin.

    ffmpeg-python cannot carry file names that are not UTF-8, so the spec may name files by
    placeholders; `paths` maps each placeholder argument to the real one. `extra` are more global options.
    """
    import ffmpeg as ffmpeg_python

    spec = stream_spec.global_args("-hide_banner", "-nostdin", "-loglevel", "error", "-y", *extra)
    cmd = ffmpeg_python.compile(spec, cmd=ffmpeg_binary())
    return [paths.get(arg, arg) for arg in cmd] if paths else cmd


PIPE_BYTES = 1 << 20  # Linux's default cap for an unprivileged pipe (fs.pipe-max-size)


def _widen_pipe(pipe: Any) -> None:
    """Let ffmpeg run ahead of the reader by many frames: a 64 KiB pipe holds less than one raw frame,
    which would make ffmpeg and this process take turns instead of working at the same time."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if set_size is None or pipe is None:
        return
    with contextlib.suppress(OSError):  # a lower system cap, or not a pipe: keep the default
        fcntl.fcntl(pipe.fileno(), set_size, PIPE_BYTES)


def stream_graph(
    cmd: list[str], chunk_bytes: int, on_chunk: Callable[[bytes], None], *, timeout: float
) -> GraphResult:
    """Run `cmd`, handing its stdout to `on_chunk` in pieces of exactly `chunk_bytes` (a raw frame).

    stderr goes to a temporary file rather than a pipe, so ffmpeg can never block on a log nobody
    reads (the hang ffmpeg-python's `run_async(quiet=True)` is known for); a watchdog kills the run
    after `timeout` seconds. A trailing partial chunk is dropped.
    """
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        _widen_pipe(proc.stdout)
        killed = threading.Event()

        def _kill() -> None:
            killed.set()
            proc.kill()

        watchdog = threading.Timer(timeout, _kill)
        watchdog.start()
        try:
            assert proc.stdout is not None
            while True:
                chunk = proc.stdout.read(chunk_bytes) if chunk_bytes > 0 else proc.stdout.read()
                if not chunk or len(chunk) < chunk_bytes:
                    proc.stdout.read()
                    break
                on_chunk(chunk)
            returncode = proc.wait()
        finally:
            watchdog.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()  # type: ignore[union-attr]
        err.seek(0)
        lines = [x.strip() for x in err.read().decode("utf-8", "replace").splitlines() if x.strip()]
    return GraphResult(returncode, lines, killed.is_set())
