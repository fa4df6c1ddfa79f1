"""`emotions media …`: synthetic labelled videos for tests, benchmarks and the demo."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cleaning.synth import EdgeCase, synthesize


@click.group()
def media() -> None:
    """Synthetic media for tests and demos."""


@media.command()
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the MP4 files and labels.csv into.")
@click.option("--per-class", default=2, show_default=True, type=click.IntRange(min=0),
              help="Clips per category.")
@click.option("--seed", default=0, show_default=True, type=int, help="Same seed, same bytes.")
@click.option("--size", default="320x240", show_default=True, help="Frame size WxH.")
@click.option("--fps", default=15, show_default=True, type=int)
@click.option("--edge", "edges", multiple=True, type=click.Choice([e.value for e in EdgeCase] + ["all"]),
              help="Also produce this defective clip (repeatable; 'all' for every kind).")
def synth(out_dir: Path, per_class: int, seed: int, size: str, fps: int, edges: tuple[str, ...]) -> None:
    """Generate labelled synthetic H.264/AAC clips (3-12 s) with a pattern and sound per category."""
    kinds = list(EdgeCase) if "all" in edges else [EdgeCase(e) for e in edges]
    total = per_class * 6 + len(kinds)
    with click.progressbar(length=total, label="synthesising", file=sys.stderr) as bar:
        clips = synthesize(out_dir, per_class=per_class, seed=seed, size=size, fps=fps,
                           edge_cases=kinds, progress=lambda _clip: bar.update(1))
    click.echo(f"wrote {len(clips)} clips and labels.csv to {out_dir}")
