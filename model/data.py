"""Dataset side of training: manifest reading, label vocabulary, the cache-backed Dataset and a rank-aware sampler."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from core.errors import ConfigError
from core.manifest import find_dataset_manifest
from core.taxonomy import CATEGORIES, Category
from model.cache import CacheError, frame_pack_header, read_jpeg_frames, read_mfcc
from model.config import DataConfig, NetConfig
from model.losses import POLARITY_CODES
from model.transforms import decode_crop_resize, fit_mfcc, sample_indices

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class Item:
    """One video of a dataset split as the trainer sees it."""

    sample_id: str
    label: int
    split: str
    frames: Path | None
    mfcc: Path | None
    cache_max_fps: float | None = None  # how cleaning made this row's cache (None: not recorded)
    cache_short_side: int | None = None


@dataclass(frozen=True)
class CachePolicy:
    """How a training cache was made: frames at the source's rate up to `max_fps`, short side `short_side`."""

    max_fps: float | None
    short_side: int | None
    # True when read from the frame packs of a manifest without the policy columns: `max_fps` is then only the
    # highest rate seen, a lower bound of the cap (sources slower than the cap are cached at their own rate)
    inferred: bool = False

    def describe(self) -> str:
        if self.inferred and self.max_fps is not None:
            rate = f"at least {self.max_fps:g} fps (read from the frame files)"
        else:
            rate = "unknown frame rate" if self.max_fps is None else f"at most {self.max_fps:g} fps"
        side = "unknown short side" if self.short_side is None else f"short side {self.short_side}"
        return f"{rate}, {side}"


LEGACY_CACHE_FPS = 8.0  # checkpoints written before the cache policy was recorded were trained on 8 fps caches


def dataset_policy(items: Sequence[Item]) -> CachePolicy:
    """The cache policy the manifest records (cleaning's cache_max_fps / cache_short_side columns); for a
    manifest without them, the first frame pack's own header. ConfigError when rows disagree."""
    found = {(i.cache_max_fps, i.cache_short_side) for i in items if i.cache_max_fps is not None}
    if len(found) > 1:
        listed = "; ".join(CachePolicy(*f).describe() for f in sorted(found, key=str))
        raise ConfigError(f"the dataset mixes training caches made with different settings ({listed})",
                          remedy="clean every video with one recipe (cache.fps, cache.short_side)")
    if found:
        return CachePolicy(*found.pop())
    # no columns (a manifest from before they existed): the highest rate and the short side of the first frame
    # packs; rebuilding the dataset with `emotions dataset build` records the columns
    headers = [h for h in (frame_pack_header(i.frames) for i in items[:16] if i.frames is not None) if h]
    if not headers:
        return CachePolicy(None, None)
    return CachePolicy(max(float(h["fps"]) for h in headers),
                       min(int(headers[0]["width"]), int(headers[0]["height"])), inferred=True)


def check_policy(expected: DataConfig, found: CachePolicy, what: str) -> None:
    """ConfigError when a dataset's cache differs from what a checkpoint was trained on (unknowns pass)."""
    want = CachePolicy(expected.cache_fps, expected.cache_short_side)
    rate_differs = None not in (want.max_fps, found.max_fps) and (
        found.max_fps - want.max_fps > 1e-3 if found.inferred else abs(want.max_fps - found.max_fps) > 1e-3)
    side_differs = None not in (want.short_side, found.short_side) and want.short_side != found.short_side
    if rate_differs or side_differs:
        raise ConfigError(
            f"{what}: the dataset's training cache was made with {found.describe()}, the checkpoint was trained "
            f"on {want.describe()}",
            remedy=f"clean the videos again with `emotions clean run --cache-fps {want.max_fps:g}` (recipe "
                   f"cache.short_side {want.short_side}), or use a checkpoint trained on this cache")


@dataclass(frozen=True)
class Vocabulary:
    """Class names in index order and their polarity codes (0 positive, 1 neutral, 2 negative)."""

    classes: tuple[str, ...]
    polarity: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"classes": list(self.classes), "polarity": list(self.polarity)}




def read_table(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".parquet":
        import pandas as pd

        return pd.read_parquet(path).to_dict("records")
    if path.suffix == ".csv":
        import pandas as pd

        return pd.read_csv(path, dtype=str, keep_default_na=False).to_dict("records")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _resolve(value: Any, bases: Sequence[Path]) -> Path | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() in ("", "None", "nan"):
        return None
    p = Path(str(value))
    if p.is_absolute():
        return p
    for base in bases:
        if (base / p).exists():
            return base / p
    return bases[0] / p


def vocabulary_for(categories: Sequence[str], polarity_column: dict[str, str] | None = None) -> Vocabulary:
    """eMotions' six categories when every label is one of them; otherwise the sorted label set."""
    names = sorted(set(categories))
    try:
        for name in names:
            Category.parse(name)
    except ValueError:
        pol = polarity_column or {}
        codes = tuple(POLARITY_CODES.get(str(pol.get(n, "neutral")).lower(), 1) for n in names)
        return Vocabulary(tuple(names), codes)
    return Vocabulary(tuple(c.value for c in CATEGORIES), tuple(POLARITY_CODES[c.polarity.value] for c in CATEGORIES))


COLUMN_ALIASES = {"label": "category", "frames_path": "frames", "cache_frames": "frames", "mfcc_path": "mfcc",
                  "cache_mfcc": "mfcc"}


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(number) else number


def _canonical(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for alias, name in COLUMN_ALIASES.items():
        if alias in out and name not in out:
            out[name] = out[alias]
    return out


def load_items(dataset: str | Path, variant: str = "all") -> tuple[list[Item], Vocabulary, Path]:
    """Rows of a built dataset as Items; columns sample_id (or id), category, split, frames, mfcc."""
    manifest = find_dataset_manifest(dataset, variant)
    rows = read_table(manifest)
    if not rows:
        raise ConfigError(f"dataset manifest {manifest} is empty")
    rows = [_canonical(r) for r in rows]
    missing = {"category", "split", "frames"} - set(rows[0])
    if missing:
        raise ConfigError(f"dataset manifest {manifest} lacks column(s) {', '.join(sorted(missing))}",
                          remedy="build the dataset with the training cache (frames, mfcc columns)")
    pol = {str(r["category"]): str(r["polarity"]) for r in rows if r.get("polarity")}
    vocab = vocabulary_for([str(r["category"]) for r in rows], pol)
    lookup = {c.lower(): i for i, c in enumerate(vocab.classes)}
    bases = [manifest.parent, *manifest.parents]
    items = []
    for r in rows:
        key = str(r["category"]).strip().lower()
        if key not in lookup:
            key = Category.parse(key).value.lower()
        side = _number(r.get("cache_short_side"))
        items.append(Item(str(r.get("sample_id", r.get("id", len(items)))), lookup[key], str(r["split"]).strip(),
                          _resolve(r.get("frames"), bases), _resolve(r.get("mfcc"), bases),
                          _number(r.get("cache_max_fps")), None if side is None else int(side)))
    return items, vocab, manifest


class CacheDataset(Dataset):
    """Videos from the training cache -> dict(video uint8 [s, T, S, S, 3], mfcc float [q, n_mfcc], label, valid).

    Random draws come from a generator seeded by (seed, epoch, index), so samples do not depend on
    worker or rank layout. A sample whose cache cannot be read is returned as zeros with
    valid=False and its reason, and the reason is logged: it fails that sample, not the epoch.
    """

    def __init__(self, items: Sequence[Item], net: NetConfig, data: DataConfig, *, train: bool, seed: int = 1) -> None:
        self.items = list(items)
        self.net, self.data = net, data
        self.train = train
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.items)

    def _rng(self, index: int) -> np.random.Generator | None:
        if self.train or self.data.eval_sampling == "random":
            return np.random.default_rng([self.seed, self.epoch, index])
        return None

    def load(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        item = self.items[index]
        net = self.net
        rng = self._rng(index)
        if item.frames is None:
            raise CacheError("no frames file in the manifest")
        encoded = read_jpeg_frames(item.frames)
        if not encoded:
            raise CacheError("frames file holds no frames")
        idx = sample_indices(len(encoded), net.segments, net.frames, rng)
        unique, inverse = np.unique(idx, return_inverse=True)
        frames = decode_crop_resize([encoded[i] for i in unique], rng, self.data.crop, net.image_size)
        frames = torch.from_numpy(frames[inverse.reshape(-1)])
        video = frames.view(net.segments, net.frames, net.image_size, net.image_size, 3)
        mfcc = read_mfcc(item.mfcc, net.n_mfcc) if item.mfcc is not None else np.zeros((0, net.n_mfcc), np.float32)
        audio = torch.from_numpy(fit_mfcc(mfcc, net.mfcc_len, self.data.audio_length_mode))
        return video, audio

    def draws(self, index: int) -> torch.Tensor:
        """Three uniform numbers driving this sample's batched augmentation (zeros in evaluation)."""
        if not self.train:
            return torch.zeros(3)
        return torch.from_numpy(np.random.default_rng([self.seed, self.epoch, index, 1]).random(3)).float()

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        """`key` is an index, or (index, epoch) as the samplers yield it: persistent loader workers keep their
        own copy of the dataset, so the epoch travels with the index rather than through set_epoch."""
        index, epoch = (key, self.epoch) if isinstance(key, int) else (int(key[0]), int(key[1]))
        self.epoch = epoch
        item = self.items[index]
        try:
            video, audio = self.load(index)
            valid, reason = True, ""
        except (CacheError, ValueError, OSError) as exc:
            net = self.net
            video = torch.zeros(net.segments, net.frames, net.image_size, net.image_size, 3, dtype=torch.uint8)
            audio = torch.zeros(net.mfcc_len, net.n_mfcc)
            valid, reason = False, str(exc)
            log.warning("sample %s skipped: %s", item.sample_id, reason)
        return {"video": video, "mfcc": audio, "label": item.label, "index": index, "valid": valid, "reason": reason,
                "draws": self.draws(index)}


class RankBatchSampler(Sampler[list[int]]):
    """Micro-batches for one rank: a seeded global permutation cut into consecutive micro-batches dealt
    round-robin to ranks, so W processes x 1 micro-batch see exactly what 1 process sees in W micro-batches."""

    def __init__(self, n: int, batch_size: int, *, world: int = 1, rank: int = 0, shuffle: bool = True,
                 seed: int = 1, drop_last: bool = False) -> None:
        self.n, self.batch_size, self.world, self.rank = n, batch_size, world, rank
        self.shuffle, self.seed, self.drop_last = shuffle, seed, drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _batches(self) -> list[list[int]]:
        order = np.random.default_rng([self.seed, self.epoch]).permutation(self.n) if self.shuffle else np.arange(
            self.n)
        batches = [order[i:i + self.batch_size].tolist() for i in range(0, self.n, self.batch_size)]
        if batches and len(batches[-1]) < self.batch_size:
            if self.drop_last:
                batches.pop()
            elif self.world > 1:  # equal shapes on every rank: pad the last batch from the start
                batches[-1] += order[: self.batch_size - len(batches[-1])].tolist()
        return batches[: len(batches) - len(batches) % self.world]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for batch in self._batches()[self.rank::self.world]:
            yield [(i, self.epoch) for i in batch]

    def __len__(self) -> int:
        return len(self._batches()) // self.world


class ShardSampler(Sampler[list[tuple[int, int]]]):
    """Evaluation batches for one rank: consecutive batches of the unshuffled split dealt round-robin, no
    padding (every sample is scored exactly once over all ranks; `gather_results` puts them back together)."""

    def __init__(self, n: int, batch_size: int, *, world: int = 1, rank: int = 0) -> None:
        self.batches = [list(range(i, min(i + batch_size, n))) for i in range(0, n, batch_size)][rank::world]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for batch in self.batches:
            yield [(i, 0) for i in batch]

    def __len__(self) -> int:
        return len(self.batches)


def collate(samples: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "video": torch.stack([s["video"] for s in samples]),
        "mfcc": torch.stack([s["mfcc"] for s in samples]),
        "label": torch.tensor([s["label"] for s in samples], dtype=torch.long),
        "index": torch.tensor([s["index"] for s in samples], dtype=torch.long),
        "valid": torch.tensor([s["valid"] for s in samples], dtype=torch.bool),
        "draws": torch.stack([s["draws"] for s in samples]),
        "reason": [s["reason"] for s in samples],
    }


def _worker_init(_: int) -> None:
    """One thread per loader worker: the workers are the parallelism."""
    import cv2

    torch.set_num_threads(1)
    cv2.setNumThreads(1)


def default_workers(local_world: int = 1) -> int:
    """Loader workers per process: the cores this process may use, shared by the processes on this host,
    one left for the process itself (at most 16)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(0, min(16, cores // max(1, local_world) - 1))


def make_loader(dataset: CacheDataset, sampler: Sampler, data: DataConfig, *, cuda: bool,
                workers: int | None = None, local_world: int = 1) -> DataLoader:
    """A loader whose workers live as long as it does (persistent) and keep `prefetch_factor` batches ahead."""
    if workers is None:
        workers = data.num_workers if data.num_workers is not None else default_workers(local_world)
    return DataLoader(
        dataset, batch_sampler=sampler, num_workers=workers, collate_fn=collate,
        pin_memory=data.pin_memory and cuda, persistent_workers=workers > 0, worker_init_fn=_worker_init,
        prefetch_factor=data.prefetch_factor if workers > 0 else None,
    )


def carve_val(items: list[Item], fraction: float, seed: int) -> list[Item]:
    """Move a seeded, per-class `fraction` of the train rows to a 'val' split (when the dataset has none)."""
    if fraction <= 0 or any(i.split == "val" for i in items):
        return items
    rng = np.random.default_rng([seed, 7])
    by_class: dict[int, list[int]] = {}
    for pos, item in enumerate(items):
        if item.split == "train":
            by_class.setdefault(item.label, []).append(pos)
    chosen: set[int] = set()
    for members in by_class.values():
        k = max(1, round(len(members) * fraction)) if len(members) >= 2 else 0
        chosen.update(rng.permutation(members)[:k].tolist())
    return [dataclasses.replace(it, split="val") if pos in chosen else it for pos, it in enumerate(items)]
