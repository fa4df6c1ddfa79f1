"""The dataset card (datasheet) of one variant, rendered as Markdown from the build's facts and statistics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core import __version__
from core.errors import ConfigError
from dataset.stats import splits_markdown, table_ii_markdown, table_iii_markdown

VARIANT_TEXT = {
    "all": "every sample with a resolved final label.",
    "balanced": "a fixed number of randomly drawn samples of the largest categories and every sample of the others "
                "(the paper's eMotions_balanced draws 4,000 Excitation and 3,000 Neutral).",
    "test": "a random draw of a fixed size whose category shares equal those of `all` "
            "(the paper's eMotions_test, 5,000 samples), rounded by largest remainder so the total is exact.",
}


def qa_files(path: Path | str) -> list[Path]:
    """The QA report files a `--qa` path names: one JSON file, or every JSON file of a reports folder."""
    src = Path(path)
    return sorted(src.glob("*.json")) if src.is_dir() else [src]


def read_qa(path: Path | str | None) -> dict[str, float] | None:
    """Numeric agreement figures from QA JSON reports (nested keys joined by '.'), or None.

    For a folder (the QA stage's `--out`), each file's keys are prefixed with its name (`kappa.overall`).
    """
    if path is None:
        return None
    src = Path(path)
    files = qa_files(src)
    if src.is_dir() and not files:
        raise ConfigError(f"QA reports folder {src}: no JSON report in it", remedy="run the QA stage with --out")
    flat: dict[str, float] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k in sorted(value):
                walk(f"{prefix}.{k}" if prefix else str(k), value[k])
        elif isinstance(value, int | float) and not isinstance(value, bool):
            flat[prefix] = float(value)

    for file in files:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"QA report {file}: cannot read ({exc.strerror})") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"QA report {file}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        walk(file.stem if src.is_dir() else "", data)
    return flat


def _counts_line(counts: dict[str, int]) -> str:
    items = [f"{k.replace('_', ' ')}: {v:,}" for k, v in sorted(counts.items()) if v]
    return "; ".join(items) if items else "none"


def render(ctx: dict[str, Any]) -> str:
    """card.md text. `ctx` holds recipe, variant, stats, selection, left_out, inputs, qa, figures, votes."""
    recipe = ctx["recipe"]
    variant = ctx["variant"]
    stats = ctx["stats"]
    sel = ctx["selection"]
    title = f"{recipe['name']} {recipe['version']} — variant `{variant}`"
    out: list[str] = [f"# {title}", "", recipe["description"], ""]

    out += ["## Summary", "",
            f"- Variant `{variant}`: {VARIANT_TEXT[variant]}",
            f"- Samples: {stats['samples']:,} in {len(stats['categories'])} categories "
            f"({', '.join(stats['categories'])}; label index in this order).",
            (f"- Splits: taken from the `{recipe['split_column']}` column of the labels." if recipe.get("split_column")
             else "- Splits: " + ", ".join(f"{k} {v:.0%}" for k, v in ctx["ratios"].items())
             + f", stratified by category, seed {recipe['seed']}; near-duplicate groups never straddle splits."),
            f"- Built by emotions {__version__}; recipe in `recipe.yaml`, checksums in `SHA256SUMS`.", ""]

    out += ["## Composition", "", "Numbers asked and taken per category:", "",
            "| Category | Asked | Taken |", "|---|---:|---:|"]
    for cat in stats["categories"]:
        asked = sel["asked"].get(cat)
        out.append(f"| {cat} | {'all' if asked is None else f'{asked:,}'} | {sel['taken'][cat]:,} |")
    out.append("")
    if sel["shortfalls"]:
        out.append("**Shortfalls** (fewer samples available than asked; all available were taken):")
        out.append("")
        for cat, s in sel["shortfalls"].items():
            out.append(f"- {cat}: asked {s['asked']:,}, available {s['available']:,}")
        out.append("")
    else:
        out += ["No shortfall: every category had at least the samples asked for.", ""]

    inputs = ctx["inputs"]
    clean_line = (f"- Clean manifest: {inputs['clean_rows']:,} rows (content hash `{inputs['clean_sha256'][:16]}…`)."
                  if inputs.get("clean_sha256") else
                  "- Clean manifest: none; the URL list was built from the labels file alone.")
    out += ["## Provenance", "",
            f"- Final labels: `{inputs['labels_name']}` (sha256 `{inputs['labels_sha256'][:16]}…`).",
            clean_line,
            f"- Left out before sampling: {_counts_line(ctx['left_out'])}.",
            f"- {recipe['provenance']}", ""]

    votes = ctx.get("votes") or {}
    out += ["## Annotation process", ""]
    if votes.get("decided_stage") or votes.get("confidence_mean") is not None:
        out += ["Each video was labelled through a staged ladder: three members vote (an adjective that maps to one "
                "category, with a confidence); a majority decides; otherwise the group leader adds a vote, then a "
                "leader of another group, and finally an expert decides.", ""]
    else:
        out += ["The labels were taken as given by the source (e.g. an imported public dataset); no vote "
                "information came with them.", ""]
    if votes.get("decided_stage"):
        out.append("Stage that decided the final label: " + ", ".join(
            f"{k} {v:,}" for k, v in votes["decided_stage"].items()) + ".")
        out.append(f"Labels changed by the expert's audit of likely label errors (model in the loop, decided "
                   f"stage `audit`): {votes['decided_stage'].get('audit', 0):,}.")
    if votes.get("confidence_mean") is not None:
        out.append(f"Mean member confidence: {votes['confidence_mean']:.3f}.")
    out.append("")

    out += ["## Agreement (from QA)", ""]
    qa = ctx.get("qa")
    if qa:
        out += ["| Figure | Value |", "|---|---:|"]
        out += [f"| {k} | {v:.4f} |" for k, v in list(qa.items())[:40]]
    else:
        out.append("_No QA report was given to this build (`--qa FILE`); run the QA stage for kappa/alpha figures._")
    out.append("")

    out += ["## Statistics", "", "Per category (Table II of the paper; seconds and frames as plain numbers):", "",
            table_ii_markdown(stats["table_ii"]), "", "Per platform (Table III):", "",
            table_iii_markdown(stats["table_iii"]), "", "Splits:", "", splits_markdown(stats["splits"]), ""]
    dur = stats["durations"]
    if dur["share_le_30s"] is not None:
        out += [f"{dur['share_le_30s']:.2f}% of the clips last at most 30 s.", ""]
    if stats.get("topics"):
        out += ["Most frequent topics (hashtags): " + ", ".join(f"{t} ({n:,})" for t, n in stats["topics"]) + ".", ""]
    for name in ctx.get("figures", []):
        out += [f"![{name.removesuffix('.png').replace('_', ' ')}](figures/{name})", ""]

    files = ctx.get("files", {})
    out += ["## Files", "",
            "- `manifest.parquet`, `manifest.csv`: one row per sample (sample_id, category, label, polarity, split, "
            "duration_s, platform, vote summary, relative media paths, carried label columns).",
            "- `splits/<split>.txt`: sample ids per split.",
            "- `stats.json`: every number of this card; `recipe.yaml`: the resolved recipe; `SHA256SUMS`: checksums."]
    if files.get("media"):
        out += ["- `data/<split>/`: the videos and a `metadata.parquet` per split (Hugging Face folder layout: "
                "`load_dataset('videofolder', data_dir='data')` reads `label` as a ClassLabel over the categories "
                "above).",
                "- `cache/`: the training cache from cleaning (frames, MFCC, posters), hard-linked or copied."]
    elif not files.get("urls"):
        out.append("- `data/<split>/metadata.parquet`: labels per split (no media in this build).")
    if files.get("urls"):
        out.append("- `urls.csv`: platform ids, page URLs and labels, no media (fetch the videos yourself).")
    if files.get("webdataset"):
        out.append("- `wds/<split>-NNNNN.tar`: WebDataset shards (per sample `.json` label, video, training cache).")
    out.append("")
    if ctx.get("urls_missing"):
        out += [f"{ctx['urls_missing']:,} samples have neither a URL nor a platform id in `urls.csv`.", ""]

    out += ["## Licence and intended use", "", recipe["license"], "",
            "Intended use: research on emotion recognition in short-form videos (training and benchmarking "
            "classifiers). Not intended for decisions about individuals, surveillance, or inferring the emotions "
            "of the people shown. Labels describe the emotion a video evokes in annotators, not the true feelings "
            "of anyone in it; category shares are imbalanced (see the statistics).", ""]
    return "\n".join(out)
