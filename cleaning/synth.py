"""Synthetic labelled short videos from ffmpeg's lavfi sources: the fixture factory for tests and demo.

Each category has its own visual pattern and audio signature; a seed fixes every parameter and the
encoder runs bit-exact and single-threaded, so the same seed gives byte-identical files.
"""

from __future__ import annotations

import csv
import os
import random
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from cleaning.ffmpeg import run_ffmpeg
from core.errors import ConfigError
from core.taxonomy import CATEGORIES, Category

MIN_SECONDS, MAX_SECONDS = 3.0, 12.0
SHORT_SECONDS = 0.5
SAMPLE_RATE = 44_100
# zoom centres with distinct fractal detail, so Fear clips do not look like near-duplicates of each other
_FRACTAL_SPOTS = (
    (-0.743643887, 0.131825904), (-0.101096, 0.956286), (-1.250660, 0.020120), (-0.748, 0.1),
    (0.285, 0.01), (-0.8, 0.156), (-1.768778, 0.001738), (-0.235125, 0.827215), (0.360240, -0.641313),
)


class EdgeCase(StrEnum):
    """Defective variants that later stages must detect."""

    NO_AUDIO = "no_audio"
    SILENT = "silent"
    BLACK = "black"
    SHORT = "short"
    STATIC = "static"


@dataclass(frozen=True, slots=True)
class SynthClip:
    """One generated file and its ground truth."""

    file: str
    category: Category
    kind: str  # "normal" or an EdgeCase value
    seconds: float


@dataclass(frozen=True, slots=True)
class _Plan:
    name: str
    category: Category
    kind: str
    seconds: float
    video: str
    audio: str | None


def _video_filter(cat: Category, rng: random.Random, size: str, fps: int, secs: float) -> str:
    w, h = size.split("x")
    seed = rng.randrange(1, 2**31)
    if cat is Category.EXCITATION:  # fast test pattern with cycling saturated colours
        return f"testsrc2=s={size}:r={fps}:d={secs},hue=h={rng.randrange(0, 360)}+t*120:s=2"
    if cat is Category.FEAR:  # dark, zooming fractal
        x, y = rng.choice(_FRACTAL_SPOTS)
        return (
            f"mandelbrot=s={size}:r={fps}:start_x={x}:start_y={y}:start_scale={rng.uniform(0.5, 3.0):.3f}"
            f":end_scale=0.02,hue=h={rng.randrange(0, 360)},eq=brightness=-0.3,trim=duration={secs}"
        )
    if cat is Category.NEUTRAL:  # colour bars drifting slowly sideways
        return f"smptebars=s={size}:r={fps}:d={secs},scroll=h={rng.uniform(0.004, 0.01):.4f}"
    if cat is Category.RELAXATION:  # soft, slowly drifting gradients
        soft = [f"0x{rng.randrange(0x90, 0xd0):02x}{rng.randrange(0xb0, 0xe0):02x}{rng.randrange(0xb0, 0xf0):02x}"
                for _ in range(3)]  # colours given explicitly: gradients draws random ones otherwise
        return (f"gradients=s={size}:r={fps}:d={secs}:speed=0.004:seed={seed}:nb_colors=3"
                f":c0={soft[0]}:c1={soft[1]}:c2={soft[2]}")
    if cat is Category.SADNESS:  # dim blue-grey with film grain
        colour = f"0x{rng.randrange(0x10, 0x30):02x}{rng.randrange(0x20, 0x40):02x}{rng.randrange(0x40, 0x60):02x}"
        return f"color=c={colour}:s={size}:r={fps}:d={secs},noise=alls=12:allf=t:all_seed={seed % 65536}"
    # Tension: flickering red cellular automaton
    return (
        f"life=s={int(w) // 4}x{int(h) // 4}:r={fps}:seed={seed}:ratio=0.15:mold=8"
        f":life_color=#ff2020:death_color=#100000,scale={w}:{h}:flags=neighbor,trim=duration={secs}"
    )


def _audio_filter(cat: Category, rng: random.Random, secs: float) -> str:
    seed = rng.randrange(1, 2**31)
    d = f"d={secs}"
    if cat is Category.EXCITATION:  # bright tone with fast tremolo
        f = rng.randrange(523, 784)
        expr = f"0.35*sin(2*PI*{f}*t)*(0.5+0.5*sin(2*PI*6*t))"
    elif cat is Category.FEAR:  # low brown-noise rumble
        return f"anoisesrc=c=brown:a=0.5:r={SAMPLE_RATE}:seed={seed}:{d}"
    elif cat is Category.NEUTRAL:  # steady mid tone
        expr = f"0.2*sin(2*PI*{rng.randrange(400, 480)}*t)"
    elif cat is Category.RELAXATION:  # low tone with a slow swell
        f = rng.randrange(196, 262)
        expr = f"0.25*sin(2*PI*{f}*t)*(0.6+0.4*sin(2*PI*0.25*t))"
    elif cat is Category.SADNESS:  # low minor third, fading out
        f = rng.randrange(147, 220)
        expr = f"0.3*(sin(2*PI*{f}*t)+sin(2*PI*{f * 1.189:.2f}*t))/2*exp(-t/{secs:.1f})"
    else:  # Tension: minor second beating against a pulse
        f = rng.randrange(300, 420)
        expr = f"0.3*(sin(2*PI*{f}*t)+sin(2*PI*{f * 1.059:.2f}*t))/2*(0.7+0.3*sin(2*PI*9*t))"
    return f"aevalsrc=exprs='{expr}':s={SAMPLE_RATE}:{d}"


def _plans(
    per_class: int, seed: int, size: str, fps: int, edge_cases: Iterable[EdgeCase]
) -> list[_Plan]:
    rng = random.Random(seed)
    plans: list[_Plan] = []
    for cat in CATEGORIES:
        for i in range(per_class):
            secs = round(rng.uniform(MIN_SECONDS, MAX_SECONDS), 2)
            name = f"{cat.value.lower()}_{i:03d}.mp4"
            plans.append(
                _Plan(name, cat, "normal", secs, _video_filter(cat, rng, size, fps, secs),
                      _audio_filter(cat, rng, secs))
            )
    for j, edge in enumerate(edge_cases):
        cat = CATEGORIES[j % len(CATEGORIES)]
        secs = SHORT_SECONDS if edge is EdgeCase.SHORT else round(rng.uniform(MIN_SECONDS, 6.0), 2)
        if edge is EdgeCase.BLACK:
            video = f"color=c=black:s={size}:r={fps}:d={secs}"
        elif edge is EdgeCase.STATIC:  # one still picture for the whole clip
            video = f"smptebars=s={size}:r={fps}:d={secs}"
        else:
            video = _video_filter(cat, rng, size, fps, secs)
        audio: str | None
        if edge is EdgeCase.NO_AUDIO:
            audio = None
        elif edge is EdgeCase.SILENT:
            audio = f"anullsrc=r={SAMPLE_RATE}:cl=mono,atrim=duration={secs}"
        else:
            audio = _audio_filter(cat, rng, secs)
        plans.append(_Plan(f"edge_{edge.value}_{j:02d}.mp4", cat, edge.value, secs, video, audio))
    return plans


def _encode(plan: _Plan, out_dir: Path) -> SynthClip:
    target = out_dir / plan.name
    tmp = out_dir / f".{plan.name}.part.mp4"
    args = ["-y", "-f", "lavfi", "-i", plan.video]
    if plan.audio is not None:
        args += ["-f", "lavfi", "-i", plan.audio]
    args += ["-t", f"{plan.seconds}", "-map", "0:v"]
    if plan.audio is not None:
        args += ["-map", "1:a", "-c:a", "aac", "-b:a", "64k", "-ac", "1", "-ar", str(SAMPLE_RATE)]
    args += [
        "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-threads", "1",
        "-map_metadata", "-1", "-fflags", "+bitexact", "-flags", "+bitexact",
        "-movflags", "+faststart", str(tmp),
    ]
    try:
        run_ffmpeg(args, timeout=120)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return SynthClip(plan.name, plan.category, plan.kind, plan.seconds)


def synthesize(
    out_dir: Path | str,
    *,
    per_class: int = 2,
    seed: int = 0,
    size: str = "320x240",
    fps: int = 15,
    edge_cases: Iterable[EdgeCase] = (),
    workers: int | None = None,
    progress: Callable[[SynthClip], None] | None = None,
) -> list[SynthClip]:
    """Generate `per_class` clips of each category (plus edge cases) and write `labels.csv`.

    `labels.csv` has columns file, category, kind, seconds. Returns the clips in file order.
    """
    if per_class < 0:
        raise ConfigError(f"--per-class must be >= 0, got {per_class}")
    try:
        w, h = (int(x) for x in size.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--size must look like 320x240, got {size!r}") from None
    if w < 32 or h < 32 or w % 4 or h % 4:
        raise ConfigError(f"--size {size}: width and height must be multiples of 4 and at least 32")
    if not 1 <= fps <= 60:
        raise ConfigError(f"--fps must be within 1..60, got {fps}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plans = _plans(per_class, seed, f"{w}x{h}", fps, list(edge_cases))
    clips: list[SynthClip] = []
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        for clip in pool.map(lambda p: _encode(p, out), plans):
            clips.append(clip)
            if progress is not None:
                progress(clip)
    labels = out / "labels.csv"
    tmp = labels.with_suffix(".csv.part")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "category", "kind", "seconds"])
        for clip in clips:
            writer.writerow([clip.file, clip.category.value, clip.kind, f"{clip.seconds:.2f}"])
    os.replace(tmp, labels)
    return clips
