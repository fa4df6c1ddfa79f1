"""The training loop: AdamW, warm-up + cosine per epoch, gradient accumulation, bf16/compile on CUDA, DDP, resume."""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import sys
import time
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from core.errors import ConfigError
from core.manifest import atomic_write_json, atomic_write_text
from model.checkpoint import read_checkpoint, save_checkpoint, unwrap
from model.config import Config, TrainConfig, resume_config
from model.data import (
    CacheDataset,
    Item,
    RankBatchSampler,
    ShardSampler,
    Vocabulary,
    carve_val,
    check_policy,
    dataset_policy,
    load_items,
    make_loader,
)
from model.evaluate import autocast, gather_results, run_inference, split_metrics, write_outputs, write_run_card
from model.losses import build_loss, multitask_loss
from model.networks import build_model
from model.transforms import augment_batch, to_model_layout

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    """What a finished (or stopped) run produced."""

    run_dir: Path
    metrics: dict[str, Any] = field(default_factory=dict)
    history: dict[str, list] = field(default_factory=dict)
    epochs_done: int = 0


def lr_at(epoch: float, t: TrainConfig) -> float:
    """Epoch-indexed schedule: quadratic warm-up from start_ratio*lr, cosine to min_lr_ratio*lr, flat tail.

    "released" reproduces the published trainer, which evaluated the schedule at the last epoch
    every time, i.e. a constant min lr.
    """
    base, low = t.lr, t.lr * t.min_lr_ratio
    if t.lr_schedule == "released":
        epoch = t.epochs
    elif t.lr_schedule == "constant":
        return base
    warm = t.warmup_epochs
    if epoch < warm:
        start = base * t.warmup_start_ratio
        return start + (base - start) * (epoch / warm) ** 2
    end = max(t.epochs - warm, warm + 1e-9)
    if epoch >= end:
        return low
    progress = (epoch - warm) / (end - warm)
    return low + 0.5 * (base - low) * (1 + math.cos(math.pi * progress))


def pick_device(choice: str, local_rank: int = 0) -> torch.device:
    if choice == "cpu":
        return torch.device("cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda asked for but no CUDA device is visible", remedy="use --device cpu or auto")
    if torch.cuda.is_available() and choice in ("auto", "cuda"):
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def _dist_env() -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return world, int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))


class _Progress:
    """A one-line progress display with clips/s (rank 0 only; quiet when disabled)."""

    def __init__(self, enabled: bool, total: int, epoch: int, epochs: int) -> None:
        self.enabled, self.total, self.epoch, self.epochs = enabled, total, epoch, epochs
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()

    def update(self, done: int, clips: int, loss: float, lr: float) -> None:
        if not self.enabled or not self.tty:
            return
        rate = clips / max(time.perf_counter() - self.t0, 1e-9)
        width = 24
        fill = int(width * done / max(self.total, 1))
        sys.stderr.write(f"\repoch {self.epoch + 1}/{self.epochs} [{'#' * fill}{'.' * (width - fill)}] "
                         f"{done}/{self.total} loss {loss:.4f} lr {lr:.2e} {rate:.1f} clips/s")
        sys.stderr.flush()

    def close(self, line: str) -> None:
        if self.enabled:
            sys.stderr.write(("\r" if self.tty else "") + line + "\n")
            sys.stderr.flush()


def _split(items: list[Item], name: str) -> list[Item]:
    return [i for i in items if i.split == name]


def train(cfg: Config | None, dataset: str | Path, *, runs_dir: str | Path = "runs", run_id: str | None = None,
          device: str = "auto", resume: str | Path | None = None, overrides: dict[str, dict[str, Any]] | None = None,
          stop_after: int | None = None, progress: bool = True) -> RunResult:
    """Train `cfg.train.arch` on a built dataset; one process, or one per GPU/CPU under torchrun (DDP).

    Writes runs/<id>/{config.yaml, last.pt, best.pt, history.json, metrics.json, card.md, confusion.png, tsne.png}.
    `stop_after` ends the call after that many completed epochs (as if killed); `resume` continues
    from a last.pt exactly (same samples, augmentation, dropout and optimiser state) with the checkpoint's
    config plus the run-time `overrides` ({section: {field: value}}; see config.resume_config).
    """
    world, rank, local_rank = _dist_env()
    dev = pick_device(device, local_rank)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    state = read_checkpoint(resume) if resume else None
    if state is not None:
        cfg = resume_config(Config.from_dict(state["config"]), overrides or {}, state["epoch"])
    elif cfg is None:
        raise ConfigError("train() needs a config unless it resumes")
    elif overrides:
        for section, values in overrides.items():
            cfg = cfg.override(section, **values)
    t = cfg.train
    if t.threads:
        torch.set_num_threads(t.threads)
    items, vocab, manifest = load_items(dataset, cfg.data.variant)
    policy = dataset_policy(items)
    if state is not None:
        if list(state["vocabulary"]["classes"]) != list(vocab.classes):
            raise ConfigError("the dataset's classes differ from the checkpoint's", remedy="resume on the same dataset")
        check_policy(cfg.data, policy, "--resume")
    else:  # the checkpoints record the cache the model learnt from; eval and predict hold other inputs to it
        cfg = dataclasses.replace(
            cfg, data=dataclasses.replace(cfg.data, cache_fps=policy.max_fps, cache_short_side=policy.short_side),
            net=dataclasses.replace(cfg.net, num_classes=len(vocab.classes), unimodal_heads=t.multitask))
    fraction = t.val_fraction if t.val_fraction is not None else (0.125 if t.selection == "val" else 0.0)
    items = carve_val(items, fraction, t.seed)
    train_items = _split(items, "train")
    if not train_items:
        raise ConfigError(f"dataset {manifest} has no 'train' rows")
    eval_splits = {name: _split(items, name) for name in ("val", "test") if _split(items, name)}
    if t.selection == "val" and "val" not in eval_splits:
        raise ConfigError("selection 'val' needs a val split in the dataset",
                          remedy="build it with --split 0.8,0.1,0.1, set --val-fraction, or use --selection paper")

    torch.manual_seed(t.seed)
    model = build_model(t.arch, cfg.net, load_pretrained=state is None).to(dev)
    optimizer = torch.optim.AdamW(model.parameters(), lr=t.lr, betas=t.betas, weight_decay=t.weight_decay)
    history: dict[str, list] = {"steps": [], "epochs": []}
    best: dict[str, Any] = {"score": -1.0, "epoch": -1}
    start_epoch = 0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        history, best, start_epoch = state["history"], state["best"], state["epoch"]
        run_dir = Path(state["run_dir"])
    else:
        name = [run_id or time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]]
        if world > 1:  # every rank uses rank 0's run name
            dist.broadcast_object_list(name, src=0)
        run_dir = Path(runs_dir) / name[0]
    if rank == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_dir / "config.yaml", cfg.dump_yaml())

    cuda = dev.type == "cuda"
    net: nn.Module = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(net, device_ids=[local_rank] if cuda else None)
    if t.compile and cuda:  # after the DDP wrap, so DDP's bucketing is traced with the model (PyTorch's advice)
        net = torch.compile(net)
    criterion = build_loss(t.loss, vocab.polarity, t.gamma).to(dev)
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    train_ds = CacheDataset(train_items, cfg.net, cfg.data, train=True, seed=t.seed)
    sampler = RankBatchSampler(len(train_ds), t.batch_size, world=world, rank=rank, shuffle=True, seed=t.seed)
    loader = make_loader(train_ds, sampler, cfg.data, cuda=cuda, local_world=local_world)
    eval_loaders = {  # each rank scores its shard; gather_results joins them
        name: make_loader(CacheDataset(its, cfg.net, cfg.data, train=False, seed=t.seed),
                          ShardSampler(len(its), t.batch_size, world=world, rank=rank), cfg.data, cuda=cuda,
                          local_world=local_world)
        for name, its in eval_splits.items()
    }

    epoch = start_epoch
    for epoch in range(start_epoch, t.epochs):
        torch.manual_seed(t.seed * 100_003 + epoch * 1_009 + rank)  # dropout stream fixed per epoch: exact resume
        lr = lr_at(epoch, t)
        for group in optimizer.param_groups:
            group["lr"] = lr
        sampler.set_epoch(epoch)
        train_ds.set_epoch(epoch)
        stats = _train_epoch(net, loader, optimizer, criterion, cfg, dev, epoch, lr, world, rank, history, progress)
        record: dict[str, Any] = {"epoch": epoch + 1, "lr": lr, **stats}
        if (epoch + 1) % t.eval_every == 0 or epoch + 1 == t.epochs:
            for name, ev_loader in eval_loaders.items():
                result = gather_results(run_inference(unwrap(net), ev_loader, dev, t.amp), world)
                m = split_metrics(result, vocab.classes)
                record[name] = {k: m[k] for k in ("acc", "wa_f1", "uar", "n", "n_failed")}
        score = _selection_score(record, t.selection)
        improved = score is not None and score > best["score"]
        if improved:
            best = {"score": score, "epoch": epoch + 1}
        history["epochs"].append(record)
        if rank == 0:
            ckpt = {"history": history, "best": best, "run_dir": str(run_dir), "dataset": str(manifest)}
            save_checkpoint(run_dir / "last.pt", model=net, cfg=cfg, vocab=vocab, epoch=epoch + 1,
                            optimizer=optimizer, **ckpt)
            if improved:
                save_checkpoint(run_dir / "best.pt", model=net, cfg=cfg, vocab=vocab, epoch=epoch + 1, **ckpt)
            atomic_write_json(run_dir / "history.json", history)
            _summary(record, t.epochs, progress)
        if world > 1:
            dist.barrier()
        if stop_after is not None and epoch + 1 - start_epoch >= stop_after and epoch + 1 < t.epochs:
            return RunResult(run_dir, {}, history, epoch + 1)

    metrics = _final_outputs(run_dir, cfg, vocab, eval_splits, eval_loaders, train_items, dev, best, manifest,
                             world, rank)
    if world > 1:
        dist.barrier()
    return RunResult(run_dir, metrics, history, t.epochs)


def _train_epoch(net: nn.Module, loader, optimizer, criterion, cfg: Config, dev: torch.device, epoch: int,
                 lr: float, world: int, rank: int, history: dict[str, list], progress: bool) -> dict[str, Any]:
    t, d = cfg.train, cfg.data
    net.train()
    total = len(loader)
    bar = _Progress(progress and rank == 0, total, epoch, t.epochs)
    optimizer.zero_grad(set_to_none=True)
    group_loss = torch.zeros((), device=dev)
    in_group, clips, failed, losses = 0, 0, 0, []
    t0 = time.perf_counter()
    for micro, batch in enumerate(loader):
        video = to_model_layout(batch["video"].to(dev, non_blocking=True))
        video = augment_batch(video, batch["draws"], mode=d.crop, p=d.augment_p, rotate_deg=d.rotate_deg,
                              brightness=d.brightness)
        mfcc = batch["mfcc"].to(dev, non_blocking=True)
        label = batch["label"].to(dev, non_blocking=True)
        valid = batch["valid"].to(dev, non_blocking=True)
        failed += int((~batch["valid"]).sum())
        clips += int(batch["valid"].sum())
        last_in_group = (micro + 1) % t.grad_accum == 0 or micro + 1 == total
        sync = nullcontext() if last_in_group or world == 1 else net.no_sync()
        with sync:
            with autocast(dev, t.amp):
                out = net(video, mfcc)
            loss = multitask_loss(criterion, out, label, valid, t.multitask)
            (loss / t.grad_accum).backward()
        group_loss += loss.detach()
        in_group += 1
        if last_in_group:
            if t.grad_clip > 0:
                nn.utils.clip_grad_norm_(net.parameters(), t.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step_loss = group_loss / in_group
            if world > 1:
                dist.all_reduce(step_loss)
                step_loss = step_loss / world
            value = float(step_loss)
            losses.append(value)
            history["steps"].append({"epoch": epoch + 1, "loss": value, "lr": lr})
            group_loss = torch.zeros((), device=dev)
            in_group = 0
            bar.update(micro + 1, clips * world, value, lr)
    elapsed = time.perf_counter() - t0
    return {"train_loss": sum(losses) / max(len(losses), 1), "clips_per_s": clips * world / max(elapsed, 1e-9),
            "failed": failed, "seconds": round(elapsed, 2)}


def _selection_score(record: dict[str, Any], selection: str) -> float | None:
    if selection == "last":
        return float(record["epoch"])
    split = "val" if selection == "val" else "test"
    return record[split]["acc"] if split in record else None


def _summary(record: dict[str, Any], epochs: int, progress: bool) -> None:
    parts = [f"epoch {record['epoch']}/{epochs}", f"loss {record['train_loss']:.4f}", f"lr {record['lr']:.2e}",
             f"{record['clips_per_s']:.1f} clips/s"]
    for name in ("val", "test"):
        if name in record:
            parts.append(f"{name} acc {record[name]['acc']:.3f} uar {record[name]['uar']:.3f}")
    if record.get("failed"):
        parts.append(f"{record['failed']} failed samples")
    line = "  ".join(parts)
    if progress:
        _Progress(True, 0, 0, 0).close(line)
    else:
        log.info(line)


def _final_outputs(run_dir: Path, cfg: Config, vocab: Vocabulary, eval_splits, eval_loaders,
                   train_items: list[Item], dev: torch.device, best: dict[str, Any], manifest: Path, world: int,
                   rank: int) -> dict[str, Any]:
    """Evaluate the selected checkpoint on test (else val, else train), sharded over the ranks; rank 0 writes
    the run's outputs and returns the metrics (the other ranks return {})."""
    ckpt = run_dir / ("best.pt" if (run_dir / "best.pt").exists() else "last.pt")
    state = read_checkpoint(ckpt)
    model = build_model(state["arch"], cfg.net, load_pretrained=False).to(dev)
    model.load_state_dict(state["model"])
    if "test" in eval_splits:
        split, its, loader = "test", eval_splits["test"], eval_loaders["test"]
    elif "val" in eval_splits:
        split, its, loader = "val", eval_splits["val"], eval_loaders["val"]
    else:
        split, its = "train", train_items
        loader = make_loader(CacheDataset(its, cfg.net, cfg.data, train=False),
                             ShardSampler(len(its), cfg.train.batch_size, world=world, rank=rank), cfg.data,
                             cuda=dev.type == "cuda")
    result = gather_results(run_inference(model, loader, dev, cfg.train.amp), world)
    if rank != 0:
        return {}
    extra = {"arch": cfg.train.arch, "checkpoint": ckpt.name, "best_epoch": best["epoch"],
             "selection": cfg.train.selection}
    metrics = write_outputs(run_dir, split, result, vocab.classes, [i.sample_id for i in its], extra,
                            tsne_max_points=cfg.train.tsne_max_points, seed=cfg.train.seed)
    write_run_card(run_dir, metrics, cfg.train.selection, best["epoch"], cfg.train.arch, str(manifest))
    return metrics
