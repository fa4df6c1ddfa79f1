"""De-duplication: near duplicates found from perceptual frame hashes + duration, joined into groups.

Near duplicates are found without comparing all pairs: each of `bands` tables keys every video by
a fixed run of `band_bits` bits from each of `band_frames` fixed frame hashes (multi-index hashing
over the signature: two videos whose aligned frames differ in a few bits share many keys). Videos
sharing a key in any table become candidates (within a key, each video is paired with its next
`window` neighbours once sorted, so a crowded key costs O(n), not O(n^2));
candidates are then verified exactly (aligned frame Hamming distances and duration) and joined into
groups with union-find.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_WINDOW = 16
_SEED = 20_240_613  # fixed: the same inputs always give the same tables


def band_keys(sigs: np.ndarray, bands: int, band_frames: int, band_bits: int) -> list[np.ndarray]:
    """One uint64 key per video per band: a fixed random run of bits from each of fixed random frames."""
    n, k = sigs.shape
    rng = np.random.default_rng(_SEED)
    width = max(1, min(band_bits, 64 // max(1, band_frames)))
    mask = np.uint64((1 << width) - 1)
    keys = []
    for _ in range(bands):
        key = np.zeros(n, dtype=np.uint64)
        for frame in rng.choice(k, size=min(band_frames, k), replace=False):
            shift = np.uint64(rng.integers(0, 64 - width + 1))
            key = (key << np.uint64(width)) | ((sigs[:, frame] >> shift) & mask)
        keys.append(key)
    return keys


def candidate_pairs(sigs: np.ndarray, bands: int, band_frames: int, band_bits: int,
                    window: int = _WINDOW) -> np.ndarray:
    """Unique (i, j), i < j, of videos sharing a band key; shape (m, 2) int64."""
    n = len(sigs)
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    tie = sigs[:, sigs.shape[1] // 2]
    codes = []
    for key in band_keys(sigs, bands, band_frames, band_bits):
        order = np.argsort(key)
        ranked = key[order]
        if n > window and np.any(ranked[window:] == ranked[:-window]):
            order = np.lexsort((tie, key))  # a crowded key: put look-alikes next to each other
            ranked = key[order]
        for d in range(1, min(window, n - 1) + 1):
            same = np.flatnonzero(ranked[d:] == ranked[:-d])
            if same.size == 0:
                break  # no run is longer than d, so none is longer than d + 1 either
            a, b = order[same], order[same + d]
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            codes.append(lo.astype(np.int64) * n + hi)
    if not codes:
        return np.zeros((0, 2), dtype=np.int64)
    unique = np.unique(np.concatenate(codes))
    return np.stack([unique // n, unique % n], axis=1)


def verify(sigs: np.ndarray, durations: np.ndarray, pairs: np.ndarray, rule: Any) -> np.ndarray:
    """The candidate pairs that really match: enough aligned frames close in Hamming distance, similar length."""
    if len(pairs) == 0:
        return pairs
    a, b = pairs[:, 0], pairs[:, 1]
    da, db = durations[a], durations[b]
    close_length = np.abs(da - db) <= rule.max_duration_diff * np.maximum(np.maximum(da, db), 1e-9)
    bits = np.bitwise_count(sigs[a] ^ sigs[b])
    need = int(np.ceil(rule.min_matching * sigs.shape[1] - 1e-9))
    matching = (bits <= rule.max_bits).sum(axis=1) >= need
    return pairs[close_length & matching]


def _groups(n: int, pairs: np.ndarray) -> dict[int, list[int]]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in pairs.tolist():
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[int]] = {}
    for i in np.unique(pairs).tolist():  # only videos in a verified pair can be in a group
        groups.setdefault(find(i), []).append(i)
    return {root: members for root, members in groups.items() if len(members) > 1}


def near_duplicate_groups(sigs: np.ndarray, durations: np.ndarray, rule: Any) -> list[list[int]]:
    """Groups (lists of row indices, ascending) of two or more near-duplicate videos."""
    pairs = verify(sigs, durations, candidate_pairs(sigs, rule.bands, rule.band_frames, rule.band_bits), rule)
    return [sorted(members) for members in _groups(len(sigs), pairs).values()]
