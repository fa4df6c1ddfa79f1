"""The QA report: sections built from votes, cross-check re-labels and MOS ratings, written as HTML, Markdown,
JSON and PNG figures (atomically) into one folder."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from core.manifest import atomic_write_bytes, atomic_write_text
from core.taxonomy import CATEGORIES
from qa import figures
from qa.render import fmt, to_json

NAMES = [c.value for c in CATEGORIES]
RUNGS = {"member": 1, "members": 1, "1": 1, "leader": 2, "2": 2, "exchange": 3, "3": 3, "expert": 4, "4": 4}
RUNG_NAMES = {1: "members (3 votes)", 2: "leader (4th vote)", 3: "other group's leader (5th vote)", 4: "expert"}


@dataclass
class Section:
    title: str
    blocks: list[tuple] = field(default_factory=list)  # ("p", text) | ("table", headers, rows) | ("img", file, alt)

    def p(self, text: str) -> Section:
        self.blocks.append(("p", text))
        return self

    def table(self, headers, rows) -> Section:
        self.blocks.append(("table", list(headers), [list(r) for r in rows]))
        return self

    def img(self, name: str, alt: str) -> Section:
        self.blocks.append(("img", name, alt))
        return self


def landis_koch(kappa: float | None) -> str:
    if kappa is None:
        return "undefined"
    for bound, word in ((0, "poor"), (0.2, "slight"), (0.4, "fair"), (0.6, "moderate"), (0.8, "substantial")):
        if kappa <= bound:
            return word
    return "almost perfect"


def annotator_agreement(votes: pd.DataFrame) -> pd.DataFrame:
    """Share of each annotator's votes equal to the item's group result, per result category (rows: annotators)."""
    from qa.consistency import MORE, group_results

    result = group_results(votes, label="category")
    frame = votes.assign(result=votes["item"].map(result))
    frame = frame[frame["result"] != MORE]
    frame = frame.assign(agree=frame["category"] == frame["result"])
    table = frame.pivot_table(index="rater", columns="result", values="agree", aggfunc="mean")
    return table.reindex(columns=[c for c in NAMES if c in table.columns])


def escalation(all_votes: pd.DataFrame) -> pd.DataFrame:
    """Items per rung at which they were decided (the highest stage that voted on them)."""
    if "stage" in all_votes.columns:
        rung = all_votes["stage"].astype(str).str.strip().str.lower().map(RUNGS).fillna(1).astype(int)
        per_item = rung.groupby(all_votes["item"]).max()
    else:
        from qa.consistency import MORE, group_results

        per_item = (group_results(all_votes, label="category") == MORE).astype(int) + 1
    counts = per_item.value_counts().sort_index()
    return pd.DataFrame({"rung": [RUNG_NAMES.get(k, str(k)) for k in counts.index], "items": counts.to_numpy(),
                         "share": counts.to_numpy() / counts.sum()})


def _agreement_section(votes: pd.DataFrame, figs: dict[str, bytes], data: dict) -> list[Section]:
    from qa.agreement import agreement, coincidences, count_table, pairwise_cohen

    by = "group" if "group" in votes.columns and votes["group"].astype(str).str.len().gt(0).all() else None
    res = agreement(votes, by=by)
    data["agreement"] = res
    kappa = res["fleiss_kappa"]
    target = "met" if kappa is not None and kappa > 0.45 else "not met"
    sec = Section("Agreement among members").p(
        f"Fleiss' kappa over the member votes is {fmt(kappa)} ({landis_koch(kappa)} agreement on the Landis-Koch "
        f"scale; the paper's target kappa > 0.45 is {target}). {res['n_items']} items, {res['n_ratings']} votes, "
        f"{res['n_raters']} annotators; method: {res['fleiss_method']}.")
    sec.table(["statistic", "value"], [
        ("Fleiss kappa", fmt(kappa)), ("Krippendorff alpha (nominal)", fmt(res["krippendorff_alpha"])),
        ("Randolph free-marginal kappa", fmt(res["randolph_kappa"])), ("Gwet AC1", fmt(res["gwet_ac1"])),
        ("observed agreement", fmt(res["observed_agreement"])), ("chance agreement", fmt(res["expected_agreement"]))])
    sec.table(["category", "kappa"], [(k, fmt(v)) for k, v in res["per_category"].items()])
    if by:
        sec.table(["group", "Fleiss kappa", "Krippendorff alpha", "items", "votes"],
                  [(g, fmt(r["fleiss_kappa"]), fmt(r["krippendorff_alpha"]), r["n_items"], r["n_ratings"])
                   if "error" not in r else (g, r["error"], "", "", "") for g, r in res["by_group"].items()])
    for note in res["notes"]:
        sec.p(f"Note: {note}.")
    counts, _ = count_table(votes)
    co = coincidences(counts)
    share = co / np.maximum(co.sum(axis=1, keepdims=True), 1)
    figs["confusion.png"] = figures.heatmap(share, NAMES, NAMES, "When one annotator chose the row category,\n"
                                            "share of other annotators' choices", vmin=0, vmax=1)
    data["coincidences"] = {r: dict(zip(NAMES, map(int, row), strict=True)) for r, row in zip(NAMES, co, strict=True)}
    conf = Section("Confusion between annotators' categories").p(
        "Each row: every pair of annotators on the same item where the first chose that category; the cells show "
        "how the second one voted. A strong diagonal means agreement; bright off-diagonal cells are the usual "
        "confusions.").img("confusion.png", "category confusion between annotators")
    per = annotator_agreement(votes)
    data["annotator_agreement"] = {str(r): {c: (None if pd.isna(v) else float(v)) for c, v in row.items()}
                                   for r, row in per.iterrows()}
    figs["annotators.png"] = figures.heatmap(per.to_numpy(), [str(r) for r in per.index], list(per.columns),
                                             "Annotator agrees with the item's result", vmin=0, vmax=1)
    ann = Section("Annotators").p(
        "Share of each annotator's votes that match the item's majority result, per result category (items whose "
        "result is 'more' are left out). A low cell marks a category where that person departs from the group."
    ).img("annotators.png", "per-annotator agreement heatmap")
    pairs = pairwise_cohen(votes, min_common=10)
    if not pairs.empty:
        data["pairwise_cohen"] = pairs.to_dict(orient="records")
        ann.p("Cohen's kappa for every pair of annotators with at least 10 items in common:")
        ann.table(["annotator", "annotator", "items in common", "Cohen kappa"],
                  [(a, b, n, fmt(k)) for a, b, n, k in pairs.itertuples(index=False)])
    return [sec, conf, ann]


def _workflow_sections(all_votes: pd.DataFrame, figs: dict[str, bytes], data: dict) -> list[Section]:
    esc = escalation(all_votes)
    data["escalation"] = esc.to_dict(orient="records")
    out = [Section("Escalation").p("Samples by the rung of the ladder that decided them (members -> leader -> "
                                   "another group's leader -> expert).")
           .table(["decided by", "samples", "share"], [(r, n, f"{s:.1%}") for r, n, s in esc.itertuples(index=False)])]
    if "confidence" in all_votes.columns:
        conf = pd.to_numeric(all_votes["confidence"], errors="coerce").dropna()
        if not conf.empty:
            figs["confidence.png"] = figures.histogram(conf, "Confidence of votes", bins=10, xlabel="confidence",
                                                       value_range=(0, 1))
            by_cat = pd.to_numeric(all_votes["confidence"], errors="coerce").groupby(all_votes["category"]).mean()
            data["confidence"] = {"mean": float(conf.mean()), "by_category": by_cat.dropna().to_dict()}
            out.append(Section("Confidence").p(f"Mean confidence {conf.mean():.2f} over {len(conf)} votes "
                                               "(the paper reports an average of 0.7).")
                       .img("confidence.png", "confidence histogram")
                       .table(["category", "mean confidence"], [(k, fmt(v, 2)) for k, v in by_cat.items()]))
    return out


def _crosscheck_section(relabels: pd.DataFrame, figs: dict[str, bytes], data: dict) -> list[Section]:
    from qa.consistency import consistency, consistency_ratios, table_one

    res = consistency(relabels)
    data["consistency"] = res
    t1 = table_one(res)
    groups = sorted({g for g, _ in t1.columns})
    rows = [[st, *[fmt(t1.loc[st, (g, k)], 2 if k == "S_r" else 3) for g in groups for k in ("S_a", "S_r")]]
            for st in t1.index]
    stages = res["stages"] if "stages" in res else {res["stage"]: res}
    sec = Section("Cross-check consistency (Table I)").p(
        "S_a (Eq. 2, 0..1): share of re-labels equal to the previous label. S_r (Eq. 3, 0..70): pays 0.7 for a "
        "group result equal to the previous label and 0.3 for a clear but different one; 'more' scores 0. "
        "Columns are the re-labelling groups.")
    sec.table(["stage", *[f"{g} {k}" for g in groups for k in ("S_a", "S_r")]], rows)
    sec.table(["stage", "mean S_r", "variance S_r (population)"],
              [(st, fmt(r["mean_S_r"], 2), fmt(r["var_S_r"], 2)) for st, r in stages.items()])
    crs = consistency_ratios(relabels).drop(columns="overall")
    figs["consistency.png"] = figures.heatmap(crs.to_numpy(), [str(r) for r in crs.index], list(crs.columns),
                                              "Consistency ratio per annotator and category", vmin=0, vmax=1)
    sec.img("consistency.png", "consistency ratios heatmap")
    return [sec]


def _mos_section(ratings: pd.DataFrame, figs: dict[str, bytes], data: dict) -> list[Section]:
    from qa.mos import mos_summary

    res = mos_summary(ratings)
    data["mos"] = res
    names = list(res["datasets"])
    ds = res["datasets"]
    figs["mos.png"] = figures.bars(names, [ds[n]["mos"] for n in names], "MOS of label quality (95% CI)",
                                   ylabel="MOS (1..5)", low=[ds[n]["ci_low"] for n in names],
                                   high=[ds[n]["ci_high"] for n in names], ylim=(1, 5.3))
    figs["mos_votes.png"] = figures.stacked_votes(names, [list(ds[n]["histogram"].values()) for n in names],
                                                  "Distribution of expert ratings")
    sec = Section("MOS of label quality").p(
        f"Experts rated {res['rated']} on the ACR scale 1 Bad, 2 Poor, 3 Fair, 4 Good, 5 Excellent. "
        f"CI method: {res['ci_method']}. MOS values from different experiments are not directly comparable.")
    sec.img("mos.png", "MOS per dataset").img("mos_votes.png", "ratings per dataset")
    sec.table(["dataset", "MOS", "SD (items)", "95% CI", "median", ">= Good", "items", "votes", "raters"],
              [(n, fmt(v["mos"], 2), fmt(v["sd_item_means"], 2), f"{fmt(v['ci_low'], 2)}..{fmt(v['ci_high'], 2)}",
                fmt(v["median"], 1), f"{v['good_or_better']:.0%}", v["n_items"], v["n_votes"], v["n_raters"])
               for n, v in ds.items()])
    sec.table(["rater", "mean rating"], [(r, fmt(v, 2)) for r, v in res["rater_mean"].items()])
    agree = res["rater_agreement"]
    sec.p(f"Rater agreement: Krippendorff alpha ordinal {fmt(agree['krippendorff_alpha_ordinal'])}, interval "
          f"{fmt(agree['krippendorff_alpha_interval'])}.")
    if res["between_datasets"]:
        b = res["between_datasets"]
        sec.p(f"{b['test']}: H = {b['H']:.3f}, p = {b['p']:.3g}.")
    return [sec]


def _summary(data: dict) -> Section:
    """The few sentences a lead reads first."""
    sec = Section("Summary")
    if "agreement" in data:
        res = data["agreement"]
        cats = {k: v for k, v in res["per_category"].items() if v is not None}
        weakest = min(cats, key=cats.get) if cats else None
        sec.p(f"Member agreement: Fleiss' kappa {fmt(res['fleiss_kappa'])} ({landis_koch(res['fleiss_kappa'])}); "
              f"Krippendorff's alpha {fmt(res['krippendorff_alpha'])}."
              + (f" Least agreed category: {weakest} (kappa {fmt(cats[weakest])})." if weakest else ""))
    members = [row for row in data.get("escalation", []) if row["rung"].startswith("members")]
    if members:
        sec.p(f"{members[0]['share']:.0%} of samples were decided by the three members alone.")
    if "consistency" in data:
        stages = data["consistency"].get("stages") or {data["consistency"]["stage"]: data["consistency"]}
        for st, res in stages.items():
            low = min(res["groups"], key=lambda g: res["groups"][g]["S_r"])
            sec.p(f"Cross-check {st}: mean S_r {res['mean_S_r']:.2f}, variance {res['var_S_r']:.2f}; lowest group "
                  f"{low} (S_r {res['groups'][low]['S_r']:.2f}).")
    if "mos" in data:
        ds = data["mos"]["datasets"]
        top = max(ds, key=lambda d: ds[d]["mos"])
        sec.p(f"Highest MOS of label quality: {top} ({ds[top]['mos']:.2f} of 5, {ds[top]['n_items']} items).")
    return sec


def build_report(out_dir: Path | str, *, all_votes: pd.DataFrame | None = None, relabels: pd.DataFrame | None = None,
                 ratings: pd.DataFrame | None = None, sources: dict[str, str] | None = None) -> dict[str, Path]:
    """Write report.html, report.md, report.json and the PNG figures into `out_dir`; returns the paths."""
    from qa.sources import member_votes

    out = Path(out_dir)
    figs: dict[str, bytes] = {}
    data: dict = {"generated_at": datetime.now(UTC).isoformat(timespec="seconds"), "sources": sources or {}}
    sections = [Section("Data").table(["input", "source"], list((sources or {}).items()))]
    if all_votes is not None:
        sections += _agreement_section(member_votes(all_votes), figs, data)
        sections += _workflow_sections(all_votes, figs, data)
    if relabels is not None:
        sections += _crosscheck_section(relabels, figs, data)
    if ratings is not None:
        sections += _mos_section(ratings, figs, data)
    sections.insert(1, _summary(data))
    written = {}
    for name, png in figs.items():
        written[name] = atomic_write_bytes(out / name, png)
    written["report.json"] = atomic_write_text(out / "report.json", to_json(data) + "\n")
    written["report.md"] = atomic_write_text(out / "report.md", to_markdown(sections, data["generated_at"]))
    written["report.html"] = atomic_write_text(out / "report.html", to_html(sections, data["generated_at"]))
    return written


def to_markdown(sections: list[Section], when: str) -> str:
    lines = ["# Annotation quality report", "", f"Generated {when}.", ""]
    for sec in sections:
        lines += [f"## {sec.title}", ""]
        for block in sec.blocks:
            if block[0] == "p":
                lines += [block[1], ""]
            elif block[0] == "img":
                lines += [f"![{block[2]}]({block[1]})", ""]
            else:
                lines += ["| " + " | ".join(block[1]) + " |", "|" + "---|" * len(block[1])]
                lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in block[2]] + [""]
    return "\n".join(lines)


_CSS = ("body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;margin:.8em 0}td,th{border:1px solid #ccc;padding:.25em .6em;"
        "text-align:left}th{background:#f2f2f2}img{max-width:100%;display:block;margin:.8em 0}h2{margin-top:1.6em}")


def to_html(sections: list[Section], when: str) -> str:
    e = html.escape
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Annotation quality report</title>",
             f"<style>{_CSS}</style></head><body><h1>Annotation quality report</h1><p>Generated {e(when)}.</p>"]
    for sec in sections:
        parts.append(f"<h2>{e(sec.title)}</h2>")
        for block in sec.blocks:
            if block[0] == "p":
                parts.append(f"<p>{e(block[1])}</p>")
            elif block[0] == "img":
                parts.append(f"<img src='{e(block[1])}' alt='{e(block[2])}'>")
            else:
                head = "".join(f"<th>{e(str(h))}</th>" for h in block[1])
                body = "".join("<tr>" + "".join(f"<td>{e(fmt(c))}</td>" for c in row) + "</tr>" for row in block[2])
                parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts)
