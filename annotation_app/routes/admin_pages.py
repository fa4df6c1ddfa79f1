"""Admin pages (Jinja2): overview and distribution, import, group formation, cross-check, export, backup, audit log.

People and their accounts are in `admin_people`. Every action runs one service call. One that went through
answers 303 to its page, which shows the result once (`admin_forms.done`: reloading repeats nothing); a refusal,
a badly typed field included, is rolled back and shown on the same page in the admin's language with what was
typed kept and a 4xx status (never a success message for something that did not happen).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from annotation_app.deps import AdminUser, AppSettings, DbSession, csrf_protect, released
from annotation_app.models import User
from annotation_app.routes import admin_forms, admin_text
from annotation_app.routes.admin_forms import Field
from annotation_app.routes.pages import language_of, render
from annotation_app.services import accounts, audit, backup, crosscheck, importer, people
from annotation_app.services import export as export_service
from core.errors import EmotionsError, InvalidRequest
from core.settings import Settings

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])
T = TypeVar("T")
AUDIT_PAGE = 50


def show(request: Request, user: User, template: str, section: str, *, error: dict | None = None,
         **context) -> Response:
    """An admin page: the sub-navigation marks `section`; a refusal sets the status code; the result of the
    action that redirected here (its flash, read once) is shown unless the context brings its own `flash`."""
    pending = admin_forms.take_flash(request, language_of(request, user))
    return render(request, f"admin/{template}", user, status_code=error["status"] if error else 200,
                  section=section, error=error, **{"flash": pending, **context})


def attempt(request: Request, user: User, session: Session, work: Callable[[], T]) -> tuple[T | None, dict | None]:
    """Run `work` and commit: (its result, None); on a refusal roll everything back: (None, the refusal)."""
    try:
        result = work()
        session.commit()
        return result, None
    except EmotionsError as exc:
        session.rollback()
        return None, admin_text.refusal(exc, language_of(request, user))


# -- overview and distribution ------------------------------------------------------------------------------------

def _overview(request: Request, user: User, session: Session, form: dict | None = None, **context) -> Response:
    return show(request, user, "overview.html", "overview", progress=export_service.progress(session),
                groups=people.groups(session), form=form or {"batch_size": "100", "limit": "", "groups": []},
                **context)


@router.get("/admin")
@released
def overview(request: Request, user: AdminUser, session: DbSession) -> Response:
    return _overview(request, user, session)


@router.post("/admin/distribute")
@released
def distribute(request: Request, user: AdminUser, session: DbSession, settings: AppSettings,
               batch_size: Field = "", limit: Field = "",
               groups: Annotated[list[str] | None, Form()] = None) -> Response:
    """Deal the undistributed samples; to the chosen `groups` only when some are ticked (else to every group)."""
    def work() -> dict[str, int]:
        chosen = admin_forms.choices(groups or [], "groups", [g.name for g in people.groups(session)])
        return importer.distribute(session, admin_forms.whole(batch_size, "batch_size", minimum=1),
                                   group_names=chosen or None,
                                   limit=admin_forms.whole(limit, "limit", minimum=1, required=False),
                                   actor_id=user.id, members_per_sample=settings.app_members_per_sample)

    dealt, error = attempt(request, user, session, work)
    if error is None:
        return admin_forms.done(request, "/admin", "distributed", n=sum(dealt.values()), dealt=dealt)
    return _overview(request, user, session, {"batch_size": batch_size, "limit": limit, "groups": groups or []},
                     error=error)


# -- import -------------------------------------------------------------------------------------------------------

def _import_page(request: Request, user: User, settings: Settings, **context) -> Response:
    return show(request, user, "import.html", "import", manifests=importer.offered_manifests(settings.data_dir),
                gold_files=importer.offered_gold_files(settings.data_dir),
                skip_name=lambda key: admin_text.named(admin_text.SKIPS, key, language_of(request, user)),
                **context)


@router.get("/admin/import")
@released
def import_page(request: Request, user: AdminUser, settings: AppSettings) -> Response:
    return _import_page(request, user, settings)


@router.post("/admin/import")
@released
def import_manifest(request: Request, user: AdminUser, session: DbSession, settings: AppSettings,
                    manifest: Field = "", gold: Field = "") -> Response:
    report, error = attempt(request, user, session, lambda: importer.import_offered(
        session, settings.data_dir, admin_forms.text(manifest, "manifest"), gold_choice=gold, actor_id=user.id))
    if error is None:
        return admin_forms.done(request, "/admin/import", "imported", manifest=manifest.strip(), rows=report.rows,
                                n=report.imported, gold=report.gold, skipped=sum(report.skipped.values()),
                                reasons=report.skipped)
    return _import_page(request, user, settings, chosen=manifest, chosen_gold=gold, error=error)


# -- groups -------------------------------------------------------------------------------------------------------

def _plan_signature(plans) -> str:
    """A short fingerprint of a plan: apply refuses when the people changed since the preview."""
    names = [[p.name, p.leader.name, *(m.name for m in p.members)] for p in plans]
    return hashlib.sha256(json.dumps(names).encode()).hexdigest()[:16]


def _groups_page(request: Request, user: User, session: Session, settings: Settings, form: dict | None = None,
                 **context) -> Response:
    form = form or {"n_groups": settings.app_group_count, "size": settings.app_group_capacity,
                    "gender_rule": settings.app_gender_rule, "leader_by": settings.app_leader_by}
    return show(request, user, "groups.html", "groups", sizes=accounts.group_sizes(session),
                capacity=settings.app_group_capacity, gender_rule=settings.app_gender_rule, form=form, **context)


def _plan(session: Session, settings: Settings, typed: dict[str, str]):
    """The plan for the settings as typed (FieldError on a badly typed one); nothing changes."""
    return people.preview_groups(
        session, n_groups=admin_forms.whole(typed["n_groups"], "n_groups", minimum=1, maximum=26),
        size=admin_forms.whole(typed["size"], "size", minimum=1), gender_rule=bool(typed["gender_rule"]),
        leader_by=admin_forms.choice(typed["leader_by"], "leader_by", ("p", "lp")),
        capacity=settings.app_group_capacity)


@router.get("/admin/groups")
@released
def groups_page(request: Request, user: AdminUser, session: DbSession, settings: AppSettings, preview: str = "",
                n_groups: str = "", size: str = "", leader_by: str = "", gender_rule: str = "") -> Response:
    """The groups; with `preview`, also the plan for the settings given. The preview form is a GET: it changes
    nothing, so reloading or bookmarking it is harmless."""
    if not preview:
        return _groups_page(request, user, session, settings)
    typed = {"n_groups": n_groups, "size": size, "gender_rule": gender_rule, "leader_by": leader_by}
    plans, error = attempt(request, user, session, lambda: _plan(session, settings, typed))
    return _groups_page(request, user, session, settings, typed, plans=plans, error=error,
                        signature=_plan_signature(plans) if plans else "")


@router.post("/admin/groups/apply")
@released
def groups_apply(request: Request, user: AdminUser, session: DbSession, settings: AppSettings,
                 n_groups: Field = "", size: Field = "", leader_by: Field = "", gender_rule: Field = "",
                 signature: Field = "") -> Response:
    typed = {"n_groups": n_groups, "size": size, "gender_rule": gender_rule, "leader_by": leader_by}

    def apply():
        if _plan_signature(_plan(session, settings, typed)) != signature:
            raise InvalidRequest("the plan differs from the preview", code="plan_changed")
        return people.form_groups(session, n_groups=int(n_groups), size=int(size), gender_rule=bool(gender_rule),
                                  leader_by=leader_by, capacity=settings.app_group_capacity, actor_id=user.id)

    plans, error = attempt(request, user, session, apply)
    if error is None:
        return admin_forms.done(request, "/admin/groups", "groups_formed", n=len(plans),
                                people=sum(1 + len(p.members) for p in plans))
    fresh = None
    if "field" not in error:  # the plan as it would be now, to look at before applying again
        fresh, _ = attempt(request, user, session, lambda: _plan(session, settings, typed))
    return _groups_page(request, user, session, settings, typed, plans=fresh, error=error,
                        signature=_plan_signature(fresh) if fresh else "")


# -- cross-check --------------------------------------------------------------------------------------------------

def _crosscheck_page(request: Request, user: User, session: Session, form: dict | None = None,
                     **context) -> Response:
    return show(request, user, "crosscheck.html", "crosscheck", routes=crosscheck.sets_by_route(session),
                form=form or {"name": "sA", "set_size": "100", "seed": "0"}, **context)


@router.get("/admin/crosscheck")
@released
def crosscheck_page(request: Request, user: AdminUser, session: DbSession) -> Response:
    return _crosscheck_page(request, user, session)


@router.post("/admin/crosscheck")
@released
def crosscheck_draw(request: Request, user: AdminUser, session: DbSession, settings: AppSettings,
                    name: Field = "", set_size: Field = "", seed: Field = "") -> Response:
    made, error = attempt(request, user, session, lambda: crosscheck.draw_sets(
        session, settings, admin_forms.text(name, "name", max_length=16),
        set_size=admin_forms.whole(set_size, "set_size", minimum=1),
        seed=admin_forms.whole(seed, "seed", required=False, default=0), actor_id=user.id))
    if error is None:
        return admin_forms.done(request, "/admin/crosscheck", "drawn", name=name.strip(), n=len(made))
    return _crosscheck_page(request, user, session, {"name": name, "set_size": set_size, "seed": seed},
                            error=error)


# -- export and backup --------------------------------------------------------------------------------------------

@router.get("/admin/export")
@released
def export_page(request: Request, user: AdminUser) -> Response:
    return show(request, user, "export.html", "export")


@router.post("/admin/export")
@released
def export_download(request: Request, user: AdminUser, session: DbSession) -> Response:
    """The votes and labels as CSV and Parquet in one zip, written to a temporary folder removed after sending."""
    work = tempfile.mkdtemp(prefix="emotions-export-")
    archive, error = attempt(request, user, session, lambda: export_service.export_archive(
        session, work, actor_id=user.id))
    if error is not None:
        shutil.rmtree(work, ignore_errors=True)
        return show(request, user, "export.html", "export", error=error)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return FileResponse(archive, media_type="application/zip", filename=f"emotions-export-{stamp}.zip",
                        background=BackgroundTask(shutil.rmtree, work, ignore_errors=True))


def _backup_page(request: Request, user: User, settings: Settings, **context) -> Response:
    return show(request, user, "backup.html", "backup", backups=backup.backups_in(settings.data_dir),
                folder=str(settings.data_dir / backup.BACKUPS_FOLDER), **context)


@router.get("/admin/backup")
@released
def backup_page(request: Request, user: AdminUser, settings: AppSettings) -> Response:
    return _backup_page(request, user, settings)


@router.post("/admin/backup")
@released
def backup_now(request: Request, user: AdminUser, session: DbSession, settings: AppSettings) -> Response:
    url = request.app.state.engine.url.render_as_string(hide_password=False)

    def work():
        try:
            made, sidecar = backup.backup_now(url, settings.data_dir)
        except EmotionsError as exc:  # the backup tool's failure, told as such
            raise InvalidRequest(exc.message, remedy=exc.remedy, code="backup_failed") from None
        audit.record(session, user.id, "backup.created", "project", "default", file=made.name,
                     rows=sum(sidecar["tables"].values()), votes=sidecar["tables"].get("votes", 0))
        return {"file": made.name, "tables": len(sidecar["tables"]), "rows": sum(sidecar["tables"].values()),
                "votes": sidecar["tables"].get("votes", 0)}

    made, error = attempt(request, user, session, work)
    if error is None:
        return admin_forms.done(request, "/admin/backup", "backup", **made)
    return _backup_page(request, user, settings, error=error)


# -- audit log ----------------------------------------------------------------------------------------------------

def _day(value: str, field: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise admin_text.FieldError(field, "date", value) from None


@router.get("/admin/audit")
@released
def audit_page(request: Request, user: AdminUser, session: DbSession, actor: str = "", action: str = "",
               entity: str = "", since: str = "", until: str = "", page: str = "1") -> Response:
    lang = language_of(request, user)
    rows, total, error, number = [], 0, None, 1
    try:
        number = admin_forms.whole(page, "page", minimum=1, required=False, default=1)
        filters = audit.Filters(actor, action, entity, _day(since, "since"), _day(until, "until"))
        rows, total = audit.search(session, filters, page=number, per_page=AUDIT_PAGE)
    except EmotionsError as exc:
        error = admin_text.refusal(exc, lang)
    query = {"actor": actor, "action": action, "entity": entity, "since": since, "until": until}
    return show(request, user, "audit.html", "audit", rows=rows, total=total, page=number,
                pages=max((total + AUDIT_PAGE - 1) // AUDIT_PAGE, 1), query=query, choices=audit.choices(session),
                action_name=lambda key: admin_text.named(admin_text.ACTIONS, key, lang),
                entity_name=lambda key: admin_text.named(admin_text.ENTITIES, key, lang),
                details=lambda e: admin_text.detail_items(e.detail, lang), error=error)
