"""`emotions demo`: run every stage this version provides, end to end, on generated data, offline.

Stages are reached through the CLI registry (never imported here), so the demo grows with the
toolkit: each stage not provided yet is named as such, and nothing is simulated in its place.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import time
from collections import Counter
from pathlib import Path
from urllib.parse import unquote, urlparse

import click

from core.demo_site import serve, write_site
from core.manifest import read_rows
from core.settings import get_settings

PIPELINE = ("crawl", "clean", "app", "qa", "dataset", "model")


def _run(args: list[str]) -> None:
    from core.cli import cli

    click.secho(f"$ emotions {' '.join(args)}", fg="cyan", err=True)
    cli.main(args=args, prog_name="emotions", standalone_mode=False)


def _capture(args: list[str]) -> str:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        _run(args)
    return buffer.getvalue()


def _available(stage: str) -> bool:
    from core.cli import COMMANDS

    return stage in COMMANDS


def _fixture(work: Path, per_class: int, seed: int) -> tuple[Path, dict[str, str]]:
    """Synthetic clips plus one exact copy and one truncated file, laid out as a small website."""
    site = work / "site"
    _run(["media", "synth", "--out", str(site), "--per-class", str(per_class), "--seed", str(seed),
          "--size", "160x120", "--fps", "10", "--edge", "all"])
    with (site / "labels.csv").open(encoding="utf-8") as handle:
        truth = {row["file"]: row["category"] for row in csv.DictReader(handle)}
    first = sorted(f for f in truth if not f.startswith("edge_"))[0]
    shutil.copyfile(site / first, site / "copy of first clip.mp4")  # an exact duplicate under another name
    truth["copy of first clip.mp4"] = truth[first]
    blob = (site / first).read_bytes()
    (site / "broken.mp4").write_bytes(blob[: len(blob) // 2])  # a download that was cut off
    truth["broken.mp4"] = truth[first]
    write_site(site, [(name, f"clip {name}") for name in sorted(truth)])
    return site, truth


def _labels_from_truth(clean: Path, truth: dict[str, str], out: Path) -> int:
    """Final labels for the kept clips from the generator's ground truth (used until annotation runs)."""
    rows = [r for r in read_rows(clean / "manifest") if r["status"] == "kept"]
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sample_id", "category"])
        for row in rows:
            name = unquote(Path(urlparse(row.get("media_url") or row["source_path"]).path).name)
            writer.writerow([row["id"], truth[name]])
    return len(rows)


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Working folder (default: <EMOTIONS_DATA_DIR>/demo); emptied first.")
@click.option("--per-class", default=6, show_default=True, type=click.IntRange(min=2),
              help="Synthetic clips per category.")
@click.option("--epochs", default=4, show_default=True, type=click.IntRange(min=1), help="Training epochs.")
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--serve", is_flag=True, help="Afterwards keep the app running with the demo accounts (Ctrl-C stops).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port for --serve.")
def demo(out_dir: Path | None, per_class: int, epochs: int, seed: int, serve: bool, port: int) -> None:
    """Run the pipeline end to end on generated data and summarise what each stage produced."""
    work = (out_dir or get_settings().data_dir / "demo").resolve()
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    # the demo keeps its own database in its folder; the app server (a child process) inherits it
    saved = os.environ.get("EMOTIONS_DATABASE_URL")
    os.environ["EMOTIONS_DATABASE_URL"] = f"sqlite:///{work / 'emotions.db'}"
    get_settings.cache_clear()
    try:
        _pipeline(work, per_class, epochs, seed)
        if serve and _available("app"):
            _serve(port)
    finally:
        if saved is None:
            os.environ.pop("EMOTIONS_DATABASE_URL", None)
        else:
            os.environ["EMOTIONS_DATABASE_URL"] = saved
        get_settings.cache_clear()


def _pipeline(work: Path, per_class: int, epochs: int, seed: int) -> None:
    started = time.perf_counter()
    summary: list[tuple[str, str]] = []
    not_built = [stage for stage in PIPELINE if not _available(stage)]

    site, truth = _fixture(work, per_class, seed)
    summary.append(("fixture site", f"{len(truth)} files (5 edge cases, 1 exact copy, 1 truncated)"))
    _run(["db", "upgrade"])

    raw, clean = work / "raw", work / "clean"
    source = site
    if _available("crawl"):
        with serve(site) as url:
            _run(["crawl", "run", "--source", "site", "--seed", url, "--limit", "1000", "--out", str(raw),
                  "--min-interval", "0", "--quiet"])
        crawled = Counter(r["status"] for r in read_rows(raw / "manifests"))
        summary.append(("crawl", _counts(crawled) + f"  -> {raw}"))
        source = raw
    if not _available("clean"):
        return _finish(summary, not_built, started)
    _run(["clean", "run", "--source", str(source), "--out", str(clean)])
    cleaned = list(read_rows(clean / "manifest"))
    reasons = Counter(r["reason"] for r in cleaned if r["status"] != "kept")
    summary.append(("clean", _counts(Counter(r["status"] for r in cleaned)) + f"  ({_counts(reasons)})"))

    labels, extra = work / "labels.csv", []
    n_labels = _labels_from_truth(clean, truth, labels)
    if _available("app"):
        labels, extra = _annotate(work, clean, labels, seed, summary)
    else:
        summary.append(("labels", f"{n_labels} from the generator's ground truth"))
    if not _available("dataset"):
        return _finish(summary, not_built, started)
    dataset = work / "dataset"
    small = max(1, per_class // 2)
    _run(["dataset", "build", "--labels", str(labels), "--clean", str(clean), "--out", str(dataset),
          "--balanced", f"Excitation={small},Neutral={small}", "--test-size", str(max(6, n_labels // 2)),
          "--seed", str(seed), *extra])
    built = json.loads((dataset / "build.json").read_text(encoding="utf-8"))["variants"]
    summary.append(("dataset", ", ".join(f"{name} {v['samples']}" for name, v in built.items())
                    + f"  -> {dataset}"))
    if not _available("model"):
        return _finish(summary, not_built, started)
    runs = work / "runs"
    _run(["model", "train", "--dataset", str(dataset), "--config", "tiny", "--epochs", str(epochs),
          "--device", "cpu", "--workers", "0", "--runs-dir", str(runs), "--run-id", "demo", "--seed", str(seed)])
    metrics = json.loads((runs / "demo" / "metrics.json").read_text(encoding="utf-8"))
    summary.append(("model", f"ACC {metrics['acc']:.1%}  WA-F1 {metrics['wa_f1']:.1%}  UAR {metrics['uar']:.1%}"
                    f" on {metrics['n']} test clips  -> {runs / 'demo'}"))
    if _available("qa") and _available("app"):
        _audit_loop(work, dataset, runs / "demo", summary)
    return _finish(summary, not_built, started)


def _audit_loop(work: Path, dataset: Path, run: Path, summary: list[tuple[str, str]]) -> None:
    """Model in the loop: likely label errors of the round, queued for the expert's audit (nothing relabelled)."""
    out = work / "label-issues"
    _capture(["qa", "label-issues", "--dataset", str(dataset), "--run", str(run), "--out", str(out), "--top", "5",
              "--export", str(work / "export"), "--device", "cpu"])
    found = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    _capture(["app", "review-queue", "add", "--from", str(out / "label_issues.csv"), "--top", "5",
              "--reason", "demo: likely label errors"])
    queued = min(5, found["n_issues"])
    summary.append(("label issues", f"{found['n_issues']} likely errors among {found['n_samples']} samples; "
                    f"{queued} queued for the expert's audit (/expert/audit)  -> {out / 'report.html'}"))


def _annotate(work: Path, clean: Path, truth_labels: Path, seed: int,
              summary: list[tuple[str, str]]) -> tuple[Path, list[str]]:
    """Team set-up, simulated voting through the HTTP API, export, QA report; returns labels + build options."""
    from core.demo_annotate import PASSWORD, Server, people, plan, vote_all
    from core.taxonomy import Category

    _run(["app", "init"])
    for name, role, group, gender in people():
        _capture(["app", "create-user", name, "--role", role, "--password", PASSWORD, "--gender", gender,
                  "--language", "en", *(["--group", group] if group else [])])
    _run(["app", "import", str(clean)])
    _run(["app", "distribute", "--batch-size", "2"])  # small batches: every group gets work
    tokens = {name: _capture(["app", "token", name]).strip() for name, *_ in people()}
    with truth_labels.open(encoding="utf-8") as handle:
        truth = {row["sample_id"]: Category.parse(row["category"]) for row in csv.DictReader(handle)}
    patterns = plan(list(truth), seed)
    with Server(work / "app-server.log") as server:
        cast = vote_all(server.base, tokens, truth, patterns, seed)
    export = work / "export"
    _run(["app", "export", "--out", str(export)])
    with (export / "labels.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    decided = Counter(r["decided_stage"] for r in rows if r["status"] == "resolved")
    agree = sum(Category.parse(r["final_category"]) is truth[r["sample_id"]] for r in rows if r["final_category"])
    summary.append(("annotation", f"{sum(cast.values())} votes ({_counts(cast)}); resolved by "
                    f"{_counts(decided)}; {agree}/{len(rows)} match the generator's truth"))
    summary.append(("  planned", _counts(Counter(patterns.values()))))
    extra = ["--votes", str(export / "votes.csv")]
    if _available("qa"):
        reports = work / "reports" / "qa"
        _capture(["qa", "report", "--out", str(reports)])
        report = json.loads((reports / "report.json").read_text(encoding="utf-8"))
        summary.append(("qa", _agreement_line(report) + f"  -> {reports / 'report.html'}"))
        extra += ["--qa", str(reports)]
    return export / "labels.csv", extra


def _serve(port: int) -> None:
    """Keep the demo's app running in the foreground and say how to log in."""
    from core.demo_annotate import PASSWORD, people

    click.echo(f"\nThe annotation app is at http://127.0.0.1:{port}/ (Ctrl-C stops it). Demo accounts, "
               f"password {PASSWORD!r}:")
    for name, role, group, _gender in people():
        click.echo(f"  {name:<12} {role:<7} {('group ' + group) if group else ''}")
    _run(["app", "serve", "--port", str(port)])


def _agreement_line(report: dict) -> str:
    """Fleiss' kappa and Krippendorff's alpha wherever the QA report keeps them."""
    found: dict[str, float] = {}

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("fleiss_kappa", "krippendorff_alpha") and isinstance(value, int | float):
                    found.setdefault(key, value)
                walk(value)

    walk(report)
    return ", ".join(f"{key} {value:.3f}" for key, value in found.items()) or "report written"


def _counts(counter: Counter) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted(counter.items(), key=lambda kv: str(kv[0])))


def _finish(summary: list[tuple[str, str]], not_built: list[str], started: float) -> None:
    click.echo("\nSummary")
    for stage, text in summary:
        click.echo(f"  {stage:<13} {text}")
    if not_built:
        click.echo(f"  not built yet {', '.join(not_built)} (these stages are not part of this version)")
    click.echo(f"  finished in {time.perf_counter() - started:.1f} s")
