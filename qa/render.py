"""Turning QA results into text: JSON-safe values, aligned console tables and Markdown sections."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any


def jsonable(obj: Any) -> Any:
    """Plain JSON types: numpy scalars become Python numbers, NaN/inf become null, keys become strings."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item) and not isinstance(obj, str | bytes):
        with contextlib.suppress(ValueError, TypeError):
            obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def to_json(obj: Any) -> str:
    return json.dumps(jsonable(obj), indent=2, ensure_ascii=False, allow_nan=False)


def fmt(value: Any, digits: int = 3) -> str:
    """A number with `digits` decimals, '-' for missing, anything else as text."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, digits: int = 3, markdown: bool = False) -> str:
    """Rows as an aligned text table, or a Markdown table when `markdown`."""
    cells = [[fmt(v, digits) for v in row] for row in rows]
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(row) + " |" for row in cells]
        return "\n".join(lines)
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(out)


def agreement_text(result: Mapping, *, markdown: bool = False) -> str:
    """The agreement summary (overall, per category, per group when present)."""
    head = [
        ("Fleiss kappa", result["fleiss_kappa"]), ("method", result["fleiss_method"]),
        ("Krippendorff alpha (nominal)", result["krippendorff_alpha"]),
        ("Randolph free-marginal kappa", result["randolph_kappa"]), ("Gwet AC1", result["gwet_ac1"]),
        ("observed agreement", result["observed_agreement"]), ("expected agreement", result["expected_agreement"]),
        ("items", result["n_items"]), ("ratings", result["n_ratings"]), ("raters", result.get("n_raters")),
    ]
    parts = [table(["statistic", "value"], head, markdown=markdown)]
    parts.append(table(["category", "kappa"], list(result["per_category"].items()), markdown=markdown))
    for key, groups in result.items():
        if key.startswith("by_"):
            rows = [(g, r["fleiss_kappa"], r["krippendorff_alpha"], r["randolph_kappa"], r["n_items"], r["n_ratings"])
                    if "error" not in r else (g, r["error"], "", "", "", "") for g, r in groups.items()]
            parts.append(table([key[3:], "fleiss", "alpha", "randolph", "items", "ratings"], rows, markdown=markdown))
    parts += [f"note: {n}" for n in result.get("notes", [])]
    return "\n\n".join(parts)


def consistency_text(result: Mapping, *, markdown: bool = False) -> str:
    """Per group S_a, S_r and components, the groups' mean and variance, and the CR table."""
    stages = result["stages"] if "stages" in result else {result["stage"]: result}
    parts = []
    if len(stages) > 1:  # Table I layout first: one row per stage, S_a and S_r per re-labelling group
        groups = sorted({g for res in stages.values() for g in res["groups"]})
        rows = [(st, *[res["groups"].get(g, {}).get(k) for g in groups for k in ("S_a", "S_r")], res["mean_S_r"],
                 res["var_S_r"]) for st, res in stages.items()]
        heads = ["stage", *[f"{g} {k}" for g in groups for k in ("S_a", "S_r")], "mean S_r", "var S_r"]
        parts += [("### " if markdown else "") + "Table I", table(heads, rows, digits=2, markdown=markdown)]
    for st, res in stages.items():
        rows = [(g, v["S_a"], v["S_r"], v["mean_C_share"], v["mean_M_share"], v["n_sets"], v["n_items"])
                for g, v in res["groups"].items()]
        title = f"stage {st}"
        parts.append(("### " if markdown else "") + title)
        parts.append(table(["group", "S_a", "S_r", "mean C/m", "mean M/m", "sets", "items"], rows, markdown=markdown))
        parts.append(f"mean S_r = {res['mean_S_r']:.2f}, population variance of S_r = {res['var_S_r']:.2f}")
        crs = res.get("consistency_ratios", {})
        if crs:
            cols = list(next(iter(crs.values())).keys())
            rows = [(r, res["members"].get(r, ""), *[v.get(c) for c in cols]) for r, v in crs.items()]
            parts.append(table(["annotator", "group", *cols], rows, markdown=markdown))
    return "\n\n".join(parts)


def swaps_text(result: Mapping, *, markdown: bool = False) -> str:
    """The swap plan: baseline, one row per step with the metric's mean / variance before and after."""
    base = result["baseline"]
    parts = [f"baseline: mean {base['mu']:.2f}, variance {base['var']:.2f} "
             f"({', '.join(f'{g} {v:.2f}' for g, v in base['scores'].items())})"]
    rows = [(s["round"], s["category"], s["rule"], f"{s['high']} ({s['high_from']}->{s['high_to']})",
             f"{s['low']} ({s['high_to']}->{s['high_from']})", s["cr_high"], s["cr_low"], s["mu_before"],
             s["var_before"], s["mu_after"], s["var_after"], "undone" if s["undone"] else "")
            for s in result["steps"]]
    if rows:
        parts.append(table(["round", "category", "rule", "high CR", "low CR", "CR hi", "CR lo", "mean before",
                            "var before", "mean after", "var after", ""], rows, digits=2, markdown=markdown))
    else:
        parts.append("no swap qualifies")
    final = result["final"]
    parts.append(f"status: {result['status']}; final mean {final['mu']:.2f}, variance {final['var']:.2f}")
    if result.get("projected_labels"):
        parts.append(f"note: {result['projected_labels']} (annotator, set) re-labels were projected from the "
                     "annotators' own consistency ratios; re-label those sets to confirm the plan")
    return "\n\n".join(parts)


def allocation_text(result: Mapping, *, markdown: bool = False) -> str:
    rows = [(g, v["leader"], ", ".join(v["members"]), v["mean_p"]) for g, v in result["groups"].items()]
    parts = [table(["group", "leader", "members", "mean p"], rows, digits=2, markdown=markdown),
             f"variance of group means: {result['variance_of_group_means']:.4f}",
             table(["person", "p"], list(result["scores"].items()), digits=2, markdown=markdown)]
    if result["reserves"]:
        parts.append("reserves: " + ", ".join(result["reserves"]))
    return "\n\n".join(parts)


def sample_size_text(result: Mapping, *, markdown: bool = False) -> str:
    rows = [(name, result["populations"][name], n) for name, n in result["sizes"].items()]
    rows.append(("total", sum(result["populations"].values()), result["total"]))
    params = ", ".join(f"{k}={v}" for k, v in result["parameters"].items())
    return "\n\n".join([table(["dataset", "population", "sample"], rows, markdown=markdown),
                        f"allocation: {result['allocation']}; {params}"])


def mos_text(result: Mapping, *, markdown: bool = False) -> str:
    rows = [(d, v["mos"], v["sd_item_means"], f"[{fmt(v['ci_low'], 2)}, {fmt(v['ci_high'], 2)}]", v["median"],
             v["good_or_better"], v["n_items"], v["n_votes"], " ".join(map(str, v["histogram"].values())))
            for d, v in result["datasets"].items()]
    agree = result["rater_agreement"]
    parts = [f"rated: {result['rated']} on the 5-point ACR scale "
             f"({', '.join(f'{k} {v}' for k, v in result['scale'].items())})",
             table(["dataset", "MOS", "SD", f"{int(result['confidence'] * 100)}% CI", "median", ">= Good",
                    "items", "votes", "votes 1..5"], rows, digits=2, markdown=markdown),
             f"CI method: {result['ci_method']}",
             table(["rater", "mean rating"], list(result["rater_mean"].items()), digits=2, markdown=markdown),
             f"rater agreement: Krippendorff alpha ordinal {fmt(agree['krippendorff_alpha_ordinal'])}, "
             f"interval {fmt(agree['krippendorff_alpha_interval'])}"]
    between = result.get("between_datasets")
    if between:
        parts.append(f"{between['test']}: H = {between['H']:.3f}, p = {between['p']:.4g}")
    return "\n\n".join(parts)
