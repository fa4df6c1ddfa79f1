"""Run configuration of the model stage: network, data and training dataclasses with paper/small/tiny presets."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from core.errors import ConfigError


@dataclass
class NetConfig:
    """Network shape. Defaults are model.md's recommended values (paper size, about 69 M parameters)."""

    num_classes: int = 6
    segments: int = 16  # s: snippets per video (visual) and MFCC chunks (audio)
    frames: int = 8  # T: consecutive frames per snippet
    image_size: int = 112
    mfcc_len: int = 4096  # q: MFCC frames per video after tiling / cropping
    n_mfcc: int = 32
    dim: int = 512  # C1 = C2
    pixel_norm: str = "code"  # "code": x/255 - 100/255 (official); "imagenet": mean/std per channel
    # visual branch: Video Swin-T
    swin_patch: tuple[int, int, int] = (2, 4, 4)
    swin_embed_dim: int = 96
    swin_depths: tuple[int, ...] = (2, 2, 6, 2)
    swin_heads: tuple[int, ...] = (3, 6, 12, 24)
    swin_window: tuple[int, int, int] = (8, 7, 7)
    drop_path: float = 0.1
    visual_dropout: float = 0.5  # after spatial pooling, before the temporal mean
    # audio branch: ResNet34 with a one-channel (7x1, stride (2,1)) stem
    audio_layers: tuple[int, ...] = (3, 4, 6, 3)
    audio_width: int = 64
    audio_stem_init: str = "random"  # with ImageNet weights: "random" stem (official) or "inflate" the RGB 7x7 stem
    # LISF (local level)
    pyramid_levels: int = 2  # paper text: two attentive pyramid layers
    window_base: int = 1  # half-window of level l is window_base * 2^(l-1)
    lisf_heads: int = 8
    lisf_ffn: int = 512
    lisf_dropout: float = 0.5
    lisf_attn_dropout: float = 0.1
    # GLCF (global level) and fusion head
    glcf_heads: int = 8
    fusion: str = "mid_concat"  # mid_concat | sum | ew_multiply | gated
    use_lisf: bool = True
    use_glcf: bool = True
    # separate unimodal heads of the ew_multiply / gated fusions exist only for the multi-task loss (the trainer
    # sets this from train.multitask: a head no loss reaches would get no gradient, which DDP refuses)
    unimodal_heads: bool = True
    # 2D ImageNet weights: "imagenet" (torchvision's, from the local hub cache) or a local file; never downloaded
    pretrained_visual: str | None = None
    pretrained_audio: str | None = None


@dataclass
class DataConfig:
    """Input pipeline: sampling, audio length handling, augmentation, loader workers."""

    audio_length_mode: str = "tile"  # "tile" (VAANet: loop then truncate) or "center" (paper: centre-crop / pad)
    crop: str = "code"  # "code": 5-position square crop + one-of(flip, rotate, brightness); "paper": random crop + flip
    augment_p: float = 0.3
    rotate_deg: float = 20.0
    brightness: tuple[float, float] = (0.5, 1.0)
    eval_sampling: str = "center"  # "center" (deterministic) or "random" (the released trainer's behaviour)
    num_workers: int | None = None  # loader workers per process (None: from the CPU count, see default_workers)
    prefetch_factor: int = 4
    pin_memory: bool = True
    variant: str = "all"  # sub-folder of a built dataset when --dataset points at a version folder
    # how the training cache was made (cleaning's cache.fps cap and short side); training records the dataset's,
    # eval refuses a different cache and predict makes its temporary cache with these. None: not recorded.
    cache_fps: float | None = None
    cache_short_side: int | None = None


@dataclass
class TrainConfig:
    """Optimisation and run protocol (paper Section V-A, model.md §1.10-1.11)."""

    arch: str = "av_canet"
    epochs: int = 30
    batch_size: int = 8  # micro-batch per process
    grad_accum: int = 4  # optimizer step every grad_accum micro-batches (deferred update)
    lr: float = 1.5e-4
    min_lr_ratio: float = 0.01
    warmup_epochs: float = 1.5
    warmup_start_ratio: float = 0.1
    lr_schedule: str = "cosine"  # "cosine" (intended, per epoch) or "released" (constant min lr, as published code)
    weight_decay: float = 0.02
    betas: tuple[float, float] = (0.9, 0.999)
    loss: str = "epce"  # "epce" or "ce"
    gamma: tuple[float, float, float] = (0.7, 0.7, 0.7)  # positive, neutral, negative
    multitask: bool = True  # sum of fused, visual and audio losses
    seed: int = 1
    # "val": best epoch on the val split (default); "paper": best on test, as the paper (optimistic); "last"
    selection: str = "val"
    # stratified share of train moved to val when the dataset has none (None: 0.125 with selection val, i.e.
    # 0.8/0.2 becomes 0.7/0.1/0.2; build with `--split 0.8,0.1,0.1` for the paper-sized train split)
    val_fraction: float | None = None
    amp: bool = True  # bf16 autocast on CUDA
    compile: bool = False  # torch.compile on CUDA
    grad_clip: float = 0.0
    eval_every: int = 1
    tsne_max_points: int = 2000
    threads: int = 0  # torch CPU threads per process (0: leave torch's default)


@dataclass
class Config:
    """The resolved recipe of one run; written as config.yaml beside every output."""

    net: NetConfig = field(default_factory=NetConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Config:
        unknown = set(raw) - {"net", "data", "train"}
        if unknown:
            raise ConfigError(f"unknown config section(s): {', '.join(sorted(unknown))}",
                              remedy="use the sections net, data, train")
        return cls(
            net=_build(NetConfig, raw.get("net") or {}, "net"),
            data=_build(DataConfig, raw.get("data") or {}, "data"),
            train=_build(TrainConfig, raw.get("train") or {}, "train"),
        )

    def override(self, section: str, **values: Any) -> Config:
        """A copy with some fields of one section replaced (None values are ignored)."""
        raw = self.to_dict()
        raw[section].update({k: v for k, v in values.items() if v is not None})
        return Config.from_dict(raw)

    def dump_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


# Settings `--resume` may change: they affect speed or reporting, never the weights' shapes or the samples seen.
RESUME_OVERRIDABLE: dict[str, tuple[str, ...]] = {
    "train": ("epochs", "compile", "threads", "eval_every", "tsne_max_points", "amp"),
    "data": ("num_workers", "prefetch_factor", "pin_memory"),
}


def resume_config(saved: Config, overrides: dict[str, dict[str, Any]], epochs_done: int = 0) -> Config:
    """The checkpoint's config with run-time overrides applied (None values ignored).

    ConfigError for an override that would change the model or the sample order (network shape, arch,
    batch size, seed, ...), and for fewer epochs than already done."""
    raw = saved.to_dict()
    for section, values in overrides.items():
        for name, value in values.items():
            if value is None or _plain(value) == raw[section].get(name):
                continue
            if name not in RESUME_OVERRIDABLE.get(section, ()):
                allowed = ", ".join(f"{s}.{n}" for s, names in RESUME_OVERRIDABLE.items() for n in names)
                raise ConfigError(
                    f"--resume cannot change {section}.{name} ({raw[section].get(name)!r} -> {value!r}): it changes "
                    "the model or the samples the run sees", remedy=f"drop it to continue the run, or start a new "
                                                                    f"run; on resume only {allowed} may change")
            raw[section][name] = _plain(value)
    cfg = Config.from_dict(raw)
    if cfg.train.epochs < epochs_done:
        raise ConfigError(f"--epochs {cfg.train.epochs} is fewer than the {epochs_done} epochs already done")
    return cfg


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


CHOICES: dict[str, tuple[str, ...]] = {
    "pixel_norm": ("code", "imagenet"),
    "audio_stem_init": ("random", "inflate"),
    "fusion": ("mid_concat", "sum", "ew_multiply", "gated"),
    "audio_length_mode": ("tile", "center"),
    "crop": ("code", "paper"),
    "eval_sampling": ("center", "random"),
    "lr_schedule": ("cosine", "released", "constant"),
    "loss": ("epce", "ce"),
    "selection": ("paper", "val", "last"),
}


def _build(kind: type, raw: dict[str, Any], section: str) -> Any:
    known = {f.name: f for f in fields(kind)}
    bad = set(raw) - set(known)
    if bad:
        raise ConfigError(f"unknown {section} field(s): {', '.join(sorted(bad))}",
                          remedy=f"known fields: {', '.join(known)}")
    values = {}
    for name, value in raw.items():
        default = getattr(kind(), name)
        values[name] = tuple(value) if isinstance(default, tuple) and value is not None else value
        if name in CHOICES and value not in CHOICES[name]:
            raise ConfigError(f"{section}.{name} = {value!r} is not allowed", remedy=f"use one of {CHOICES[name]}")
    return kind(**values)


# --- presets ---------------------------------------------------------------------------------------

_SMALL = {
    "net": {"segments": 8, "frames": 4, "image_size": 64, "mfcc_len": 1024, "dim": 128,
            "swin_embed_dim": 48, "swin_depths": [1, 1, 2, 1], "swin_heads": [2, 4, 8, 8],
            "swin_window": [2, 4, 4], "audio_layers": [1, 1, 1, 1], "audio_width": 32,
            "lisf_heads": 4, "lisf_ffn": 128, "glcf_heads": 4},
    "train": {"epochs": 10, "batch_size": 8, "grad_accum": 1, "lr": 5e-4, "warmup_epochs": 0.5},
}

_TINY = {
    "net": {"segments": 4, "frames": 4, "image_size": 32, "mfcc_len": 256, "dim": 32,
            "swin_embed_dim": 16, "swin_depths": [1, 1, 1, 1], "swin_heads": [1, 2, 2, 4],
            "swin_window": [2, 4, 4], "drop_path": 0.0, "visual_dropout": 0.1,
            "audio_layers": [1, 1, 1, 1], "audio_width": 8,
            "lisf_heads": 2, "lisf_ffn": 32, "lisf_dropout": 0.1, "glcf_heads": 2},
    "data": {"num_workers": 0, "pin_memory": False, "augment_p": 0.3},
    "train": {"epochs": 6, "batch_size": 8, "grad_accum": 1, "lr": 2e-3, "warmup_epochs": 0.0,
              "weight_decay": 0.01, "amp": False, "threads": 1, "selection": "last"},
}

PRESETS: dict[str, dict[str, Any]] = {"paper": {}, "small": _SMALL, "tiny": _TINY}


def preset(name: str) -> Config:
    """A built-in preset: paper (model.md defaults), small (one GPU, fast), tiny (tests on CPU)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown config preset {name!r}", remedy=f"use one of {', '.join(PRESETS)} or a YAML file")
    return Config.from_dict(PRESETS[name])


def load_config(spec: str | Path | None) -> Config:
    """`spec` is a preset name, a YAML file (optionally with `base: <preset>`), or None for `paper`."""
    if spec is None:
        return preset("paper")
    if str(spec) in PRESETS:
        return preset(str(spec))
    path = Path(spec)
    if not path.is_file():
        raise ConfigError(f"config {spec!r} is neither a preset nor a file",
                          remedy=f"use one of {', '.join(PRESETS)} or a YAML file path")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config {path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"config {path} must be a mapping with sections net, data, train")
    base = preset(str(raw.pop("base", "paper"))).to_dict()
    for section, values in raw.items():
        if not isinstance(values, dict):
            raise ConfigError(f"config {path}: section {section!r} must be a mapping")
        base.setdefault(section, {}).update(values)
    return Config.from_dict(base)
