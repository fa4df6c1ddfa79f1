"""The keep rule of duplicate groups: pure rule, then real runs on an original and its upscaled copies."""

import shutil
import subprocess
from datetime import UTC, datetime

from cleaning.executors import LocalExecutor
from cleaning.keep import Member, choose, crawl_time, frame_detail, measurements, upscales
from cleaning.pipeline import run_clean
from cleaning.recipe import load_recipe
from core.manifest import read_rows, write_shard

RATIO, FLOOR = 0.85, 20.0


def _member(order, width, height, kbps=100.0, crawled=None):
    return Member(order=order, path=f"/v/{order}.mp4", name=f"v{order}.mp4", width=width, height=height,
                  duration_s=10.0, kbps=kbps, crawled_at=crawl_time(crawled))


def _at(members, values):
    """Details keyed as the rule reads them: every member at every size `measurements` asks for, from
    `values[i]` (the member's detail, whatever the size) so that a test states one number per member."""
    return {(i, size): values[i] for i, size in measurements(members)}


def test_an_upscale_is_never_kept_whatever_its_pixels_and_bitrate():
    members = [_member(0, 640, 360, kbps=900), _member(1, 426, 240, kbps=25), _member(2, 1280, 720, kbps=2000)]
    details = _at(members, [300.0, 700.0, 400.0])  # both larger copies: well under 0.85 of the original's detail
    assert upscales(members, details, RATIO, FLOOR) == {0: (1, (426, 240)), 2: (1, (426, 240))}
    kept, why = choose(members, details, RATIO, FLOOR)
    assert kept == 1
    assert why[0] == "an upscale of it (0.43 of its detail at 426x240)"  # of the kept member
    assert why[2].startswith("an upscale of it (0.57 ")


def test_each_pair_is_compared_at_its_own_common_size():
    members = [_member(0, 640, 360, kbps=900), _member(1, 320, 180, kbps=150), _member(2, 160, 90, kbps=30)]
    assert sorted(measurements(members)) == [(0, (160, 90)), (0, (320, 180)), (1, (160, 90)), (1, (320, 180)),
                                             (2, (160, 90))]
    # at 160x90 the upscale looks as detailed as its source; at 320x180 it does not
    details = {(0, (160, 90)): 800.0, (1, (160, 90)): 810.0, (2, (160, 90)): 700.0,
               (0, (320, 180)): 500.0, (1, (320, 180)): 1250.0}
    assert upscales(members, details, RATIO, FLOOR) == {0: (1, (320, 180))}
    assert choose(members, details, RATIO, FLOOR) == (1, {0: "an upscale of it (0.40 of its detail at 320x180)",
                                                           2: "a lower video bitrate (30 < 150 kbps)"})
    details[(2, (160, 90))] = 2000.0  # the smallest copy is the most detailed: the other two upscale it
    assert choose(members, details, RATIO, FLOOR) == (2, {0: "an upscale of it (0.40 of its detail at 160x90)",
                                                           1: "an upscale of it (0.41 of its detail at 160x90)"})


def test_a_larger_genuine_original_is_no_upscale_and_wins_on_bitrate():
    members = [_member(0, 320, 180, kbps=46), _member(1, 426, 240, kbps=265)]
    details = _at(members, [912.0, 916.0])  # an original keeps about the detail of its own downscaled copy
    assert upscales(members, details, RATIO, FLOOR) == {}
    assert choose(members, details, RATIO, FLOOR) == (1, {0: "a lower video bitrate (46 < 265 kbps)"})
    assert choose(members, _at(members, [912.0, 0.8 * 912]), RATIO, FLOOR)[0] == 0  # 0.8 of it: an upscale


def test_then_bitrate_then_earliest_crawled_then_earliest_input():
    same = [_member(0, 320, 180, 100, "2026-03-01T00:00:00"), _member(1, 320, 180, 100, "2026-02-01T00:00:00Z"),
            _member(2, 320, 180, 100, None)]
    assert measurements(same) == []  # one frame size: nothing to measure
    kept, why = choose(same, {}, RATIO, FLOOR)
    assert (kept, why) == (1, {0: "crawled later", 2: "crawled later"})  # unknown crawl times come last
    unknown = [_member(0, 320, 180), _member(1, 320, 180)]
    assert choose(unknown, {}, RATIO, FLOOR) == (0, {1: "a later input"})
    richer = [*same, _member(3, 320, 180, 101, None)]
    assert choose(richer, {}, RATIO, FLOOR)[0] == 3


def test_flat_or_unmeasured_members_are_not_compared():
    members = [_member(0, 320, 180, kbps=50), _member(1, 640, 360, kbps=80)]
    assert upscales(members, _at(members, [5.0, 1.0]), RATIO, FLOOR) == {}  # flat pictures say nothing
    assert upscales(members, _at(members, [None, 1.0]), RATIO, FLOOR) == {}
    assert upscales(members, _at(members, [500.0, None]), RATIO, FLOOR) == {}
    assert upscales(members, {}, RATIO, 0.0) == {}
    assert choose(members, _at(members, [None, 1.0]), RATIO, FLOOR)[0] == 1


def test_crawl_time_and_pair_sizes():
    assert crawl_time("2026-01-01T00:00:00") == datetime(2026, 1, 1, tzinfo=UTC)
    assert crawl_time("2026-01-01T08:00:00+08:00") == datetime(2026, 1, 1, tzinfo=UTC)
    assert crawl_time("yesterday") is None and crawl_time(17) is None and crawl_time(None) is None
    rotated = [_member(0, 640, 360), _member(1, 360, 640), _member(2, 426, 240)]  # one size per member
    assert sorted(measurements(rotated)) == [(0, (426, 240)), (1, (360, 240)), (2, (360, 240)), (2, (426, 240))]


def _ffmpeg(*args, cwd=None):
    subprocess.run(["ffmpeg", *args], cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, check=True)


def _upscale(folder, source):
    """The upscaled, heavily compressed copy, made by exactly `ffmpeg -i orig.mp4 -vf scale=640:360 -crf 35 up.mp4`."""
    shutil.copy(source, folder / "orig.mp4")
    _ffmpeg("-i", "orig.mp4", "-vf", "scale=640:360", "-crf", "35", "up.mp4", cwd=folder)
    return folder / "orig.mp4", folder / "up.mp4"


def _rows(out):
    return {r["source_path"].rsplit("/", 1)[-1]: r for r in read_rows(out / "manifest")}


def _recipe():
    return load_recipe(None, workers=2, resolution={"min_short_side": 64})


def test_synthetic_original_beats_its_upscale_downscale_and_their_copies(tmp_path):
    made, src = tmp_path / "made", tmp_path / "src"
    made.mkdir()
    src.mkdir()
    _ffmpeg("-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25", "-f", "lavfi", "-i", "sine=f=440:d=3",
            "-t", "3", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "40", "-pix_fmt", "yuv420p", "-c:a", "aac",
            "-b:a", "32k", str(made / "clip.mp4"))
    orig, up = _upscale(made, made / "clip.mp4")
    _ffmpeg("-v", "error", "-i", str(orig), "-vf", "scale=160:90", "-crf", "35", str(made / "small.mp4"))
    # input order puts the upscale first, and it has the most pixels and the highest bitrate
    shutil.copy(up, src / "a_up.mp4")
    shutil.copy(up, src / "b_up_again.mp4")  # same bytes as the upscale
    shutil.copy(orig, src / "c_orig.mp4")
    shutil.copy(made / "small.mp4", src / "d_small.mp4")
    summary = run_clean(src, tmp_path / "out", _recipe(), executor=LocalExecutor(2))
    rows = _rows(tmp_path / "out")
    assert summary["status"] == {"kept": 1, "duplicate": 3}, {k: (r["status"], r["detail"]) for k, r in rows.items()}
    kept = rows["c_orig.mp4"]
    assert kept["status"] == "kept" and kept["dup_group"] == kept["id"]
    assert rows["a_up.mp4"]["video_kbps"] > kept["video_kbps"]  # bitrate alone would keep the upscale
    for name in ("a_up.mp4", "b_up_again.mp4", "d_small.mp4"):
        assert rows[name]["status"] == "duplicate"
        assert rows[name]["duplicate_of"] == rows[name]["dup_group"] == kept["id"], name
    assert rows["a_up.mp4"]["reason"] == "near_duplicate" and rows["b_up_again.mp4"]["reason"] == "exact_duplicate"
    assert "an upscale of " in rows["a_up.mp4"]["detail"] and "c_orig.mp4" in rows["a_up.mp4"]["detail"]
    assert "a lower video bitrate" in rows["d_small.mp4"]["detail"]
    assert all(rows[n][k] is None for n in ("a_up.mp4", "d_small.mp4") for k in ("web_mp4", "frames", "wav"))


def test_real_clip_is_kept_over_its_upscale(music_video_dir, tmp_path):
    clip = min(music_video_dir.glob("*.mp4"), key=lambda p: p.stat().st_size)  # real 426x240, low bitrate
    made, src = tmp_path / "made", tmp_path / "src"
    made.mkdir()
    src.mkdir()
    orig, up = _upscale(made, clip)
    shutil.copy(up, src / "a_up.mp4")
    shutil.copy(orig, src / "b_orig.mp4")
    run_clean(src, tmp_path / "out", _recipe(), executor=LocalExecutor(2))
    rows = _rows(tmp_path / "out")
    original, upscaled = rows["b_orig.mp4"], rows["a_up.mp4"]
    assert (original["width"], original["height"], upscaled["width"], upscaled["height"]) == (426, 240, 640, 360)
    assert original["status"] == "kept", original["detail"]
    assert (upscaled["status"], upscaled["reason"], upscaled["duplicate_of"]) == ("duplicate", "near_duplicate",
                                                                                  original["id"])
    assert upscaled["video_kbps"] > original["video_kbps"]  # neither pixels nor bitrate point at the original
    assert "an upscale of " in upscaled["detail"] and "at 426x240" in upscaled["detail"]
    seconds = original["duration_s"]
    ratio = frame_detail(str(up), (426, 240), seconds, 8, 60) / frame_detail(str(orig), (426, 240), seconds, 8, 60)
    assert ratio < 0.7  # 0.46-0.58 on real clips: far below the 0.85 bar


def test_earliest_crawled_wins_among_equal_copies(tmp_path):
    crawl = tmp_path / "crawl"
    (crawl / "media").mkdir(parents=True)
    _ffmpeg("-v", "error", "-f", "lavfi", "-i", "testsrc2=s=160x120:r=10", "-f", "lavfi", "-i", "sine=d=3", "-t", "3",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "32k",
            str(crawl / "media" / "a.mp4"))
    _ffmpeg("-v", "error", "-i", str(crawl / "media" / "a.mp4"), "-c", "copy", "-metadata", "title=repost",
            str(crawl / "media" / "b.mp4"))  # the same streams in other bytes
    shutil.copy(crawl / "media" / "a.mp4", crawl / "media" / "c.mp4")
    rows = [{"source": "urls", "platform": "douyin", "platform_id": name, "status": "downloaded",
             "local_path": f"media/{name}.mp4", "crawled_at": when}
            for name, when in (("a", "2026-03-01T00:00"), ("b", "2026-02-01T00:00"), ("c", "2026-01-01T00:00"))]
    write_shard(crawl, "raw", 0, rows, {})
    run_clean(crawl, tmp_path / "out", _recipe(), executor=LocalExecutor(2))
    out = {r["platform_id"]: r for r in read_rows(tmp_path / "out" / "manifest")}
    assert {k: r["status"] for k, r in out.items()} == {"a": "duplicate", "b": "duplicate", "c": "kept"}
    assert out["a"]["reason"] == "exact_duplicate" and out["b"]["reason"] == "near_duplicate"
    assert out["a"]["duplicate_of"] == out["b"]["duplicate_of"] == out["c"]["id"]
    assert "crawled later" in out["b"]["detail"]
    assert out["c"]["crawled_at"] == "2026-01-01T00:00"
