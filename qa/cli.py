"""`emotions qa …`: thin commands that read a votes source, call one qa function and print or write the result."""

from __future__ import annotations

from pathlib import Path

import click

from core.errors import ConfigError, MissingDependency

_FILE = click.Path(dir_okay=False, path_type=Path)
_json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
_out_option = click.option("--out", type=click.Path(file_okay=False, path_type=Path),
                           help="Also write <command>.json and <command>.md into this folder.")


def _app_votes(members_only: bool = True):
    """The app database's tidy votes table (the default source); a one-line error when the app is absent."""
    try:
        from annotation_app.services.export import load_votes
    except ImportError:
        raise MissingDependency(
            "no votes source: the annotation app's export is not available in this installation",
            remedy="pass --from-csv FILE (columns item,rater,category), or install and run the app "
                   "(pip install 'emotions[app]')",
        ) from None
    from sqlalchemy.exc import SQLAlchemyError

    from core.errors import DatabaseError
    from core.settings import get_settings
    from qa.sources import from_app_table

    url = get_settings().database_url
    try:
        table = load_votes(url)
    except SQLAlchemyError as exc:
        first = str(exc).strip().splitlines()[0]
        raise DatabaseError(f"cannot read votes from the app database {url}: {first}",
                            remedy="run `emotions db upgrade`, set EMOTIONS_DATABASE_URL, or pass --from-csv FILE",
                            ) from None
    return from_app_table(table, members_only=members_only)


def _votes(path: Path | None, members_only: bool = True):
    from qa.sources import read_votes

    return read_votes(path, members_only=members_only) if path else _app_votes(members_only)


def _relabels(path: Path | None):
    """Cross-check re-labels from a CSV, or (default) from the app database's cross-check votes."""
    from qa.sources import read_relabels, relabels_from_app_table

    if path is not None:
        return read_relabels(path)
    try:
        from annotation_app.services.crosscheck import crosscheck_frame
    except ImportError:
        raise MissingDependency(
            "no re-labels source: the annotation app is not available in this installation",
            remedy="pass --from-csv FILE (stage,group,set_id,set_category,item,previous_label,rater,label)",
        ) from None
    from sqlalchemy.exc import SQLAlchemyError

    from core.db import make_engine, session_factory
    from core.errors import DatabaseError
    from core.settings import get_settings

    url = get_settings().database_url
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            table = crosscheck_frame(session)
    except SQLAlchemyError as exc:
        first = str(exc).strip().splitlines()[0]
        raise DatabaseError(f"cannot read cross-check re-labels from the app database {url}: {first}",
                            remedy="run `emotions db upgrade`, set EMOTIONS_DATABASE_URL, or pass --from-csv FILE",
                            ) from None
    finally:
        engine.dispose()
    return relabels_from_app_table(table)


def _need(path: Path | None, what: str, columns: str):
    if path is None:
        raise ConfigError(f"{what} are not exported by the app yet", remedy=f"pass --from-csv FILE ({columns})")
    return path


def _emit(name: str, result: dict, text: str, as_json: bool, out: Path | None) -> None:
    from core.manifest import atomic_write_text
    from qa.render import to_json

    if out is not None:
        atomic_write_text(out / f"{name}.json", to_json(result) + "\n")
        atomic_write_text(out / f"{name}.md", f"# QA: {name}\n\n{text}\n")
    click.echo(to_json(result) if as_json else text)


@click.group()
def qa() -> None:
    """Agreement, cross-check consistency, swaps, MOS and sample size.

    Votes come from the app database by default; every command also reads long-format UTF-8 CSV files
    (--from-csv FILE; extra columns are ignored, category names are case-insensitive):

    \b
      votes        item,rater,category   (+ group; role or stage: only member votes are used)
      re-labels    stage,group,set_id,set_category,item,previous_label,rater,label
      labels       item,group,label      (or member votes with a group column)
      people       person,gender,we,ms,eb,cb,lp
      MOS ratings  dataset,item,rater,rating
    """


@qa.command(short_help="Fleiss / Krippendorff / Randolph agreement of member votes.")
@click.option("--votes", "--from-csv", "votes_path", type=_FILE,
              help="Votes CSV: item,rater,category (+ optional group, role/stage, confidence).")
@click.option("--by", type=str, help="Also report agreement per value of this column (e.g. group).")
@click.option("--all-votes", is_flag=True, help="Include leader/expert votes (default: member votes only).")
@_json_option
@_out_option
def kappa(votes_path: Path | None, by: str | None, all_votes: bool, as_json: bool, out: Path | None) -> None:
    """Fleiss' kappa, per-category kappa, Krippendorff's alpha, Randolph's kappa and observed agreement."""
    from qa.agreement import agreement
    from qa.render import agreement_text

    result = agreement(_votes(votes_path, members_only=not all_votes), by=by)
    _emit("kappa", result, agreement_text(result), as_json, out)


@qa.command(short_help="S_a and S_r per group from cross-check re-labels (Table I).")
@click.option("--relabels", "--from-csv", "path", type=_FILE,
              help="Re-labels CSV: stage,group,set_id,set_category,item,previous_label,rater,label "
                   "(default: the app database's cross-check votes).")
@click.option("--stage", type=str, help="Only this stage (e.g. sA or sB); default: every stage in the file.")
@_json_option
@_out_option
def consistency(path: Path | None, stage: str | None, as_json: bool, out: Path | None) -> None:
    """S_a (Eq. 2), S_r (Eq. 3) per group, their components, CRs, and the groups' mean / variance of S_r."""
    from qa.consistency import consistency as compute
    from qa.render import consistency_text

    result = compute(_relabels(path), stage)
    _emit("consistency", result, consistency_text(result), as_json, out)


@qa.command("plan-crosscheck", short_help="Draw and exchange the sA / sB cross-check sets.")
@click.option("--labels", "--from-csv", "path", type=_FILE,
              help="Previous labels CSV: item,group,label, or member votes item,rater,category,group.")
@click.option("--set-size", type=int, default=100, show_default=True, help="Samples per set.")
@click.option("--stages", default="sA,sB", show_default=True, help="Stage names, comma-separated.")
@click.option("--exchange", default="cyclic", show_default=True,
              help="'cyclic' or an explicit 'A:B,B:C,C:A' (the older 'A=B' form is deprecated).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--write", "write_path", type=_FILE, default=Path("reports/qa/crosscheck-plan.csv"), show_default=True,
              help="Plan CSV (one row per sample; add rater,label columns to make it a re-labels file).")
@_json_option
def plan_crosscheck(path: Path | None, set_size: int, stages: str, exchange: str, seed: int, write_path: Path,
                    as_json: bool) -> None:
    """Draw the sA / sB sets per group (3 Neutral, 2 Excitation, 1 of each other category) and exchange them."""
    from core.manifest import atomic_write_text
    from qa.crosscheck import plan_crosscheck as plan
    from qa.crosscheck import plan_summary
    from qa.render import table, to_json
    from qa.sources import labels_from_votes, read_labels

    labels = read_labels(path) if path else labels_from_votes(_app_votes())
    frame, warnings = plan(labels, set_size=set_size, stages=[s.strip() for s in stages.split(",") if s.strip()],
                           exchange=exchange, seed=seed)
    atomic_write_text(write_path, frame.to_csv(index=False))
    summary = plan_summary(frame)
    if as_json:
        click.echo(to_json({"plan": str(write_path), "sets": int(frame["set_id"].nunique()), "samples": len(frame),
                            "summary": summary.to_dict(orient="records"), "warnings": warnings}))
        return
    for warning in warnings:
        click.secho(f"warning: {warning}", err=True, fg="yellow")
    click.echo(table(list(summary.columns), summary.itertuples(index=False)))
    click.echo(f"\nplan with {frame['set_id'].nunique()} sets, {len(frame)} samples written to {write_path}")


@qa.command(short_help="Personnel swaps that even out the groups' consistency.")
@click.option("--relabels", "--from-csv", "path", type=_FILE,
              help="Re-labels CSV of the stage to adjust on (default: the app database).")
@click.option("--stage", default="sA", show_default=True, help="Stage whose re-labels drive the swaps.")
@click.option("--members", "members_path", type=_FILE,
              help="CSV rater,group[,gender] with the current allocation (default: inferred from the re-labels).")
@click.option("--metric", type=click.Choice(["S_r", "S_a"]), default="S_r", show_default=True)
@click.option("--cr", type=click.Choice(["previous", "majority"]), default="previous", show_default=True,
              help="Consistency ratio against the previous label, or against the member's own group result.")
@click.option("--tau", type=float, default=1.0, show_default=True, help="Stop when the variance is below tau.")
@click.option("--delta", type=float, default=0.0, show_default=True, help="... and the mean beats baseline + delta.")
@click.option("--mode", type=click.Choice(["literal", "balancing"]), default="literal", show_default=True)
@click.option("--no-direction-guard", is_flag=True, help="Allow literal swaps that widen the spread.")
@click.option("--no-gender-rule", is_flag=True, help="Allow swaps between members of different gender.")
@click.option("--category-order", default="paper", show_default=True,
              help="'paper', 'variance' or a comma-separated list of categories.")
@click.option("--acceptance", type=click.Choice(["keep", "undo"]), default="keep", show_default=True)
@click.option("--no-tabu", is_flag=True, help="Allow the same pair to swap twice in one round.")
@click.option("--rounds", type=int, default=3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--apply", "apply_", is_flag=True, help="Change the memberships in the app (history kept).")
@click.option("--reason", default="", help="With --apply: why a plan that breaks the app's group rules is applied "
                                           "anyway (written to the audit log).")
@_json_option
@_out_option
def swaps(path, stage, members_path, metric, cr, tau, delta, mode, no_direction_guard, no_gender_rule, category_order,
          acceptance, no_tabu, rounds, seed, apply_, reason, as_json, out) -> None:
    """Personnel adjustment: swap high- and low-CR members across groups until the groups even out."""
    from qa.crosscheck import DEFAULT_LAYOUT
    from qa.render import swaps_text
    from qa.sources import read_table
    from qa.swaps import SwapParams, infer_members, run_swaps

    relabels = _relabels(path)
    relabels = relabels[relabels["stage"] == stage]
    if relabels.empty:
        raise ConfigError(f"re-labels file {path}: no rows for stage {stage!r}", remedy="choose it with --stage")
    genders: dict[str, str] = {}
    if members_path:
        table = read_table(members_path, ("rater", "group"), "members")
        members = dict(zip(table["rater"], table["group"], strict=True))
        if "gender" in table.columns:
            genders = dict(zip(table["rater"], table["gender"].str.lower().str[:1], strict=True))
    else:
        members = infer_members(relabels)
    order = tuple(DEFAULT_LAYOUT) if category_order == "paper" else (
        "variance" if category_order == "variance" else tuple(c.strip() for c in category_order.split(",")))
    params = SwapParams(metric=metric, cr=cr, tau=tau, delta=delta, mode=mode, direction_guard=not no_direction_guard,
                        gender_rule=not no_gender_rule and bool(genders), category_order=order,
                        acceptance=acceptance, tabu=not no_tabu, rounds=rounds, seed=seed)
    result = run_swaps(relabels, members, genders, params)
    if apply_:
        _apply_memberships(result, reason)
    _emit("swaps", result, swaps_text(result), as_json, out)


def _apply_memberships(result: dict, reason: str = "") -> None:
    """Move the swapped annotators to their new groups in the app (the app keeps the membership history).

    The app's group rules (capacity, gender rule) are checked on the groups as the plan leaves them; a plan that
    breaks one is refused as a whole unless `reason` is given (then it is audit-logged)."""
    try:
        from annotation_app.services import people
    except ImportError:
        raise MissingDependency(
            "--apply needs the annotation app, which is not installed",
            remedy="apply the printed plan in the app's admin pages, or pip install 'emotions[app]'",
        ) from None
    from sqlalchemy.exc import SQLAlchemyError

    from core.db import make_engine, session_factory, session_scope
    from core.errors import DatabaseError
    from core.settings import get_settings

    if not result["changed"]:
        click.echo("nothing to apply: the allocation is unchanged", err=True)
        return
    settings = get_settings()
    url = settings.database_url
    engine = make_engine(url)
    try:
        with session_scope(session_factory(engine)) as session:
            moves = [(people.user_by_name(session, rater), people.group_by_name(session, move["to"]))
                     for rater, move in sorted(result["changed"].items())]
            people.move_many(session, moves, capacity=settings.app_group_capacity,
                             gender_rule=settings.app_gender_rule, reason=reason)
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot change memberships in {url}: {str(exc).strip().splitlines()[0]}",
                            remedy="run `emotions db upgrade` or check EMOTIONS_DATABASE_URL") from None
    finally:
        engine.dispose()
    click.echo(f"applied: {len(result['changed'])} membership change(s) recorded in the app", err=True)


@qa.command(short_help="Eq. 1 scores, leaders and balanced groups (gender rule).")
@click.option("--people", "--from-csv", "path", type=_FILE, help="People CSV: person,gender,we,ms,eb,cb,lp (0..100).")
@click.option("--groups", "n_groups", type=int, default=3, show_default=True)
@click.option("--members-per-group", type=int, default=3, show_default=True)
@click.option("--males-per-group", type=int, default=2, show_default=True)
@click.option("--no-gender-rule", is_flag=True)
@click.option("--leader-by", type=click.Choice(["p", "lp"]), default="p", show_default=True)
@click.option("--ms-is-rank", is_flag=True, help="The ms column is an MSCEIT rank (1 = best), not a score.")
@_json_option
@_out_option
def allocate(path, n_groups, members_per_group, males_per_group, no_gender_rule, leader_by, ms_is_rank, as_json,
             out) -> None:
    """Eq. 1 scores, leaders and members (gender rule) with balanced group means."""
    from qa.allocation import allocate as compute
    from qa.render import allocation_text
    from qa.sources import read_people

    result = compute(read_people(_need(path, "people", "person,gender,we,ms,eb,cb,lp")), n_groups=n_groups,
                     members_per_group=members_per_group, males_per_group=males_per_group,
                     gender_rule=not no_gender_rule, leader_by=leader_by, ms_is_rank=ms_is_rank)
    _emit("allocation", result, allocation_text(result), as_json, out)


def _population(value: str) -> tuple[str, int]:
    name, _, number = value.rpartition("=")
    if not name or not number.strip().isdigit():
        raise click.BadParameter(f"{value!r}: expected NAME=N, e.g. eMotions=27996")
    return name.strip(), int(number)


@qa.command("sample-size", short_help="Items to sample per dataset for the MOS review.")
@click.option("--population", "populations", multiple=True, required=True, help="NAME=N, repeatable.")
@click.option("--formula", type=click.Choice(["cochran_fpc", "cochran_fpc_simple", "yamane"]), default="cochran_fpc",
              show_default=True)
@click.option("--allocation", type=click.Choice(["per-dataset", "pooled-proportional", "equal"]),
              default="per-dataset", show_default=True)
@click.option("-e", "--margin", type=float, default=0.05, show_default=True, help="Margin of error e.")
@click.option("-p", "--proportion", type=float, default=0.5, show_default=True)
@click.option("--z", type=float, help="Normal quantile (default from --confidence).")
@click.option("--confidence", type=float, default=0.95, show_default=True)
@click.option("--rounding", type=click.Choice(["ceil", "round", "none"]), default="ceil", show_default=True)
@_json_option
def sample_size(populations, formula, allocation, margin, proportion, z, confidence, rounding, as_json) -> None:
    """Items to sample per dataset (Cochran with finite-population correction, or Yamane)."""
    from qa.render import sample_size_text
    from qa.sampling import plan_sizes, z_for

    pops = dict(_population(v) for v in populations)
    z_value = z if z is not None else round(z_for(confidence), 6)
    result = plan_sizes(pops, allocation=allocation, formula=formula, z=z_value, p=proportion, e=margin,
                        rounding=rounding)
    _emit("sample-size", result, sample_size_text(result), as_json, None)


@qa.command(short_help="MOS of label quality per dataset, with intervals and rater bias.")
@click.option("--ratings", "--from-csv", "path", type=_FILE, help="Ratings CSV: dataset,item,rater,rating (1..5).")
@click.option("--confidence", type=float, default=0.95, show_default=True)
@click.option("--no-clip", is_flag=True, help="Do not clip intervals to the 1..5 scale.")
@_json_option
@_out_option
def mos(path, confidence, no_clip, as_json, out) -> None:
    """Per-dataset MOS of label quality with item-level intervals, vote histograms and rater bias."""
    from qa.mos import mos_summary
    from qa.render import mos_text
    from qa.sources import read_mos

    result = mos_summary(read_mos(_need(path, "MOS ratings", "dataset,item,rater,rating")), confidence=confidence,
                         clip=not no_clip)
    _emit("mos", result, mos_text(result), as_json, out)


@qa.command(short_help="HTML + Markdown + JSON + PNG report for leads.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("reports/qa"),
              show_default=True, help="Folder for report.html, report.md, report.json and the PNG figures.")
@click.option("--votes", "--from-csv", "votes_path", type=_FILE, help="Votes CSV (default: the app database).")
@click.option("--relabels", "relabels_path", type=_FILE, help="Cross-check re-labels CSV (Table I section).")
@click.option("--ratings", "ratings_path", type=_FILE, help="MOS ratings CSV (MOS section).")
@_json_option
def report(out_dir: Path, votes_path: Path | None, relabels_path: Path | None, ratings_path: Path | None,
           as_json: bool) -> None:
    """One readable HTML page (plus Markdown, JSON and PNG figures) on agreement, cross-check and MOS."""
    from core.errors import DatabaseError
    from qa.report import build_report
    from qa.sources import read_mos, read_relabels

    sources: dict[str, str] = {}
    try:
        votes = _votes(votes_path, members_only=False)
        sources["votes"] = str(votes_path) if votes_path else "app database"
    except (MissingDependency, DatabaseError) as exc:
        if votes_path is not None or (relabels_path is None and ratings_path is None):
            raise
        click.secho(f"warning: {exc.message}; the agreement sections are left out", err=True, fg="yellow")
        votes = None
    relabels = read_relabels(relabels_path) if relabels_path else None
    ratings = read_mos(ratings_path) if ratings_path else None
    for key, path in (("cross-check re-labels", relabels_path), ("MOS ratings", ratings_path)):
        if path:
            sources[key] = str(path)
    written = build_report(out_dir, all_votes=votes, relabels=relabels, ratings=ratings, sources=sources)
    if as_json:
        from qa.render import to_json

        click.echo(to_json({"report": str(written["report.html"]), "files": {k: str(v) for k, v in written.items()}}))
    else:
        click.echo(f"report written to {written['report.html']} ({len(written)} files)")


from qa.cli_label_issues import label_issues  # noqa: E402  (kept in its own module: it reads runs and exports)

qa.add_command(label_issues)
