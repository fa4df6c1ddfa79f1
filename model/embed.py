"""Embedding pass: one pass of a trained checkpoint over a dataset, keeping the fused representation per sample.

The same loader and device code as `emotions model eval` (deterministic evaluation sampling); the
`embedding` output is the fused vector the classifier head reads. Used by `emotions qa label-issues`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import ConfigError


@dataclass(frozen=True)
class Embeddings:
    """Per valid sample: id, fused embedding [n, d] float32, given label index; plus the class names."""

    sample_ids: list[str]
    features: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    failed: list[str]


def checkpoint_of(run: str | Path) -> Path:
    """A run folder's best.pt (else last.pt), or the checkpoint file itself."""
    path = Path(run)
    if path.is_file():
        return path
    for name in ("best.pt", "last.pt"):
        if (path / name).is_file():
            return path / name
    raise ConfigError(f"no checkpoint in {path}", remedy="pass a run folder of `emotions model train` or a .pt file")


def embed_dataset(run: str | Path, dataset: str | Path, *, variant: str = "all", split: str = "all",
                  device: str = "auto") -> Embeddings:
    """Embeddings of every sample of `dataset` (or one `split`) from the checkpoint of `run`.

    Samples whose cache cannot be read are left out and named in `failed`.
    """
    from model.checkpoint import model_from_checkpoint
    from model.data import CacheDataset, RankBatchSampler, load_items, make_loader
    from model.evaluate import run_inference
    from model.trainer import pick_device

    net, cfg, vocab, _ = model_from_checkpoint(checkpoint_of(run))
    items, data_vocab, manifest = load_items(dataset, variant)
    if list(data_vocab.classes) != list(vocab.classes):
        raise ConfigError(f"the dataset's classes {list(data_vocab.classes)} differ from the checkpoint's "
                          f"{list(vocab.classes)}")
    chosen = items if split == "all" else [i for i in items if i.split == split]
    if not chosen:
        raise ConfigError(f"no rows with split {split!r} in {manifest}")
    dev = pick_device(device)
    loader = make_loader(CacheDataset(chosen, cfg.net, cfg.data, train=False),
                         RankBatchSampler(len(chosen), cfg.train.batch_size, shuffle=False), cfg.data,
                         cuda=dev.type == "cuda")
    result = run_inference(net.to(dev), loader, dev, cfg.train.amp)
    order = np.asarray(result["index"], dtype=np.int64)
    valid = np.asarray(result["valid"], dtype=bool)
    ids = [chosen[i].sample_id for i in order]
    return Embeddings(sample_ids=[s for s, ok in zip(ids, valid, strict=True) if ok],
                      features=np.asarray(result["embedding"], dtype=np.float32)[valid],
                      labels=np.asarray(result["label"], dtype=np.int64)[valid], classes=tuple(vocab.classes),
                      failed=[s for s, ok in zip(ids, valid, strict=True) if not ok])
