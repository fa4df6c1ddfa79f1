"""Files of a label-issues run: ranked label_issues.csv/.parquet, all scores, a JSON summary and a short HTML report
(issues per category, given vs predicted among the issues, the top K with poster frames and vote patterns)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import pandas as pd

from core.manifest import atomic_write_bytes, atomic_write_text
from qa.label_issues import LabelIssues
from qa.render import fmt, to_json

MAX_POSTER_BYTES = 300_000
SOI, EOI = b"\xff\xd8", b"\xff\xd9"


def poster_bytes(poster: str | None, frames: str | None) -> tuple[bytes, str] | None:
    """An image for a sample: its poster file, else the first JPEG of its frames cache (a concatenated JPEG
    stream or a folder of .jpg files); None when neither is there."""
    poster = poster if isinstance(poster, str) and poster else None
    frames = frames if isinstance(frames, str) and frames else None
    if poster and Path(poster).is_file() and Path(poster).stat().st_size <= MAX_POSTER_BYTES:
        kind = {".png": "image/png", ".webp": "image/webp"}.get(Path(poster).suffix.lower(), "image/jpeg")
        return Path(poster).read_bytes(), kind
    if not frames:
        return None
    src = Path(frames)
    if src.is_dir():
        first = next(iter(sorted(src.glob("*.jpg"))), None)
        return (first.read_bytes(), "image/jpeg") if first and first.stat().st_size <= MAX_POSTER_BYTES else None
    if src.is_file():
        with src.open("rb") as handle:
            head = handle.read(MAX_POSTER_BYTES)
        end = head.find(EOI + SOI)
        if head[:2] == SOI and (end > 0 or head.endswith(EOI)):
            return head[: end + 2] if end > 0 else head, "image/jpeg"
    return None


def _parquet(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def write_outputs(out_dir: str | Path, result: LabelIssues, *, top: int = 50, extra: dict[str, Any] | None = None
                  ) -> dict[str, Path]:
    """label_issues.csv/.parquet (ranked issues), label_scores.parquet (every sample), summary.json, report.html."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = {**result.summary, **(extra or {}), "top_k": top,
               "top": result.issues["sample_id"].head(top).tolist()}
    written = {
        "label_issues.csv": atomic_write_text(out / "label_issues.csv", result.issues.to_csv(index=False)),
        "label_issues.parquet": atomic_write_bytes(out / "label_issues.parquet", _parquet(result.issues)),
        "label_scores.parquet": atomic_write_bytes(out / "label_scores.parquet",
                                                   _parquet(result.scores.drop(columns=["frames"]))),
        "summary.json": atomic_write_text(out / "summary.json", to_json(summary) + "\n"),
        "report.html": atomic_write_text(out / "report.html", render_html(result, summary, top)),
    }
    return written


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(fmt(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _card(row: pd.Series, frames: str | None) -> str:
    image = poster_bytes(row.get("poster"), frames)
    img = (f'<img alt="poster" src="data:{image[1]};base64,{base64.b64encode(image[0]).decode()}">' if image
           else '<div class="noposter">no poster</div>')
    facts = [("given", row["given_label"]), ("model", row["predicted_label"]),
             ("quality", fmt(row["quality_score"])), ("votes", row.get("votes")),
             ("decided at", row.get("deciding_rung")), ("mean confidence", fmt(row.get("confidence_mean"))),
             ("median watch (s)", fmt(row.get("watch_s_median"), 1))]
    items = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(fmt(v))}</dd>" for k, v in facts)
    return (f'<figure class="issue" data-sample="{html.escape(str(row["sample_id"]))}">{img}<figcaption>'
            f'<b>#{int(row["rank"])} {html.escape(str(row["sample_id"]))}</b><dl>{items}</dl></figcaption></figure>')


CSS = ("body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:1em 0}"
       "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th:first-child,td:first-child{text-align:left}"
       ".grid{display:flex;flex-wrap:wrap;gap:12px}.issue{width:240px;margin:0;border:1px solid #ddd;padding:6px}"
       ".issue img{width:100%}.noposter{height:90px;background:#eee;color:#777;text-align:center;line-height:90px}"
       "dl{display:grid;grid-template-columns:auto 1fr;gap:0 6px;font-size:13px;margin:4px 0}dd{margin:0}")


def render_html(result: LabelIssues, summary: dict[str, Any], top: int) -> str:
    """The report a lead reads: how many issues, where, confused with what, and the top K to look at first."""
    classes = result.classes
    per = summary["per_category"]
    counts = [[c, per[c]["samples"], per[c]["issues"], per[c]["issues"] / max(per[c]["samples"], 1)]
              for c in classes]
    conf = summary["confusion_given_vs_predicted"]
    confusion = [[g, *[conf[g][p] for p in classes]] for g in classes]
    corner = "given \\ predicted"
    frames = dict(zip(result.scores["sample_id"], result.scores["frames"], strict=True))
    cards = "".join(_card(row, frames.get(row["sample_id"])) for _, row in result.issues.head(top).iterrows())
    source = html.escape(str(summary.get("features_source", "")))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Likely label errors</title><style>{CSS}</style></head><body>
<h1>Likely label errors</h1>
<p id="headline">{summary['n_issues']} of {summary['n_samples']} samples flagged
({100 * summary['issue_rate']:.1f}%); out-of-fold agreement of the model with the given labels
{100 * summary['oof_accuracy']:.1f}% ({summary['folds']} folds). Features: {source}.</p>
<p>Nothing here changes a label: send the top of the list to the expert with
<code>emotions app review-queue add --from label_issues.csv --top K</code>.</p>
<h2>Issues per category (given label)</h2>
{_table(["category", "samples", "issues", "share"], counts)}
<h2>Given vs predicted among the issues</h2>
{_table([corner, *classes], confusion)}
<h2>Top {min(top, len(result.issues))}</h2>
<div class="grid">{cards}</div>
</body></html>
"""
