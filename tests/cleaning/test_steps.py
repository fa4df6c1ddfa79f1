import importlib

import pytest

from cleaning.probe import parse_probe
from cleaning.recipe import DEFAULT_STEPS, load_recipe
from cleaning.steps import STEP_TYPES, Video, build_steps
from core.errors import MediaError


def test_every_registered_step_builds_and_follows_the_protocol(tmp_path):
    recipe = load_recipe()
    assert set(DEFAULT_STEPS) <= set(STEP_TYPES)
    for name, target in STEP_TYPES.items():
        module_name, attr = target.split(":")
        module = importlib.import_module(module_name)
        assert module.__doc__ and len(module.__doc__.strip().splitlines()[0]) > 10
        step = getattr(module, attr)(recipe)
        assert step.name == name and callable(step)
    assert [s.name for s in build_steps(recipe)] == list(DEFAULT_STEPS)


def test_executor_registry():
    from cleaning.executors import EXECUTORS, make_executor

    assert set(EXECUTORS) == {"local", "ray"}
    for name in EXECUTORS:
        assert make_executor(name, workers=1).name == name


def _stream(**kw):
    base = {"codec_type": "video", "codec_name": "h264", "width": 640, "height": 360, "pix_fmt": "yuv420p",
            "r_frame_rate": "30/1", "avg_frame_rate": "30/1"}
    return {**base, **kw}


def test_parse_probe_rotation_vfr_and_missing_duration():
    info = parse_probe({"format": {"format_name": "mov", "duration": "12.5", "bit_rate": "800000"},
                        "streams": [_stream(side_data_list=[{"rotation": -90}]),
                                    {"codec_type": "audio", "codec_name": "aac", "sample_rate": "44100",
                                     "channels": 2}]})
    assert (info.width, info.height, info.rotation, info.fps, info.vfr) == (360, 640, 270, 30.0, False)
    assert info.has_audio and info.video_kbps == 800.0
    vfr = parse_probe({"format": {"duration": "3"}, "streams": [_stream(avg_frame_rate="2450/99")]})
    assert vfr.vfr and not vfr.has_audio
    with pytest.raises(MediaError):
        parse_probe({"format": {}, "streams": [_stream()]})


def _video(info=None, analysis=None, tmp=None):
    return Video(index=0, path=tmp, out=tmp, scratch=tmp, info=info, analysis=analysis)


def test_filters_give_precise_reasons(tmp_path):
    import numpy as np

    from cleaning.analyse import Analysis
    from cleaning.filters import BlackFilter, DurationFilter, ResolutionFilter, SilenceFilter, StaticFilter

    recipe = load_recipe(None, duration={"min_s": 2, "max_s": 180})
    short = parse_probe({"format": {"duration": "1.2"}, "streams": [_stream(width=96, height=64)]})
    assert DurationFilter(recipe)(_video(short, tmp=tmp_path)).reason == "too_short"
    assert "1.20 s < 2 s" in DurationFilter(recipe)(_video(short, tmp=tmp_path)).detail
    assert ResolutionFilter(recipe)(_video(short, tmp=tmp_path)).reason == "low_resolution"
    a = Analysis(width=4, height=4, fps=8.0, dark=[1.0, 1.0, 0.1], diffs=[0.0, 0.0])
    a.low, a.high = np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8)
    a.max_rms_dbfs = -70.0
    v = _video(short, a, tmp_path)
    assert BlackFilter(recipe)(v) is None  # 2 of 3 frames black is under the 80 % bar
    a.dark.append(1.0)
    a.dark.extend([1.0] * 10)
    assert BlackFilter(recipe)(v).reason == "black_video"
    assert StaticFilter(recipe)(v).reason == "static_video"
    assert SilenceFilter(recipe)(v).reason == "silent_audio"
    a.high[:] = 200
    assert StaticFilter(recipe)(v) is None


@pytest.mark.filterwarnings("ignore:n_fft=2048 is too large")
def test_mfcc_matches_librosa():
    import librosa
    import numpy as np

    from cleaning.audio import mfcc_from_samples

    rng = np.random.default_rng(0)
    t = np.arange(44_100 * 2) / 44_100
    y = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    ours = mfcc_from_samples(y, 44_100, 32, 2048, 512)
    ref = librosa.feature.mfcc(y=y, sr=44_100, n_mfcc=32, n_fft=2048, hop_length=512)
    assert ours.shape == ref.shape and ours.dtype == np.float32
    assert np.allclose(ours, ref, atol=1e-2, rtol=1e-4)
    short = mfcc_from_samples(y[:300], 44_100, 32, 2048, 512)
    assert short.shape == librosa.feature.mfcc(y=y[:300], sr=44_100, n_mfcc=32).shape


def test_shipped_mel_table_and_window_are_librosas():
    import librosa
    import numpy as np
    from scipy.signal import get_window

    from cleaning.audio import MEL_TABLES, _mel_basis, _window

    tables = sorted(p.name for p in MEL_TABLES.glob("*.npz"))
    assert tables == ["mel_44100_2048_128.npz"]
    assert np.array_equal(_mel_basis(44_100, 2048), librosa.filters.mel(sr=44_100, n_fft=2048).astype(np.float32))
    assert np.array_equal(_mel_basis(22_050, 1024), librosa.filters.mel(sr=22_050, n_fft=1024).astype(np.float32))
    assert np.array_equal(_window(2048), get_window("hann", 2048, fftbins=True).astype(np.float32))


def test_a_worker_computes_the_default_mfcc_without_importing_librosa():
    import subprocess
    import sys

    code = ("import sys, numpy as np; import cleaning.worker; from cleaning.audio import mfcc_from_samples; "
            "m = mfcc_from_samples(np.ones(44_100, np.float32), 44_100, 32, 2048, 512); "
            "print(m.shape, sorted(k for k in ('librosa', 'scipy.signal', 'numba') if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "(32, 87) []"


def test_decode_threads_follow_setting_frame_size_and_workers():
    import os

    from cleaning.analyse import decode_threads

    cores = os.cpu_count() or 1
    assert decode_threads(3, 1, 426 * 240) == 3  # an explicit setting always wins
    assert decode_threads(0, 1, 1280 * 720) == 0  # 0 lets ffmpeg decide
    assert decode_threads(None, 1, 426 * 240) == 1  # small frames: one thread, the other core consumes
    assert decode_threads(None, 1, 640 * 360) == 1
    assert decode_threads(None, 1, 720 * 1280) == cores
    assert decode_threads(None, cores, 720 * 1280) == 1  # a full pool: one thread per worker
    assert decode_threads(None, None, None) == 1
