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


@lru_cache(maxsize=4)
def _mel_basis(sr: int, n_fft: int, n_mels: int = 128) -> np.ndarray:
    from librosa.filters import mel

    return mel(sr=sr, n_fft=n_fft, n_mels=n_mels).astype(np.float32)


@lru_cache(maxsize=4)
def _window(n_fft: int) -> np.ndarray:
    from scipy.signal import get_window

    return get_window("hann", n_fft, fftbins=True).astype(np.float32)


def mfcc_from_samples(mono: np.ndarray, sr: int, n_mfcc: int, n_fft: int, hop_length: int) -> np.ndarray:
    """float32 MFCC of shape (n_mfcc, 1 + len(mono) // hop_length), librosa's layout and values."""
    import scipy.fft
    from numpy.lib.stride_tricks import sliding_window_view

    padded = np.pad(mono.astype(np.float32, copy=False), (n_fft // 2, n_fft // 2))
    if len(padded) < n_fft:
        padded = np.pad(padded, (0, n_fft - len(padded)))
    frames = sliding_window_view(padded, n_fft)[::hop_length]
    spectrum = scipy.fft.rfft(frames * _window(n_fft), axis=-1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    with _one_blas_thread():  # BLAS sums in a thread-count-dependent order; one thread = same bytes anywhere
        mel = power @ _mel_basis(sr, n_fft).T
    db = 10.0 * np.log10(np.maximum(_AMIN, mel))
    db = np.maximum(db, db.max() - _TOP_DB)
    return scipy.fft.dct(db, axis=-1, type=2, norm="ortho")[:, :n_mfcc].T.astype(np.float32)


def mfcc_matrix(wav: Path, cache: Any) -> np.ndarray:
    """MFCC of a WAV file with the recipe's rate, coefficients, FFT size and hop."""
    import soundfile

    samples, rate = soundfile.read(str(wav), dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    if rate != cache.sample_rate:  # the decode pass resamples already; this guards hand-made inputs
        import librosa

        mono = librosa.resample(mono, orig_sr=rate, target_sr=cache.sample_rate)
    return mfcc_from_samples(mono, cache.sample_rate, cache.n_mfcc, cache.n_fft, cache.hop_length)


def _one_blas_thread() -> Any:
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
