"""Follows the mono 16-bit WAV that ffmpeg is still writing, so its MFCC is computed during the decode pass.

The decode pass spends most of its time waiting for frames; reading the WAV as it grows and feeding
`MfccStream` then costs no wall time. `finish` checks the result against the finished file's header
and returns None when they disagree (the caller then reads the file the ordinary way).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from cleaning.audio import MfccStream

_READ = 1 << 20


def data_offset(head: bytes) -> int | None:
    """Offset of the first sample in a RIFF/WAVE header, or None while the header is incomplete."""
    if len(head) < 12:
        return None
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    at = 12
    while len(head) >= at + 8:
        chunk, size = head[at:at + 4], struct.unpack("<I", head[at + 4:at + 8])[0]
        if chunk == b"data":
            return at + 8
        at += 8 + size + (size & 1)
    return None


class WavTail:
    """Reads new samples of a growing mono s16le WAV at each `poll` and feeds them to an MFCC stream."""

    def __init__(self, path: Path, stream: MfccStream) -> None:
        self.path, self.stream = path, stream
        self._fd: int | None = None
        self._read = 0  # bytes of the file read so far
        self._head = b""
        self._started = False
        self._odd = b""  # half a sample left from the last read
        self._chunks: list[np.ndarray] = []
        self._broken = False  # not a WAV this class can follow: finish() says so, the caller reads the file

    def poll(self) -> None:
        if self._broken:
            return
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:  # ffmpeg has not opened its outputs yet
                return
        try:
            while block := os.pread(self._fd, _READ, self._read):
                self._read += len(block)
                self._take(block)
        except ValueError:
            self._broken = True

    def _take(self, block: bytes) -> None:
        if not self._started:
            self._head += block
            at = data_offset(self._head)
            if at is None:
                return
            block, self._head, self._started = self._head[at:], b"", True
        block = self._odd + block
        usable = len(block) - len(block) % 2
        self._odd = block[usable:]
        if usable:
            mono = np.frombuffer(block[:usable], "<i2").astype(np.float32) / np.float32(32768)  # as libsndfile
            self._chunks.append(mono)
            self.stream.feed(mono)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def finish(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(samples, MFCC) once ffmpeg has exited; None when what was followed is not the finished file."""
        try:
            self.poll()
        finally:
            self.close()
        if self._broken or not self._started:
            return None
        import soundfile

        info = soundfile.info(str(self.path))
        samples = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
        if info.channels != 1 or info.subtype != "PCM_16" or info.frames != len(samples) or self._odd:
            return None
        return samples, self.stream.result()
