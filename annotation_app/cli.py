"""`emotions app …`: set up, feed, watch, export and serve the annotation app (heavy imports stay inside commands)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

_url_option = click.option("--url", help="Database URL (default: EMOTIONS_DATABASE_URL).")


def _settings():
    from core.settings import get_settings

    return get_settings()


@contextmanager
def _session(url: str | None, *, check: bool = True) -> Iterator:
    """One committed unit of work on the (migrated) database."""
    from core import migrate
    from core.db import make_engine, session_factory, session_scope
    from core.errors import DatabaseError

    db_url = url or _settings().database_url
    if check and migrate.current(db_url) != migrate.head():
        raise DatabaseError("the database schema is not up to date", remedy="run `emotions app init`")
    engine = make_engine(db_url)
    try:
        with session_scope(session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


@click.group()
def app() -> None:
    """Annotation server: users, groups, import, serve, export."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # schema checks are not news


@app.command()
@_url_option
@click.option("--groups", "n_groups", type=click.IntRange(min=1), default=None,
              help="Number of groups A, B, C … (default: EMOTIONS_APP_GROUP_COUNT).")
def init(url: str | None, n_groups: int | None) -> None:
    """Migrate the database to the newest schema and create the project and its groups."""
    from annotation_app.services import people
    from core import migrate

    db_url = url or _settings().database_url
    migrate.upgrade(db_url)
    with _session(db_url) as session:
        groups = people.ensure_groups(session, n_groups or _settings().app_group_count)
        names = ", ".join(g.name for g in groups)
    click.echo(f"database ready; groups {names}")


@app.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "expert", "leader", "member"]), required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 8 characters (prompted when left out).")
@click.option("--group", default=None, help="Group name for leaders and members (A, B, C …).")
@click.option("--display-name", default="")
@click.option("--language", type=click.Choice(["en", "zh-Hans"]), default="zh-Hans", show_default=True)
@click.option("--gender", type=click.Choice(["m", "f"]), default=None)
@click.option("--we", "work_experience", type=click.FloatRange(0, 100), default=None, help="Work experience 0-100.")
@click.option("--ms", "msceit", type=click.FloatRange(0, 100), default=None, help="MSCEIT 0-100, higher is better.")
@click.option("--eb", "education", type=click.FloatRange(0, 100), default=None, help="Education 0-100.")
@click.option("--cb", "culture", type=click.FloatRange(0, 100), default=None, help="Cultural background 0-100.")
@click.option("--lp", "leadership", type=click.FloatRange(0, 100), default=None, help="Leadership 0-100.")
@_url_option
def create_user(username: str, role: str, password: str, group: str | None, display_name: str, language: str,
                gender: str | None, url: str | None, **profile: float | None) -> None:
    """Create a user (password hashed with argon2); profile scores feed `form-groups` (Eq. 1)."""
    from annotation_app.services import people

    with _session(url) as session:
        user = people.create_user(session, username, role, password=password, display_name=display_name,
                                  language=language, gender=gender, **profile)
        if group:
            people.assign(session, user, people.group_by_name(session, group))
    click.echo(f"created {role} {username}" + (f" in group {group}" if group else ""))


@app.command()
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="A label for the token.")
@_url_option
def token(username: str, name: str, url: str | None) -> None:
    """Create an API token for USERNAME and print it once (send it as `Authorization: Bearer …`)."""
    from annotation_app.services import auth, people

    with _session(url) as session:
        value = auth.create_token(session, people.user_by_name(session, username), name)
    click.echo(value)


@app.command("import")
@click.argument("manifest", type=click.Path(exists=True, path_type=Path))
@click.option("--gold", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="CSV (id, category) of gold labels: those videos become the qualification set.")
@click.option("--media-root", "media_roots", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="Also accept media under this folder (repeatable); by default a row's media must lie inside "
                   "the manifest's run folder, and rows pointing elsewhere are skipped.")
@_url_option
def import_(manifest: Path, gold: Path | None, media_roots: tuple[Path, ...], url: str | None) -> None:
    """Import the kept videos of a clean manifest (JSONL file or folder of shards)."""
    from annotation_app.services import importer

    with _session(url) as session:
        report = importer.import_manifest(session, manifest, gold=importer.read_gold(gold) if gold else None,
                                          media_roots=list(media_roots))
    skipped = ", ".join(f"{k}={v}" for k, v in sorted(report.skipped.items())) or "none"
    click.echo(f"read {report.rows} rows: imported {report.imported} (gold {report.gold}); skipped {skipped}")


@app.command("form-groups")
@click.option("--groups", "n_groups", type=click.IntRange(min=1), default=None)
@click.option("--size", type=click.IntRange(min=1), default=None, help="Members per group (default: 3).")
@click.option("--gender-rule/--no-gender-rule", default=None, help="Two male and one female member per group.")
@click.option("--leader-by", type=click.Choice(["p", "lp"]), default=None)
@_url_option
def form_groups(n_groups: int | None, size: int | None, gender_rule: bool | None, leader_by: str | None,
                url: str | None) -> None:
    """Form groups from the assignment score p (Eq 1) of every leader and member; membership history is kept."""
    from annotation_app.services import people

    settings = _settings()
    with _session(url) as session:
        plans = people.form_groups(
            session, n_groups=n_groups or settings.app_group_count, size=size or settings.app_members_per_sample,
            gender_rule=settings.app_gender_rule if gender_rule is None else gender_rule,
            leader_by=leader_by or settings.app_leader_by)
    for plan in plans:
        members = ", ".join(f"{m.name} ({m.gender or '-'}, p={m.p:.1f})" for m in plan.members)
        click.echo(f"{plan.name}: leader {plan.leader.name} (p={plan.leader.p:.1f}); {members}; "
                   f"mean p {plan.mean_p:.2f}")


@app.command()
@click.argument("username")
@click.argument("group", required=False)
@_url_option
def assign(username: str, group: str | None, url: str | None) -> None:
    """Move USERNAME into GROUP (leave GROUP out to take them out of every group); history is kept.

    This is how a swap plan from QA is applied: one command per person moved.
    """
    from annotation_app.services import people

    with _session(url) as session:
        user = people.user_by_name(session, username)
        people.assign(session, user, people.group_by_name(session, group) if group else None)
    click.echo(f"{username} is now in group {group}" if group else f"{username} is in no group")


@app.command("crosscheck-draw")
@click.argument("name")
@click.option("--set-size", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@_url_option
def crosscheck_draw(name: str, set_size: int, seed: int, url: str | None) -> None:
    """Draw cross-check sets NAME (sA, sB): per group 3 Neutral, 2 Excitation, 1 of each other category,
    from samples the members decided; each set goes to the group's exchange partner for re-labelling."""
    from annotation_app.services import crosscheck, people

    with _session(url) as session:
        sets = crosscheck.draw_sets(session, _settings(), name, set_size=set_size, seed=seed)
        per_group: dict[str, int] = {}
        for row in sets:
            source = people.groups(session)
            name_of = {g.id: g.name for g in source}
            key = f"{name_of[row.source_group_id]}->{name_of[row.target_group_id]}"
            per_group[key] = per_group.get(key, 0) + 1
    click.echo(f"drew {len(sets)} set(s) {name}: " + (", ".join(f"{k} {v}" for k, v in per_group.items()) or "none"))


@app.command()
@click.option("--batch-size", type=click.IntRange(min=1), required=True)
@click.option("--group", "group_names", multiple=True, help="Only these groups (repeatable).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Distribute at most this many samples.")
@_url_option
def distribute(batch_size: int, group_names: tuple[str, ...], limit: int | None, url: str | None) -> None:
    """Deal undistributed samples to groups in batches, round-robin."""
    from annotation_app.services import importer

    with _session(url) as session:
        dealt = importer.distribute(session, batch_size, group_names=list(group_names) or None, limit=limit,
                                    members_per_sample=_settings().app_members_per_sample)
    click.echo("dealt " + ", ".join(f"{k}={v}" for k, v in dealt.items()))


@app.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@_url_option
def progress(as_json: bool, url: str | None) -> None:
    """Samples per group and state, votes per person."""
    from annotation_app.services import export

    with _session(url) as session:
        data = export.progress(session)
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    for group, row in data["groups"].items():
        click.echo(f"{group:<14} " + "  ".join(f"{k}={v}" for k, v in sorted(row.items())))
    for person, count in data["votes_per_person"].items():
        click.echo(f"  {person:<20} {count} votes")


@app.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@_url_option
def export(out_dir: Path, url: str | None) -> None:
    """Write votes.csv / labels.csv and the same tables as Parquet into --out."""
    from annotation_app.services import export as export_service

    with _session(url) as session:
        written = export_service.export(session, out_dir)
    click.echo("wrote " + ", ".join(str(p) for p in written.values()))


@app.group("review-queue")
def review_queue() -> None:
    """The expert's audit queue: likely label errors from `emotions qa label-issues` get a human second look."""


@review_queue.command("add")
@click.option("--from", "source", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="label_issues.csv written by `emotions qa label-issues` (ranked, most likely errors first).")
@click.option("--top", type=click.IntRange(min=1), default=None, help="Queue only the first K rows (default: all).")
@click.option("--reason", default="", help="Why these clips are audited (shown to the expert, kept in the audit log).")
@_url_option
def review_queue_add(source: Path, top: int | None, reason: str, url: str | None) -> None:
    """Put the top rows of a label-issues table into the expert's audit queue (no label changes here)."""
    import csv

    from annotation_app.services import audit_queue
    from core.errors import ConfigError

    with source.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if rows and "sample_id" not in rows[0]:
        raise ConfigError(f"{source}: no sample_id column",
                          remedy="pass the label_issues.csv of `emotions qa label-issues`")
    with _session(url) as session:
        result = audit_queue.add(session, rows, top=top, reason=reason, source=str(source))
        pending = audit_queue.pending_count(session)
    skipped = ", ".join(f"{k}={v}" for k, v in sorted(result.skipped.items())) or "none"
    click.echo(f"queued {len(result.added)} sample(s) for the expert's audit; skipped {skipped}; {pending} waiting")


@app.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes (use PostgreSQL for more than one).")
@_url_option
def serve(host: str, port: int, workers: int, url: str | None) -> None:
    """Serve the app with uvicorn (OpenAPI docs at /docs)."""
    import os

    import uvicorn

    from annotation_app.services import auth

    db_url = url or _settings().database_url
    with _session(db_url):
        pass  # fails early, with a remedy, when the schema is not migrated
    if workers > 1 and db_url.startswith("sqlite"):
        click.echo("note: several workers share one SQLite file; PostgreSQL is the team setup", err=True)
    if url:
        os.environ["EMOTIONS_DATABASE_URL"] = url
    auth.secret_key(_settings())  # created once here, so every worker signs cookies with the same key
    click.echo(f"serving on http://{host}:{port} (docs at /docs) with {workers} worker(s)")
    uvicorn.run("annotation_app.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False, **proxy_options(_settings().app_trusted_proxies))


def proxy_options(trusted: str) -> dict:
    """uvicorn's proxy settings: X-Forwarded-For rewrites the client address only when it comes from one of the
    configured proxies (uvicorn would otherwise trust loopback, so any local caller could pick its address)."""
    addresses = [a.strip() for a in trusted.split(",") if a.strip()]
    return {"proxy_headers": bool(addresses), "forwarded_allow_ips": addresses or []}


@app.command()
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Backup file to write; its verify sidecar goes to FILE.json.")
@_url_option
def backup(out_file: Path, url: str | None) -> None:
    """Back up the database (SQLite online backup or pg_dump -Fc) and record row counts and a votes checksum."""
    from annotation_app.services import backup as backup_service

    sidecar = backup_service.backup(url or _settings().database_url, out_file)
    rows = sum(sidecar["tables"].values())
    click.echo(f"backed up {len(sidecar['tables'])} tables, {rows} rows ({sidecar['tables'].get('votes', 0)} votes) "
               f"to {out_file}; verify sidecar {backup_service.sidecar_path(out_file)}")


@app.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True,
              help="Overwrite a non-empty database and restore a backup that fails its sidecar check.")
@_url_option
def restore(file: Path, force: bool, url: str | None) -> None:
    """Restore a backup made by `emotions app backup` and verify row counts and the votes checksum."""
    from annotation_app.services import backup as backup_service

    restored = backup_service.restore(url or _settings().database_url, file, force=force)
    rows = sum(restored["tables"].values())
    status = "NOT verified: " + "; ".join(restored["mismatches"][:5]) if restored["mismatches"] else "verified"
    click.echo(f"restored {len(restored['tables'])} tables, {rows} rows ({restored['tables'].get('votes', 0)} votes) "
               f"from {file}; {status}")
