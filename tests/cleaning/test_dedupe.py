import time

import numpy as np

from cleaning.dedupe import candidate_pairs, near_duplicate_groups, verify
from cleaning.frames import hashes_to_hex, hex_to_hashes, phash, sample_positions
from cleaning.recipe import DedupeRule


def _corpus(n, dups, seed=0, flips=3):
    rng = np.random.default_rng(seed)
    sigs = rng.integers(0, 2**64, size=(n, 16), dtype=np.uint64)
    durations = rng.uniform(2, 180, n)
    pairs = []
    for a, b in rng.choice(n, size=(dups, 2), replace=False):
        copy = sigs[a].copy()
        for f in range(16):
            for bit in rng.choice(64, flips, replace=False):
                copy[f] ^= np.uint64(1) << np.uint64(bit)
        sigs[b], durations[b] = copy, durations[a] * 1.02
        pairs.append(tuple(sorted((int(a), int(b)))))
    return sigs, durations, set(pairs)


def test_finds_planted_near_duplicates_and_nothing_else():
    sigs, durations, truth = _corpus(20_000, 200)
    groups = near_duplicate_groups(sigs, durations, DedupeRule())
    assert {tuple(g) for g in groups} == truth


def test_scales_without_all_pairs():
    sigs, _, truth = _corpus(100_000, 500, seed=1)
    started = time.perf_counter()
    candidates = candidate_pairs(sigs, 48, 2, 16)
    assert len(candidates) < 5 * len(truth)  # far from the 5e9 pairs of a brute force
    assert time.perf_counter() - started < 20


def test_duration_and_frame_majority_rules():
    rule = DedupeRule()
    sigs, durations, truth = _corpus(50, 1, seed=2)
    (a, b), = truth
    pair = np.array([[a, b]])
    assert len(verify(sigs, durations, pair, rule)) == 1
    longer = durations.copy()
    longer[b] = durations[a] * 1.5
    assert len(verify(sigs, longer, pair, rule)) == 0
    spoiled = sigs.copy()
    spoiled[b, :6] = ~spoiled[b, :6]  # 6 of 16 aligned frames differ: fewer than 2/3 match
    assert len(verify(spoiled, durations, pair, rule)) == 0


def test_crowded_bucket_stays_linear():
    sigs = np.zeros((5000, 16), dtype=np.uint64)  # e.g. thousands of identical-looking title cards
    durations = np.full(5000, 10.0)
    groups = near_duplicate_groups(sigs, durations, DedupeRule())
    assert len(groups) == 1 and len(groups[0]) == 5000


def test_phash_is_robust_to_rescaling_and_ignores_corners():
    rng = np.random.default_rng(3)
    base = (rng.random((12, 16)) * 255).astype(np.uint8)
    import cv2

    big = cv2.resize(base, (228, 128), interpolation=cv2.INTER_CUBIC)
    small = cv2.resize(cv2.resize(big, (114, 64)), (228, 128))
    marked = big.copy()
    marked[:15, :30] = 255  # a corner watermark
    h = phash(big)
    assert bin(h ^ phash(small)).count("1") <= 6
    assert h == phash(marked)
    assert hex_to_hashes(hashes_to_hex([h, 1])) == [h, 1]
    assert sample_positions(100, 4) == [12, 37, 62, 87]
    assert sample_positions(3, 4) == [0, 1, 1, 2]
