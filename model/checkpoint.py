"""Checkpoints carrying weights, optimiser state, the resolved config and the label vocabulary."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch
from torch import nn

from core.errors import ConfigError
from core.manifest import atomic_write_bytes
from model.config import Config
from model.data import Vocabulary
from model.networks import build_model

FORMAT_VERSION = 1


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module under DDP and torch.compile wrappers (in either order)."""
    while type(model).__name__ in ("DistributedDataParallel", "OptimizedModule"):
        model = model._modules.get("_orig_mod") or model._modules["module"]
    return model


def save_checkpoint(path: Path, *, model: nn.Module, cfg: Config, vocab: Vocabulary, epoch: int,
                    optimizer: torch.optim.Optimizer | None = None, **extra: Any) -> Path:
    """Write atomically; `epoch` is the number of completed epochs."""
    state = {
        "format": FORMAT_VERSION,
        "arch": cfg.train.arch,
        "config": cfg.to_dict(),
        "vocabulary": vocab.to_dict(),
        "epoch": epoch,
        "model": unwrap(model).state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        **extra,
    }
    buf = io.BytesIO()
    torch.save(state, buf)
    return atomic_write_bytes(path, buf.getvalue())


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"checkpoint {file} not found")
    try:
        state = torch.load(file, map_location="cpu", weights_only=False)
    except Exception as exc:  # a truncated or foreign file
        raise ConfigError(f"checkpoint {file} is unreadable: {exc}") from None
    if not isinstance(state, dict) or "config" not in state or "vocabulary" not in state:
        raise ConfigError(f"{file} is not a model checkpoint of this toolkit")
    return state


def model_from_checkpoint(path: str | Path) -> tuple[nn.Module, Config, Vocabulary, dict[str, Any]]:
    """Rebuild the model from the file alone (config + vocabulary + weights), in eval mode on CPU."""
    state = read_checkpoint(path)
    cfg = Config.from_dict(state["config"])
    vocab = Vocabulary(tuple(state["vocabulary"]["classes"]), tuple(state["vocabulary"]["polarity"]))
    model = build_model(state["arch"], cfg.net, load_pretrained=False)
    model.load_state_dict(state["model"])
    model.eval()
    return model, cfg, vocab, state
