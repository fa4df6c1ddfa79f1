"""Audio features for the training cache: librosa-equivalent MFCC of the mono WAV, computed with numpy.

The result matches `librosa.feature.mfcc(y, sr, n_mfcc, n_fft, hop_length)` (Hann window, centred
zero-padded frames, power spectrum, librosa's Slaney mel filters, dB with an 80 dB floor, orthonormal
DCT-II) to float32 precision, without paying librosa's first-call start-up in every worker.
"""

from __future__ import annotations

import contextlib
import io
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

_AMIN, _TOP_DB = 1e-10, 80.0


MEL_TABLES = Path(__file__).parent / "data"  # librosa's filters for common settings (checked in the tests)


@lru_cache(maxsize=4)
def _mel_basis(sr: int, n_fft: int, n_mels: int = 128) -> np.ndarray:
    """librosa's Slaney mel filters (`librosa.filters.mel`). The recipe's default settings read them from a
    table made by librosa and shipped with the package: importing librosa.filters (numba, scipy.signal)
    would cost every worker process about a second before its first video."""
    table = MEL_TABLES / f"mel_{sr}_{n_fft}_{n_mels}.npz"
    if table.is_file():
        with np.load(table) as stored:
            return stored["mel"]
    from librosa.filters import mel

    return mel(sr=sr, n_fft=n_fft, n_mels=n_mels).astype(np.float32)


@lru_cache(maxsize=4)
def _window(n_fft: int) -> np.ndarray:
    """The periodic Hann window librosa uses (scipy's `get_window("hann", n, fftbins=True)`)."""
    return np.hanning(n_fft + 1)[:-1].astype(np.float32)


class MfccStream:
    """librosa-equivalent MFCC computed while the samples arrive (the decode pass feeds it from a pipe).

    Frames are analysed in fixed batches of `BATCH`, whatever sizes `feed` receives, so the result
    is the same bytes however the samples were split; `mfcc_from_samples` is this class fed once.
    The mel projection uses BLAS: run it under `one_blas_thread()` for bytes that match everywhere.
    """

    BATCH = 256  # frames per STFT batch

    def __init__(self, sr: int, n_mfcc: int, n_fft: int, hop_length: int) -> None:
        self.sr, self.n_mfcc, self.n_fft, self.hop = sr, n_mfcc, n_fft, hop_length
        self._buf = np.zeros(n_fft // 2, np.float32)  # the centred frames' left zero padding
        self._pending: list[np.ndarray] = []  # arrived samples not yet joined to _buf
        self._pending_len = 0
        self._mels: list[np.ndarray] = []
        self._frames_done = 0
        self.samples_seen = 0

    def feed(self, mono: np.ndarray) -> None:
        self.samples_seen += len(mono)
        self._pending.append(mono.astype(np.float32, copy=False))
        self._pending_len += len(mono)
        if len(self._buf) + self._pending_len >= (self.BATCH - 1) * self.hop + self.n_fft:  # a full batch
            self._join()
            self._analyse(final=False)

    def _join(self, *tail: np.ndarray) -> None:
        self._buf = np.concatenate([self._buf, *self._pending, *tail])
        self._pending, self._pending_len = [], 0

    def _analyse(self, final: bool) -> None:
        n_fft, hop = self.n_fft, self.hop
        total = 1 + self.samples_seen // hop  # librosa's frame count for centred frames
        while True:
            ready = (len(self._buf) - n_fft) // hop + 1 if len(self._buf) >= n_fft else 0
            ready = min(ready, total - self._frames_done)
            if ready < self.BATCH and not (final and ready > 0):
                return
            take = min(ready, self.BATCH)
            from numpy.lib.stride_tricks import sliding_window_view

            frames = sliding_window_view(self._buf[: (take - 1) * hop + n_fft], n_fft)[::hop]
            self._mels.append(_mel_power(frames, self.sr, n_fft))
            self._frames_done += take
            self._buf = self._buf[take * hop:]

    def result(self) -> np.ndarray:
        """float32 MFCC of shape (n_mfcc, 1 + samples // hop_length), librosa's layout and values."""
        self._join(np.zeros(self.n_fft // 2, np.float32))  # right padding
        if len(self._buf) < self.n_fft:
            self._buf = np.pad(self._buf, (0, self.n_fft - len(self._buf)))
        self._analyse(final=True)
        import scipy.fft

        mel = np.concatenate(self._mels) if self._mels else np.zeros((1, 128), np.float32)
        db = 10.0 * np.log10(np.maximum(_AMIN, mel))
        db = np.maximum(db, db.max() - _TOP_DB)
        return scipy.fft.dct(db, axis=-1, type=2, norm="ortho")[:, : self.n_mfcc].T.astype(np.float32)


def _mel_power(frames: np.ndarray, sr: int, n_fft: int) -> np.ndarray:
    """Mel power spectrum (frames x 128) of windowed frames."""
    import scipy.fft

    spectrum = scipy.fft.rfft(frames * _window(n_fft), axis=-1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    return power @ _mel_basis(sr, n_fft).T


def mfcc_from_samples(mono: np.ndarray, sr: int, n_mfcc: int, n_fft: int, hop_length: int) -> np.ndarray:
    """float32 MFCC of shape (n_mfcc, 1 + len(mono) // hop_length), librosa's layout and values."""
    stream = MfccStream(sr, n_mfcc, n_fft, hop_length)
    with one_blas_thread():
        stream.feed(mono)
        return stream.result()


def mfcc_matrix(wav: Path, cache: Any) -> np.ndarray:
    """MFCC of a WAV file with the recipe's rate, coefficients, FFT size and hop."""
    import soundfile

    samples, rate = soundfile.read(str(wav), dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    if rate != cache.sample_rate:  # the decode pass resamples already; this guards hand-made inputs
        import librosa

        mono = librosa.resample(mono, orig_sr=rate, target_sr=cache.sample_rate)
    return mfcc_from_samples(mono, cache.sample_rate, cache.n_mfcc, cache.n_fft, cache.hop_length)


def one_blas_thread() -> Any:
    """BLAS sums in a thread-count-dependent order; one thread gives the same bytes anywhere."""
    try:
        from threadpoolctl import threadpool_limits  # installed with librosa (through scikit-learn)
    except ModuleNotFoundError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def npy_bytes(array: np.ndarray) -> bytes:
    """The .npy encoding of an array (deterministic: same array, same bytes)."""
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()
