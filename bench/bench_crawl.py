"""Download throughput of the crawler against a plain `requests` loop on the same local files.

Serves N random files of S bytes as video/mp4 on 127.0.0.1 (with sendfile, as a real media server
does, so that on a small machine the server does not eat the CPU the client needs), then downloads
them (rate limiting off) with three plain requests loops over one Session: (a) the everyday one,
`session.get(url).content` written to a file; (b) the fastest one, streaming 1 MiB chunks to the file;
(c) that streaming loop also computing sha256 (the floor for any downloader that records sha256);
and with `emotions crawl run --source urls`: one worker (the loops' concurrency), one worker with
fsync off, the default two workers and several workers. Each measurement is repeated, variants
interleaved, after an untimed `sync`; the median, the best run and the client's CPU time are kept,
with ratios to the streaming loops. The everyday loop runs in a second phase, interleaved with the
default crawler only (its large allocations disturb the runs after it). Prints a table and writes
bench/out/bench_crawl.json.

On raw loopback the server shares the client's cores, so the crawler's sha256 (required in every row)
and its fsyncs cannot hide on a spare core as they do behind a real network link (`--link-mb-s`).
On a virtual machine, writing into memory the guest has not touched lately costs several times more
kernel time (the host backs the pages first); any variant can draw that, so compare medians over
several repeats, and best runs.

    python bench/bench_crawl.py [--files 40] [--mb 2] [--repeat 3] [--workers 4] [--link-mb-s 50]
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


class _Quiet(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    link_mb_s = 0.0  # per-connection sending rate; 0 = as fast as loopback goes

    def log_message(self, *_args: object) -> None:
        return None

    def copyfile(self, source, outputfile) -> None:  # type: ignore[override]
        if not self.link_mb_s:  # zero-copy like nginx or a CDN: the server takes next to no CPU from the client
            outputfile.flush()
            self.connection.sendfile(source)
            return None
        block = 64 * 1024
        started = time.perf_counter()
        sent = 0
        while data := source.read(block):
            outputfile.write(data)
            sent += len(data)
            ahead = sent / (self.link_mb_s * 1e6) - (time.perf_counter() - started)
            if ahead > 0:
                time.sleep(ahead)
        return None


def _serve_forever(folder: str, port_out: multiprocessing.Queue, link_mb_s: float) -> None:
    _Quiet.link_mb_s = link_mb_s
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=folder))
    httpd.daemon_threads = True
    port_out.put(httpd.server_address[1])
    httpd.serve_forever()


def serve(folder: Path, link_mb_s: float = 0.0) -> tuple[multiprocessing.Process, str]:
    """A static file server in its own process, so that it does not compete with the client for the GIL."""
    ports: multiprocessing.Queue = multiprocessing.Queue()
    proc = multiprocessing.Process(target=_serve_forever, args=(str(folder), ports, link_mb_s), daemon=True)
    proc.start()
    return proc, f"http://127.0.0.1:{ports.get(timeout=30)}"


def content_loop(urls: list[str], out: Path) -> None:
    """What most scripts do: the whole body in memory, then one write."""
    import requests

    out.mkdir(parents=True)
    with requests.Session() as session:
        for i, url in enumerate(urls):
            resp = session.get(url, timeout=30)
            resp.raise_for_status()
            (out / f"{i}.mp4").write_bytes(resp.content)


def plain_loop(urls: list[str], out: Path, sha256: bool = False) -> None:
    import hashlib

    import requests

    out.mkdir(parents=True)
    with requests.Session() as session:
        for i, url in enumerate(urls):
            digest = hashlib.sha256()
            with session.get(url, stream=True, timeout=30) as resp:
                resp.raise_for_status()
                with (out / f"{i}.mp4").open("wb") as handle:
                    for chunk in resp.iter_content(1 << 20):
                        handle.write(chunk)
                        if sha256:
                            digest.update(chunk)


def crawler_run(listing: Path, out: Path, workers: int | None, fsync: bool = True) -> None:
    """The crawler with rate limiting off; `workers` None keeps the recipe's default."""
    from crawler.recipe import build_recipe
    from crawler.runner import run_crawl

    chosen = {"workers": workers} if workers else {}
    recipe = build_recipe(None, source="urls", file=listing, out=out, limit=10**6, min_interval_s=0.0,
                          per_host_concurrency=64, jitter_s=0.0, fsync=fsync, **chosen)
    report = run_crawl(recipe)
    assert report.failed == 0 and report.downloaded == len(listing.read_text().split()), report


def measure(runs: dict, repeat: int, work: Path) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and client CPU seconds of each variant, `repeat` times, variants interleaved."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for rep in range(repeat):
        order = list(runs.items())
        order = order[rep % len(order):] + order[:rep % len(order)]  # no variant always runs first
        for index, (name, fn) in enumerate(order):  # interleaved: drift in machine load hits every variant
            out = work / f"out-{rep}-{index}"
            os.sync()  # the previous run's dirty pages go to disk now, not during this run
            start, start_cpu = time.perf_counter(), time.process_time()
            fn(out)
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
            shutil.rmtree(out)
    return times, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--mb", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--link-mb-s", type=float, default=0.0,
                        help="emulate a network link of this many MB/s per connection (0: raw loopback)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-crawl-"))
    try:
        files = work / "files"
        files.mkdir()
        size = int(args.mb * 1024 * 1024)
        for i in range(args.files):
            (files / f"clip{i:04d}.mp4").write_bytes(os.urandom(size))
        server, base = serve(files, args.link_mb_s)
        urls = [f"{base}/clip{i:04d}.mp4" for i in range(args.files)]
        listing = work / "urls.txt"
        listing.write_text("\n".join(urls) + "\n")
        from crawler.recipe import CrawlRecipe

        default = f"crawler, default ({CrawlRecipe.model_fields['workers'].default} w)"
        runs = {"requests stream loop": lambda out: plain_loop(urls, out),
                "stream loop + sha256": lambda out: plain_loop(urls, out, sha256=True),
                "crawler, 1 worker": lambda out: crawler_run(listing, out, 1),
                "crawler, 1 w, no fsync": lambda out: crawler_run(listing, out, 1, fsync=False),
                default: lambda out: crawler_run(listing, out, None),
                f"crawler, {args.workers} workers": lambda out: crawler_run(listing, out, args.workers)}
        times, cpu = measure(runs, args.repeat, work / "a")
        # The everyday loop holds each body in memory; its allocations disturb whatever runs next on a
        # virtual machine, so it is compared with the default crawler in a phase of its own.
        everyday = {"requests .content loop": lambda out: content_loop(urls, out), default: runs[default]}
        times_b, cpu_b = measure(everyday, args.repeat, work / "b")
        server.terminate()
        total_mb = args.files * size / 1e6
        baseline = statistics.median(times["requests stream loop"])
        best_base = min(times["requests stream loop"])
        floor = statistics.median(times["stream loop + sha256"])
        rows = []
        for name, samples in times.items():
            med = statistics.median(samples)
            rows.append({"variant": name, "median_s": round(med, 3), "best_s": round(min(samples), 3),
                         "runs_s": [round(s, 3) for s in samples], "mb_per_s": round(total_mb / med, 1),
                         "vs_stream_loop": round(med / baseline, 3),
                         "best_vs_stream_loop": round(min(samples) / best_base, 3),
                         "vs_stream_loop_sha256": round(med / floor, 3),
                         "cpu_s": round(statistics.median(cpu[name]), 3)})
        content_med, beside = statistics.median(times_b["requests .content loop"]), statistics.median(times_b[default])
        phase_b = {"content_loop_median_s": round(content_med, 3), "content_loop_best_s":
                   round(min(times_b["requests .content loop"]), 3), "crawler_default_median_s": round(beside, 3),
                   "crawler_default_best_s": round(min(times_b[default]), 3),
                   "crawler_vs_content_loop": round(beside / content_med, 3),
                   "content_loop_cpu_s": round(statistics.median(cpu_b["requests .content loop"]), 3)}
        link = f"a {args.link_mb_s:g} MB/s link" if args.link_mb_s else "raw loopback"
        print(f"{args.files} files x {args.mb} MB over {link}, median of {args.repeat}")
        print("x stream, x stream+sha: median / that loop's median; best x stream: best run / its best run")
        print(f"{'variant':<26}{'median s':>9}{'best s':>8}{'MB/s':>8}{'x stream':>9}{'best x stream':>14}"
              f"{'x stream+sha':>13}{'cpu s':>7}")
        for row in rows:
            print(f"{row['variant']:<26}{row['median_s']:>9.3f}{row['best_s']:>8.3f}{row['mb_per_s']:>8.1f}"
                  f"{row['vs_stream_loop']:>9.3f}{row['best_vs_stream_loop']:>14.3f}"
                  f"{row['vs_stream_loop_sha256']:>13.3f}{row['cpu_s']:>7.3f}")
        print(f"everyday loop (session.get(url).content): median {content_med:.3f} s, best "
              f"{phase_b['content_loop_best_s']:.3f} s; {default} beside it: median {beside:.3f} s "
              f"= {phase_b['crawler_vs_content_loop']:.3f}x")
        result = {"files": args.files, "mb_per_file": args.mb, "repeat": args.repeat,
                  "link_mb_s": args.link_mb_s, "results": rows, "everyday_loop": phase_b,
                  "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                              "system": platform.platform()}}
        out_dir = ROOT / "bench" / "out"
        out_dir.mkdir(parents=True, exist_ok=True)
        name = f"bench_crawl_link{args.link_mb_s:g}.json" if args.link_mb_s else "bench_crawl.json"
        (out_dir / name).write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {out_dir / name}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
