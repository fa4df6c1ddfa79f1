import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from crawler.frontier import Frontier
from tests.crawler.conftest import FAST

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.postgres


def test_two_concurrent_workers_share_one_frontier(platform, postgres_url, tmp_path):
    platform.first_time("retry-after.mp4")  # no 429 this time: it serves the same bytes as the first file
    urls = [f"{platform.base}/media/{n}" for n in platform.names] + [
        f"{platform.base}/faults/html.mp4", f"{platform.base}/faults/noai.mp4",
        f"{platform.base}/faults/retry-after.mp4"]
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    platform.media_delay_s = 0.8  # long enough that the second worker starts before the first is done
    out = tmp_path / "shared-out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = []
    for worker in ("wa", "wb"):
        spec = tmp_path / f"{worker}.yaml"
        spec.write_text(yaml.safe_dump({"source": "urls", "file": str(listing), "out": str(out), "workers": 1,
                                        "frontier_url": postgres_url, "worker_id": worker, "politeness": FAST}))
        procs.append(subprocess.Popen([sys.executable, "-m", "core.cli", "crawl", "run", "--recipe", str(spec),
                                       "--quiet"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    for proc in procs:
        _stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr

    rows = {w: [json.loads(line) for p in sorted((out / "manifests").glob(f"raw-{w}-*.jsonl"))
                for line in p.read_text().splitlines()] for w in ("wa", "wb")}
    assert all(rows[w] for w in rows), {w: len(r) for w, r in rows.items()}  # both did work
    every = rows["wa"] + rows["wb"]
    assert sorted(r["key"] for r in every) == sorted(f"url:{u}" for u in urls)  # each item exactly once
    assert Counter((r["status"], r["reason"]) for r in every) == Counter({
        ("downloaded", None): 6, ("failed", "bad_content_type"): 1, ("skipped", "x_robots_tag"): 1,
        ("skipped", "duplicate_sha256"): 1})
    for name in platform.names:
        assert [h.status for h in platform.hits if h.path == f"/media/{name}"] == [200]
    assert len([p for p in (out / "media").rglob("*") if p.is_file()]) == 6

    frontier = Frontier(postgres_url, run="shared-out", worker="probe")
    assert frontier.counts() == {"downloaded": 6, "failed": 1, "skipped": 2}
    assert frontier.claim() is None
    frontier.close()

    status = subprocess.run([sys.executable, "-m", "core.cli", "crawl", "status", str(out), "--json"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    summary = json.loads(status.stdout)
    assert (summary["videos"], summary["by_status"], summary["shards"]) == (
        9, {"downloaded": 6, "failed": 1, "skipped": 2}, {"sealed": 2, "open": 0})


def test_claims_skip_locked_rows_and_expired_leases_come_back(postgres_url):
    from core.records import VideoRef

    a = Frontier(postgres_url, run="r", worker="a", lease_s=0.2)
    b = Frontier(postgres_url, run="r", worker="b", lease_s=0.2)
    refs = [VideoRef(source="urls", media_url=f"http://h.test/{i}.mp4") for i in range(3)]
    assert a.add(refs) == 3 and b.add(refs) == 0
    first, second = a.claim(), b.claim()
    assert (first.media_url, second.media_url) == ("http://h.test/0.mp4", "http://h.test/1.mp4")
    a.finish("url:http://h.test/0.mp4", "downloaded")
    import time

    time.sleep(0.3)  # b's lease on item 1 expires: it is offered again, before the never-claimed item 2
    assert a.claim().media_url == "http://h.test/1.mp4"
    assert b.claim().media_url == "http://h.test/2.mp4"
    assert a.claim() is None
    assert a.claim_key("sha256", "abc", "url:x") is None
    assert b.claim_key("sha256", "abc", "url:y") == "url:x"
    assert a.release() == 1 and b.release() == 1
    assert a.counts() == {"downloaded": 1, "pending": 2}
    a.close()
    b.close()
