"""Training cache format, sampling and crop transforms, failure of single samples, and the rank-aware sampler."""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import os
import shutil
import tarfile

import numpy as np
import pytest
import torch

from model.cache import CacheError, decode_jpegs, read_jpeg_frames, read_mfcc, split_jpeg_stream
from model.data import CacheDataset, RankBatchSampler, ShardSampler, load_items
from model.transforms import augment_batch, crop_box, fit_mfcc, sample_indices


def _frames(n=5, h=40, w=60):
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def encode_jpeg_stream(frames):
    """Frames as concatenated JPEGs (the MJPEG-stream container the reader also accepts)."""
    import cv2

    return b"".join(cv2.imencode(".jpg", np.ascontiguousarray(f))[1].tobytes() for f in frames)


def _npz_frames(encoded):
    offsets = np.cumsum([0, *map(len, encoded)]).astype(np.int64)
    buf = io.BytesIO()
    np.savez(buf, data=np.frombuffer(b"".join(encoded), np.uint8), offsets=offsets)
    return buf.getvalue()


def test_jpeg_stream_roundtrip_and_alternative_containers(tmp_path):
    blob = encode_jpeg_stream(_frames())
    assert len(split_jpeg_stream(blob)) == 5
    (tmp_path / "a.frames").write_bytes(blob)
    encoded = list(read_jpeg_frames(tmp_path / "a.frames"))
    assert len(encoded) == 5 and all(e[:2] == b"\xff\xd8" and e[-2:] == b"\xff\xd9" for e in encoded)
    (tmp_path / "a.npz").write_bytes(_npz_frames(encoded))
    assert list(read_jpeg_frames(tmp_path / "a.npz")) == encoded
    with tarfile.open(tmp_path / "a.tar", "w") as tar:
        for i, data in enumerate(encoded):
            info = tarfile.TarInfo(f"{i:06d}.jpg")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    assert list(read_jpeg_frames(tmp_path / "a.tar")) == encoded


def test_bad_cache_files_raise_reasons(tmp_path):
    with pytest.raises(CacheError, match="missing"):
        read_jpeg_frames(tmp_path / "nope.frames")
    (tmp_path / "text.frames").write_bytes(b"hello")
    with pytest.raises(CacheError, match="not a JPEG"):
        read_jpeg_frames(tmp_path / "text.frames")
    blob = encode_jpeg_stream(_frames(2))
    (tmp_path / "cut.frames").write_bytes(blob[: len(blob) - 100])
    with pytest.raises(CacheError, match="truncated"):
        read_jpeg_frames(tmp_path / "cut.frames")
    np.save(tmp_path / "bad.npy", np.zeros((10, 7)))
    with pytest.raises(CacheError, match="shape"):
        read_mfcc(tmp_path / "bad.npy")
    np.save(tmp_path / "t.npy", np.ones((32, 50), np.float16))
    assert read_mfcc(tmp_path / "t.npy").shape == (50, 32)


def test_tsn_sampling():
    rng = np.random.default_rng(0)
    idx = sample_indices(200, 16, 8, rng).reshape(16, 8)
    assert (np.diff(idx, axis=1) == 1).all()  # consecutive frames inside a snippet
    seg = 200 // 16
    assert ((idx[:, 0] // seg) == np.arange(16)).all()  # each snippet inside its own segment
    centred = sample_indices(200, 16, 8, None)
    assert (centred == sample_indices(200, 16, 8, None)).all()
    short = sample_indices(20, 16, 8, None)  # looped when fewer than 128 frames
    assert short.shape == (128,) and short.max() < 20


def test_crop_box_positions():
    assert crop_box(128, 228, None, "code") == (0, 50, 128)
    rng = np.random.default_rng(1)
    boxes = {crop_box(228, 128, rng, "code") for _ in range(50)}
    assert boxes == {(0, 0, 128), (50, 0, 128), (100, 0, 128)}  # portrait: top, centre, bottom


def test_fit_mfcc_modes():
    m = np.arange(10, dtype=np.float32)[:, None].repeat(32, 1)
    tiled = fit_mfcc(m, 25, "tile")
    assert tiled.shape == (25, 32) and tiled[10, 0] == 0 and tiled[24, 0] == 4
    centred = fit_mfcc(m, 4, "center")
    assert centred[:, 0].tolist() == [3, 4, 5, 6]
    padded = fit_mfcc(m, 12, "center")
    assert padded[10:].sum() == 0 and padded[9, 0] == 9
    assert fit_mfcc(np.zeros((0, 32)), 8, "tile").shape == (8, 32)


def test_augment_batch_is_per_video_and_bounded():
    video = torch.full((4, 2, 3, 2, 8, 8), 200.0)
    video[..., :4] = 10.0
    draws = torch.tensor([[0.9, 0.0, 0.5], [0.1, 0.1, 0.5], [0.1, 0.5, 1.0], [0.1, 0.9, 0.0]])
    out = augment_batch(video, draws, mode="code", p=0.3)
    assert torch.equal(out[0], video[0])  # not augmented
    assert torch.equal(out[1], video[1].flip(-1))  # flipped
    assert not torch.equal(out[2], video[2])  # rotated
    assert torch.allclose(out[3], video[3] * 0.5)  # brightness factor 0.5
    assert out.min() >= 0 and out.max() <= 255


def test_dataset_shapes_determinism_and_failed_samples(synth_dataset, tiny, tmp_path, caplog):
    items, vocab, _ = load_items(synth_dataset)
    assert vocab.classes[0] == "Excitation" and len(items) == 18
    net, data = tiny.net, tiny.data
    ds = CacheDataset(items, net, data, train=True, seed=1)
    a, b = ds[0], ds[0]
    assert a["video"].shape == (net.segments, net.frames, net.image_size, net.image_size, 3)
    assert a["video"].dtype == torch.uint8 and a["mfcc"].shape == (net.mfcc_len, net.n_mfcc)
    assert torch.equal(a["video"], b["video"]) and a["valid"]
    ds.set_epoch(1)
    assert not torch.equal(ds[0]["video"], a["video"]) or not torch.equal(ds[0]["draws"], a["draws"])

    # a manifest whose first row points at a missing file and second at a corrupt one
    folder = tmp_path / "broken"
    shutil.copytree(synth_dataset, folder)
    rows = list(csv.DictReader((folder / "manifest.csv").open()))
    (folder / rows[0]["frames"]).unlink()
    (folder / rows[1]["frames"]).write_bytes(b"\xff\xd8garbage")
    items, _, _ = load_items(folder)
    ds = CacheDataset(items, net, data, train=False)
    with caplog.at_level(logging.WARNING, logger="model.data"):
        bad0, bad1, good = ds[0], ds[1], ds[2]
    assert not bad0["valid"] and "missing" in bad0["reason"]
    assert not bad1["valid"] and bad1["reason"]
    assert good["valid"]
    assert "skipped" in caplog.text and rows[0]["sample_id"] in caplog.text


def test_rank_sampler_deals_global_order():
    single = list(RankBatchSampler(20, 3, world=1, seed=5))
    r0 = list(RankBatchSampler(20, 3, world=2, rank=0, seed=5))
    r1 = list(RankBatchSampler(20, 3, world=2, rank=1, seed=5))
    assert len(r0) == len(r1)
    for k in range(len(r0)):
        assert r0[k] == single[2 * k] and r1[k] == single[2 * k + 1]
    sampler = RankBatchSampler(4, 2, seed=5)
    sampler.set_epoch(3)
    assert {e for batch in sampler for _, e in batch} == {3}  # the epoch travels with each index


def test_loader_workers_follow_the_cpu_count_and_persist(synth_dataset, tiny):
    from model.data import default_workers, make_loader

    items, _, _ = load_items(synth_dataset)
    ds = CacheDataset(items, tiny.net, tiny.data, train=True)
    auto = make_loader(ds, RankBatchSampler(len(ds), 2), dataclasses.replace(tiny.data, num_workers=None), cuda=False)
    cores = len(os.sched_getaffinity(0))
    assert auto.num_workers == default_workers() == max(0, min(16, cores - 1))
    two = make_loader(ds, RankBatchSampler(len(ds), 2), tiny.override("data", num_workers=2).data, cuda=False)
    assert two.persistent_workers and two.prefetch_factor == tiny.data.prefetch_factor
    assert default_workers(local_world=64) == 0  # more ranks than cores: load in the main process


def test_carved_val_takes_a_share_of_each_class_and_at_least_one():
    from model.data import Item, carve_val

    items = [Item(f"{c}{i}", c, "train", None, None) for c in range(3) for i in range((2, 8, 16)[c])]
    carved = carve_val(items, 0.125, seed=1)
    per_class = [sum(1 for it in carved if it.label == c and it.split == "val") for c in range(3)]
    assert per_class == [1, 1, 2]  # round(0.125 * n), at least one where a class has two or more
    assert carve_val(carved, 0.5, seed=1) == carved  # a dataset with a val split keeps it


def test_shard_sampler_scores_every_sample_once():
    shards = [[i for batch in ShardSampler(7, 2, world=3, rank=r) for i, _ in batch] for r in range(3)]
    assert shards == [[0, 1, 6], [2, 3], [4, 5]]


def test_cache_policy_is_read_and_checked(synth_dataset, tiny):
    from core.errors import ConfigError
    from model.data import CachePolicy, check_policy, dataset_policy

    items, _, _ = load_items(synth_dataset)
    policy = dataset_policy(items)
    assert policy == CachePolicy(30.0, 40)  # the clean recipe's cap and short side, from the manifest
    header = read_jpeg_frames(items[0].frames)
    assert min(decode_jpegs(header[:1]).shape[1:3]) == 40
    check_policy(tiny.override("data", cache_fps=30.0, cache_short_side=40).data, policy, "eval")
    with pytest.raises(ConfigError, match=r"made with at most 30 fps, short side 40.*trained on at most 8 fps"):
        check_policy(tiny.override("data", cache_fps=8.0, cache_short_side=40).data, policy, "eval")
    # a manifest without the columns: the frame packs' own rate (the 10 fps sources) and short side
    bare = [dataclasses.replace(i, cache_max_fps=None, cache_short_side=None) for i in items]
    assert dataset_policy(bare) == CachePolicy(10.0, 40, inferred=True)
    # 10 fps sources under a 30 fps cap look the same as a 10 fps cap: both checkpoints accept it; a cap below
    # the rate the files show cannot have made them
    check_policy(tiny.override("data", cache_fps=30.0, cache_short_side=40).data, dataset_policy(bare), "eval")
    check_policy(tiny.override("data", cache_fps=10.0, cache_short_side=40).data, dataset_policy(bare), "eval")
    with pytest.raises(ConfigError, match=r"at least 10 fps \(read from the frame files\).*at most 8 fps"):
        check_policy(tiny.override("data", cache_fps=8.0, cache_short_side=40).data, dataset_policy(bare), "eval")
