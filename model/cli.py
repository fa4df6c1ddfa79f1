"""`emotions model …`: train, eval, predict, benchmark and profile (torch is imported inside the command bodies)."""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

import click

from core.errors import ConfigError, MediaError

PRESET_HELP = "a YAML file or a built-in preset: paper (default), small, tiny"


def _load(config: str | None):
    from model.config import load_config

    return load_config(config)


def _arch_choice(arch: str | None) -> str | None:
    if arch is None:
        return None
    from model.networks import ARCHITECTURES

    if arch not in ARCHITECTURES:
        raise ConfigError(f"unknown architecture {arch!r}", remedy=f"use one of {', '.join(ARCHITECTURES)}")
    return arch


def _summary(metrics: dict) -> str:
    per = "  ".join(f"{k[:2].upper()} {100 * v:.1f}" for k, v in metrics["per_class_acc"].items())
    return (f"{metrics['split']}: ACC {100 * metrics['acc']:.2f}  WA-F1 {100 * metrics['wa_f1']:.2f}  "
            f"UAR {100 * metrics['uar']:.2f}  ({metrics['n']} videos, {metrics.get('n_failed', 0)} failed)\n  {per}")


@click.group()
def model() -> None:
    """Train, evaluate, predict and benchmark AV-CANet and baselines."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@model.command("train")
@click.option("--dataset", "dataset", required=True, type=click.Path(exists=True, path_type=Path),
              help="built dataset: datasets/<name>/<version>[/<variant>] or a manifest file")
@click.option("--arch", default=None, help="architecture (see `emotions model archs`); default from the config")
@click.option("--config", "config", default=None, help=PRESET_HELP)
@click.option("--epochs", type=int, default=None)
@click.option("--batch-size", type=int, default=None, help="micro-batch per process")
@click.option("--grad-accum", type=int, default=None)
@click.option("--variant", default=None, help="variant sub-folder of a dataset version (default all)")
@click.option("--workers", type=int, default=None, help="DataLoader workers per process")
@click.option("--seed", type=int, default=None)
@click.option("--selection", type=click.Choice(["val", "paper", "last"]), default=None,
              help="checkpoint selection: best on val (default), best on test as the paper (optimistic), or last")
@click.option("--val-fraction", type=float, default=None,
              help="carve a stratified val split of this fraction from train when the dataset has none "
                   "(default 0.125 with --selection val)")
@click.option("--pretrained", default=None,
              help="visual branch init: 'imagenet' (torchvision's Swin_T_Weights.IMAGENET1K_V1 from the local "
                   "torch hub cache, inflated to 3D) or a local 2D Swin-T .pth")
@click.option("--pretrained-audio", default=None,
              help="audio branch init: 'imagenet' (ResNet34_Weights.IMAGENET1K_V1 from the local cache) or a .pth")
@click.option("--compile/--no-compile", "compile_", default=None, help="torch.compile on CUDA")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto")
@click.option("--runs-dir", type=click.Path(path_type=Path), default=Path("runs"))
@click.option("--run-id", default=None)
@click.option("--resume", type=click.Path(exists=True, dir_okay=False), default=None,
              help="continue from a last.pt with its config; --epochs, --workers, --device, --compile may change")
def train_cmd(dataset, arch, config, epochs, batch_size, grad_accum, variant, workers, seed, selection, val_fraction,
              pretrained, pretrained_audio, compile_, device, runs_dir, run_id, resume) -> None:
    """Train on a built dataset; writes runs/<id>/ (checkpoints, config, metrics.json, card.md, figures).

    Several GPUs or nodes: `torchrun --nproc-per-node N -m core.cli model train …` (one process per GPU).
    """
    from model.trainer import train

    overrides = {
        "train": {"arch": _arch_choice(arch), "epochs": epochs, "batch_size": batch_size, "grad_accum": grad_accum,
                  "seed": seed, "selection": selection, "compile": compile_, "val_fraction": val_fraction},
        "data": {"variant": variant, "num_workers": workers},
        "net": {"pretrained_visual": _weights(pretrained), "pretrained_audio": _weights(pretrained_audio)},
    }
    if resume is not None and config is not None:
        raise ConfigError("--config cannot be combined with --resume: the checkpoint carries its config",
                          remedy="drop --config; run-time options such as --epochs and --workers still apply")
    cfg = None if resume is not None else _load(config)
    result = train(cfg, dataset, runs_dir=runs_dir, run_id=run_id, device=device, resume=resume, overrides=overrides)
    if result.metrics:
        click.echo(_summary(result.metrics))
        click.echo(f"run: {result.run_dir}")


def _weights(value: str | None) -> str | None:
    """'imagenet', or an existing local file."""
    if value is None or value == "imagenet":
        return value
    if not Path(value).is_file():
        raise ConfigError(f"pretrained weights {value} not found", remedy="give 'imagenet' or a local .pth file")
    return value


@model.command("eval")
@click.option("--checkpoint", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dataset", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--split", default="test", show_default=True, help="train, val, test or all")
@click.option("--variant", default="all", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="output folder (default: next to the checkpoint)")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto")
def eval_cmd(checkpoint, dataset, split, variant, out, device) -> None:
    """Evaluate a checkpoint on a split: metrics.json, confusion and t-SNE PNGs, predictions.csv."""
    from model.evaluate import evaluate_checkpoint, write_outputs

    result, vocab, chosen, manifest = evaluate_checkpoint(checkpoint, dataset, split, variant, device)
    target = out or checkpoint.parent / f"eval-{split}"
    metrics = write_outputs(target, split, result, vocab.classes, [i.sample_id for i in chosen],
                            {"checkpoint": str(checkpoint), "dataset": str(manifest)})
    click.echo(_summary(metrics))
    click.echo(f"outputs: {target}")


@model.command("predict")
@click.option("--checkpoint", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("videos", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="one JSON object per video")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto")
def predict_cmd(checkpoint, videos, as_json, device) -> None:
    """Print the class probabilities of each video (decoded and normalised on the fly)."""
    from model.predict import predict_videos

    failed = 0
    for r in predict_videos(checkpoint, list(videos), device):
        if as_json:
            click.echo(json.dumps(r))
        elif "error" in r:
            click.echo(f"{r['video']}: error: {r['error']}")
        else:
            probs = "  ".join(f"{k} {v:.3f}" for k, v in r["probabilities"].items())
            click.echo(f"{r['video']}: {r['prediction']}  ({probs})")
        failed += "error" in r
    if failed:
        raise MediaError(f"{failed} of {len(videos)} video(s) could not be read")


@model.command("benchmark")
@click.option("--dataset", required=True, type=click.Path(exists=True, path_type=Path),
              help="a built dataset version folder (variants as sub-folders)")
@click.option("--variants", default="all,balanced,test", show_default=True)
@click.option("--archs", default="av_canet,visual_only,audio_only,vanilla", show_default=True)
@click.option("--config", "config", default=None, help=PRESET_HELP)
@click.option("--epochs", type=int, default=None)
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs/benchmark"), show_default=True)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto")
def benchmark_cmd(dataset, variants, archs, config, epochs, out, device) -> None:
    """Train and evaluate every (variant, arch) pair; write a Table IV-style comparison (Markdown, CSV, PNG)."""
    from model.benchmark import run_benchmark

    arch_list = [_arch_choice(a.strip()) for a in archs.split(",") if a.strip()]
    variant_list = [v.strip() for v in variants.split(",") if v.strip()]
    cfg = _load(config).override("train", epochs=epochs)

    def show(row: dict) -> None:
        click.echo(f"{row['variant']:>10} {row['arch']:<22} ACC {100 * row['acc']:.2f}  WA-F1 {100 * row['wa_f1']:.2f}"
                   f"  UAR {100 * row['uar']:.2f}")

    run_benchmark(dataset, cfg, variants=variant_list, archs=arch_list, out_dir=out, device=device, on_result=show)
    click.echo(f"tables: {out / 'benchmark.md'}, {out / 'benchmark.csv'}, {out / 'benchmark.png'}")


@model.command("profile")
@click.option("--arch", default="av_canet", show_default=True)
@click.option("--config", "config", default=None,
              help="model size to time (default: paper on CUDA, small on CPU); the loader always uses paper sampling")
@click.option("--batch-size", type=int, default=None)
@click.option("--workers", type=int, default=None, help="loader workers for the full-pipeline measurement")
@click.option("--steps", type=int, default=5, show_default=True, help="timed training steps")
@click.option("--loader-clips", type=int, default=48, show_default=True, help="clips timed for the loader alone")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto")
@click.option("--json", "as_json", is_flag=True)
def profile_cmd(arch, config, batch_size, workers, steps, loader_clips, device, as_json) -> None:
    """Clips/s of the input pipeline per worker, of the model step alone and of both; FLOPs per clip and MFU."""
    from model.config import preset
    from model.profile import run_profile
    from model.trainer import pick_device

    dev = pick_device(device)
    model_cfg = _load(config or ("paper" if dev.type == "cuda" else "small"))
    model_cfg = model_cfg.override("train", batch_size=batch_size).override("data", num_workers=workers)
    with tempfile.TemporaryDirectory() as tmp:
        result = run_profile(preset("paper"), model_cfg, _arch_choice(arch), dev, Path(tmp), steps=steps,
                             loader_clips=loader_clips)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        click.echo(f"{key:<32} {value:.3f}" if isinstance(value, float) else f"{key:<32} {value}")


@model.command("archs")
def archs_cmd() -> None:
    """List the registered architectures."""
    from model.networks import ARCHITECTURES

    for name, (_, doc) in ARCHITECTURES.items():
        click.echo(f"{name:<22} {doc}")
