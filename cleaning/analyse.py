"""Analyse step: one ffmpeg decode pass per video that checks it decodes fully and fans out every output.

The pass streams training frames (fixed rate, short side N, BGR) to this process, which hashes,
measures and JPEG-encodes them on the fly, while the same ffmpeg run writes the mono WAV, the web
MP4 (stream copy when the source already fits, otherwise H.264/AAC with at most two audio channels)
and the poster to scratch files; between frames this process follows the growing WAV and computes
its MFCC (`cleaning.wavtail`).
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cleaning import ffmpeg
from cleaning.audio import MfccStream, one_blas_thread
from cleaning.frames import hash_thumb, pack_frames, sample_positions, thumb_hash
from cleaning.steps import Video, requires
from cleaning.wavtail import WavTail
from core.records import Skip

_BITEXACT = {"fflags": "+bitexact", "map_metadata": "-1"}
_WINDOW_S = 0.05  # loudness window for the silence check
SILENCE_FLOOR_DBFS = -120.0
_INPUT = "input-placeholder"  # swapped for the real path after compiling (names need not be UTF-8)
WEB_CHANNELS = 2  # the web MP4 carries at most stereo; the WAV is always mono


def even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def scaled(width: int, height: int, short: int) -> tuple[int, int]:
    """(w, h) with the short side set to `short`, aspect kept, both even."""
    factor = short / min(width, height)
    return even(width * factor), even(height * factor)


@dataclass
class Analysis:
    """What the decode pass saw: per-frame statistics, hashes, loudness and scratch outputs."""

    width: int
    height: int
    fps: float
    dark: list[float] = field(default_factory=list)  # per frame: fraction of pixels darker than the cut
    diffs: list[float] = field(default_factory=list)  # mean |grey difference| of consecutive frames
    low: np.ndarray | None = None  # per-pixel minimum and maximum grey over all sampled frames
    high: np.ndarray | None = None
    thumbs: list[np.ndarray] = field(default_factory=list)  # 32x32 per frame; only the sampled ones get hashed
    jpegs: list[bytes] = field(default_factory=list)
    max_rms_dbfs: float | None = None
    samples: np.ndarray | None = None  # the mono WAV's samples (float32), read once for loudness and MFCC
    sample_rate: int = 0
    mfcc: np.ndarray | None = None  # computed while decoding, from the WAV as ffmpeg wrote it
    wav: Path | None = None
    web: Path | None = None
    poster: Path | None = None

    @property
    def decoded_s(self) -> float:
        return len(self.jpegs) / self.fps

    def black_fraction(self, min_dark_pixels: float) -> float:
        """Fraction of sampled frames in which at least `min_dark_pixels` of the pixels are dark."""
        return sum(v >= min_dark_pixels for v in self.dark) / max(1, len(self.dark))

    def change_range(self) -> float:
        """Mean over pixels of (brightest - darkest) grey value across the video: ~0 for a still picture."""
        if self.low is None or self.high is None:
            return 0.0
        return float((self.high.astype(np.int16) - self.low).mean())

    def motion(self) -> float:
        return float(np.mean(self.diffs)) if self.diffs else 0.0

    def signature(self, k: int) -> list[int]:
        """Perceptual hashes of k frames at fixed relative positions (frames repeat in very short videos)."""
        return [thumb_hash(self.thumbs[i]) for i in sample_positions(len(self.thumbs), k)]

    def frame_pack(self) -> bytes:
        return pack_frames(self.jpegs, self.fps, self.width, self.height)


class _FrameSink:
    """Consumes raw BGR frames from the pipe: statistics, hash and JPEG per frame, O(1) frames held."""

    def __init__(self, analysis: Analysis, quality: int, dark_luma: int) -> None:
        import cv2

        self.cv2, self.a, self.prev, self.dark_luma = cv2, analysis, None, dark_luma
        self.params = [cv2.IMWRITE_JPEG_QUALITY, quality]

    def __call__(self, chunk: bytes) -> None:
        a, cv2 = self.a, self.cv2
        bgr = np.frombuffer(chunk, np.uint8).reshape(a.height, a.width, 3)
        grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        a.dark.append(float(np.count_nonzero(grey < self.dark_luma)) / grey.size)
        if self.prev is None:
            a.low, a.high = grey.copy(), grey.copy()
        else:
            a.diffs.append(cv2.norm(grey, self.prev, cv2.NORM_L1) / grey.size)  # mean |difference|, exact
            cv2.min(a.low, grey, dst=a.low)
            cv2.max(a.high, grey, dst=a.high)
        self.prev = grey
        a.thumbs.append(hash_thumb(grey))
        ok, jpeg = cv2.imencode(".jpg", bgr, self.params)
        if not ok:  # pragma: no cover - OpenCV only fails on empty input
            raise RuntimeError("JPEG encoding failed")
        a.jpegs.append(jpeg.tobytes())


def _web_output(stream_v: Any, stream_a: Any, info: Any, web: Any, target: Path) -> Any:
    """The web MP4 output node: stream copy when the source is already small H.264 with mono/stereo AAC,
    else re-encode (multichannel audio, e.g. 5.1, is down-mixed to stereo: browsers play two channels)."""
    import ffmpeg as fp

    short = min(info.width, info.height)
    stereo_at_most = (info.channels or 0) <= WEB_CHANNELS
    fits = (info.video_codec == "h264" and info.pix_fmt == "yuv420p" and short <= web.max_short_side
            and info.fps <= web.max_fps + 0.01 and not info.vfr
            and (info.video_kbps or 0) <= web.max_video_kbps
            and (stream_a is None or (info.audio_codec == "aac" and stereo_at_most)))
    common = {"movflags": "+faststart", "f": "mp4", **_BITEXACT}
    streams = [stream_v] + ([stream_a] if stream_a is not None else [])
    if fits:
        return fp.output(*streams, ffmpeg.media_arg(target), c="copy", **common)
    # always scaled: bounds the size and gives H.264 the even dimensions 4:2:0 needs
    v = stream_v.filter("scale", *scaled(info.width, info.height, min(short, web.max_short_side)), flags="bicubic")
    if info.fps > web.max_fps or info.vfr:
        v = v.filter("fps", fps=min(info.fps or web.max_fps, web.max_fps))
    v = v.filter("format", "yuv420p")
    kbps = web.max_video_kbps
    opts = {"vcodec": "libx264", "preset": web.preset, "crf": web.crf, "maxrate": f"{kbps}k",
            "bufsize": f"{2 * kbps}k", "flags": "+bitexact"}
    if stream_a is not None:
        opts.update(acodec="aac", audio_bitrate=f"{web.audio_kbps}k")
        if not stereo_at_most:
            opts["ac"] = WEB_CHANNELS
    return fp.output(*([v, *streams[1:]]), ffmpeg.media_arg(target), **opts, **common)


def cache_rate(source_fps: float | None, most: float) -> float:
    """Frames per second of the training cache: the source's own rate, at most `most` (unknown: `most`)."""
    return min(source_fps, most) if source_fps and source_fps > 0 else most


SMALL_FRAME_PIXELS = 640 * 360  # below this, frame threading costs more in hand-offs than it saves


def decode_threads(setting: int | None, workers: int | None, pixels: int | None = None) -> int:
    """Threads for one video's decode: the setting, else the cores left to each worker (one per core
    when the pool fills the machine, where extra threads would only cost CPU). Small frames decode
    on one thread: the worker's other core then serves this process, which consumes the frames."""
    if setting is not None:
        return setting
    if pixels is not None and pixels <= SMALL_FRAME_PIXELS:
        return 1
    cores = os.cpu_count() or 1
    return max(1, cores // (workers or cores))


class AnalyseStep:
    """Decodes the whole file once; rejects it as `corrupt` when decoding fails or stops early."""

    name = "analyse"

    def __init__(self, recipe: Any) -> None:
        self.rule, self.cache, self.web = recipe.analyse, recipe.cache, recipe.web
        self.make_web = "normalise" in recipe.steps and recipe.web.enabled
        self.dark_luma = recipe.black.pixel_luma
        self.threads_setting, self.workers = recipe.analyse.threads, recipe.workers

    def __call__(self, video: Video) -> Skip | None:
        import ffmpeg as fp

        requires(video, "info", self.name)
        info = video.info
        shutil.rmtree(video.scratch, ignore_errors=True)
        video.scratch.mkdir(parents=True)
        w, h = scaled(info.width, info.height, self.cache.short_side)
        rate = cache_rate(info.fps, self.cache.fps)
        analysis = Analysis(width=w, height=h, fps=rate)
        n_threads = decode_threads(self.threads_setting, self.workers, info.width * info.height)
        threads = {"threads": n_threads} if n_threads else {}
        inp = fp.input(_INPUT, **threads)
        sampled = inp["v:0"].filter("fps", fps=rate)
        split = sampled.split() if self.make_web else None
        outputs = [
            (split[0] if split is not None else sampled).filter("scale", w, h, flags="area")
            .output("pipe:", format="rawvideo", pix_fmt="bgr24")
        ]
        audio = inp["a:0"] if info.has_audio else None
        if audio is not None:
            analysis.wav = video.scratch / "audio.wav"
            outputs.append(fp.output(audio, ffmpeg.media_arg(analysis.wav), ac=1, ar=self.cache.sample_rate,
                                     acodec="pcm_s16le", f="wav", **_BITEXACT))
        if split is not None:
            analysis.web = video.scratch / "web.mp4"
            analysis.poster = video.scratch / "poster.jpg"
            outputs.append(_web_output(inp["v:0"], audio, info, self.web, analysis.web))
            at = round(info.duration_s * self.web.poster_at, 3)
            pw, ph = scaled(info.width, info.height, min(self.web.poster_short_side, min(info.width, info.height)))
            # the poster comes from the already rate-reduced branch, so it costs one scaled frame
            outputs.append(split[1].filter("trim", start=at, duration=2 / rate).filter("scale", pw, ph)
                           .output(ffmpeg.media_arg(analysis.poster), f="mjpeg", **{"frames:v": 1, "q:v": 3}))
        extra = ("-filter_threads", str(n_threads)) if n_threads else ()
        cmd = ffmpeg.compile_graph(fp.merge_outputs(*outputs), {_INPUT: ffmpeg.media_arg(video.path)}, extra)
        sink = _FrameSink(analysis, self.cache.jpeg_quality, self.dark_luma)
        tail = None
        if analysis.wav is not None and self.make_web:  # the MFCC is only stored by the normalise step
            c = self.cache
            tail = WavTail(analysis.wav, MfccStream(c.sample_rate, c.n_mfcc, c.n_fft, c.hop_length))

            def on_frame(chunk: bytes) -> None:
                sink(chunk)
                tail.poll()
        try:
            with one_blas_thread():
                result = ffmpeg.stream_graph(cmd, w * h * 3, sink if tail is None else on_frame,
                                             timeout=self.rule.timeout_s)
                followed = tail.finish() if tail is not None and result.returncode == 0 else None
        finally:
            if tail is not None:
                tail.close()
        video.analysis = analysis
        if result.timed_out:
            return Skip(reason="timeout", detail=f"decode pass longer than {self.rule.timeout_s:g} s")
        if result.returncode != 0 or result.errors:
            return Skip(reason="corrupt", detail=f"decode: {' | '.join(result.errors[-2:]) or 'ffmpeg failed'}")
        expected = min(info.duration_s, info.video_s)
        if not analysis.jpegs or analysis.decoded_s < self.rule.min_decoded_fraction * expected - 1 / rate:
            return Skip(reason="corrupt",
                        detail=f"decode: only {analysis.decoded_s:.2f} s of {expected:.2f} s of video decodable")
        if analysis.wav is not None:
            if followed is not None:
                (analysis.samples, analysis.mfcc), analysis.sample_rate = followed, self.cache.sample_rate
            else:
                analysis.samples, analysis.sample_rate = read_mono(analysis.wav)
            analysis.max_rms_dbfs = loudest_window_dbfs(analysis.samples, analysis.sample_rate)
        video.fields.update(decoded_s=round(analysis.decoded_s, 3), motion=round(analysis.motion(), 3),
                            change_range=round(analysis.change_range(), 3))
        return None


def read_mono(wav: Path) -> tuple[np.ndarray, int]:
    """A WAV's samples as one float32 channel, and its rate."""
    import soundfile

    samples, rate = soundfile.read(str(wav), dtype="float32", always_2d=True)
    return (samples[:, 0] if samples.shape[1] == 1 else samples.mean(axis=1)), rate


def loudest_window_dbfs(mono: np.ndarray, rate: int) -> float:
    """Loudness of the loudest 50 ms window in dBFS, floored at -120 (digital silence, no samples)."""
    win = max(1, int(rate * _WINDOW_S))
    usable = len(mono) // win * win
    if usable == 0:
        peak = float(np.sqrt(np.mean(mono**2))) if len(mono) else 0.0
    else:
        peak = float(np.sqrt((mono[:usable].reshape(-1, win) ** 2).mean(axis=1)).max())
    return max(SILENCE_FLOOR_DBFS, 20 * math.log10(peak)) if peak > 0 else SILENCE_FLOOR_DBFS
