import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from core.manifest import complete_shards, read_rows
from crawler.runner import run_crawl
from tests.crawler.conftest import FAST

ROOT = Path(__file__).resolve().parents[2]


def _summary(out: Path) -> list[tuple]:
    rows = list(read_rows(out / "manifests"))
    return sorted((r["key"], r["status"], r["reason"], r["sha256"], r["bytes"], r["local_path"]) for r in rows)


def _media(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in (out / "media").rglob("*") if p.is_file()}


def _open_rows(out: Path) -> int:
    shard = out / "manifests" / "raw-00000.jsonl"
    return shard.read_bytes().count(b"\n") if shard.exists() else 0


def test_sigkill_mid_run_then_rerun_equals_an_uninterrupted_run(platform, recipe, tmp_path):
    urls = [f"{platform.base}/media/{n}" for n in platform.names] + [
        f"{platform.base}/faults/html.mp4", f"{platform.base}/faults/noai.mp4"]
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    platform.media_delay_s = 0.4
    reference = recipe(source="urls", file=listing, workers=1, out=tmp_path / "reference")
    run_crawl(reference)

    platform.reset()
    platform.media_delay_s = 0.4
    out = tmp_path / "killed"
    spec = tmp_path / "recipe.yaml"
    spec.write_text(yaml.safe_dump({"source": "urls", "file": str(listing), "out": str(out), "workers": 1,
                                    "politeness": FAST}))
    cmd = [sys.executable, "-m", "core.cli", "crawl", "run", "--recipe", str(spec), "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        parts = [p for p in (out / ".state" / "tmp").glob("*.part") if p.stat().st_size > 0] \
            if (out / ".state" / "tmp").exists() else []
        if _open_rows(out) >= 2 and parts:
            break
        time.sleep(0.02)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_rows = _open_rows(out)
    assert 2 <= killed_rows < len(urls)
    assert complete_shards(out / "manifests") == []  # the interrupted shard is not reported as done
    assert list(read_rows(out / "manifests")) == []

    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"already done; 6 in {out}" in done.stdout
    assert _summary(out) == _summary(reference.out)
    assert _media(out) == _media(reference.out)
    assert list((out / ".state" / "tmp").iterdir()) == []
    for name in platform.names:  # nothing finished was fetched again; the interrupted file resumed with Range
        statuses = [h.status for h in platform.hits if h.path == f"/media/{name}"]
        assert statuses in ([200], [200, 206], [200, 416]), (name, statuses)  # 416: it had all bytes already
    resumed = [h for h in platform.hits if h.status in (206, 416)]
    assert len(resumed) == 1 and int(resumed[0].range[6:-1]) > 0  # killed with a .part on disk


def _recorded(out: Path) -> list[dict]:
    """Rows of a crawl folder, the open shard's complete lines included (a killed run leaves it open)."""
    shard = out / "manifests" / "raw-00000.jsonl"
    if complete_shards(out / "manifests") or not shard.exists():
        return list(read_rows(out / "manifests"))
    return [json.loads(line) for line in shard.read_text(encoding="utf-8").splitlines(keepends=True)
            if line.endswith("\n")]


@pytest.mark.skipif(shutil.which("chromedriver") is None, reason="chromedriver not installed")
def test_sigkill_mid_discovery_resumes_without_repeating_finished_items(platform, tmp_path):
    out = tmp_path / "douyin"
    spec = tmp_path / "recipe.yaml"
    spec.write_text(yaml.safe_dump({"source": "douyin", "query": "的一天", "base_url": f"{platform.base}/douyin",
                                    "out": str(out), "workers": 1, "scroll_pause_s": 0.5, "politeness": FAST},
                                   allow_unicode=True), encoding="utf-8")
    cmd = [sys.executable, "-m", "core.cli", "crawl", "run", "--recipe", str(spec), "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    platform.api_delay_s = 1.5  # each listing page takes a while: the kill lands between two of them
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)  # its own group: chromedriver and Chromium die with it
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and _open_rows(out) < 2:
        time.sleep(0.02)
    listed = len(platform.paths("/douyin/aweme/v1/web/"))
    assert proc.poll() is None, proc.communicate()
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert listed < 3  # discovery had not reached the last of the three listing pages
    finished = {r["platform_id"] for r in _recorded(out)}
    assert len(finished) >= 2

    platform.reset()
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"{5 - len(finished)} downloaded, 0 failed, 0 skipped, {len(finished)} already done; 5 in" in done.stdout
    rows = _recorded(out)
    assert sorted((r["platform_id"], r["status"]) for r in rows) == [
        (f"730100000000000000{i}", "downloaded") for i in range(5)]
    assert {r["sha256"] for r in rows} == {platform.media_sha(platform.names[i]) for i in range(5)}
    fetched = [h.path for h in platform.hits if h.path.startswith(("/douyin/cdn-gone/", "/douyin/aweme/v1/play/"))]
    assert sorted({p.split("video_id=")[-1].split("&")[0].removesuffix(".mp4").rsplit("/", 1)[-1]
                   for p in fetched}) == sorted({f"730100000000000000{i}" for i in range(5)} - finished)
    assert list((out / ".state" / "tmp").iterdir()) == []
