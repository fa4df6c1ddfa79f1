"""Embedding pass: one pass of a trained checkpoint over a dataset, keeping the fused representation per sample.

`model.evaluate.evaluate_checkpoint` itself, as `emotions model eval` runs it (deterministic evaluation sampling); the
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
    from model.evaluate import evaluate_checkpoint

    # the eval path itself: same checks (classes, training cache), loader, sampler and device code
    result, vocab, chosen, _ = evaluate_checkpoint(checkpoint_of(run), dataset, split=split, variant=variant,
                                                   device=device)
    order = np.asarray(result["index"], dtype=np.int64)
    valid = np.asarray(result["valid"], dtype=bool)
    ids = [chosen[i].sample_id for i in order]
    return Embeddings(sample_ids=[s for s, ok in zip(ids, valid, strict=True) if ok],
                      features=np.asarray(result["embedding"], dtype=np.float32)[valid],
                      labels=np.asarray(result["label"], dtype=np.int64)[valid], classes=tuple(vocab.classes),
                      failed=[s for s, ok in zip(ids, valid, strict=True) if not ok])
