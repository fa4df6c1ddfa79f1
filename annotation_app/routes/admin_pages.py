"""Admin pages (Jinja2): overview and distribution, import, group formation, cross-check, export, backup, audit log.

People and their accounts are in `admin_people`. Every action runs one service call; a refusal is rolled back
and shown on the page in the admin's language (never a success message for something that did not happen).
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
from annotation_app.routes import admin_text
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
    """An admin page: the sub-navigation marks `section`; a refusal sets the status code."""
    return render(request, f"admin/{template}", user, status_code=error["status"] if error else 200,
                  section=section, error=error, **context)


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

def _overview(request: Request, user: User, session: Session, **context) -> Response:
    return show(request, user, "overview.html", "overview", progress=export_service.progress(session),
                groups=people.groups(session), **context)


@router.get("/admin")
@released
def overview(request: Request, user: AdminUser, session: DbSession) -> Response:
    return _overview(request, user, session)


@router.post("/admin/distribute")
@released
def distribute(request: Request, batch_size: Annotated[int, Form(ge=1)], user: AdminUser, session: DbSession,
               settings: AppSettings, limit: Annotated[str, Form()] = "") -> Response:
    def work() -> dict[str, int]:
        if limit.strip() and not (limit.strip().isdigit() and int(limit) >= 1):
            raise InvalidRequest(f"the most to distribute is a whole number of at least 1, got {limit!r}")
        return importer.distribute(session, batch_size, limit=int(limit) if limit.strip() else None,
                                   actor_id=user.id, members_per_sample=settings.app_members_per_sample)

    dealt, error = attempt(request, user, session, work)
    return _overview(request, user, session, dealt=dealt, error=error)


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
def import_manifest(request: Request, manifest: Annotated[str, Form()], user: AdminUser, session: DbSession,
                    settings: AppSettings, gold: Annotated[str, Form()] = "") -> Response:
    report, error = attempt(request, user, session, lambda: importer.import_offered(
        session, settings.data_dir, manifest, gold_choice=gold, actor_id=user.id))
    return _import_page(request, user, settings, report=report, chosen=manifest, chosen_gold=gold, error=error)


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


def _groups_form(n_groups: int, size: int, gender_rule: str, leader_by: str) -> dict:
    if leader_by not in ("p", "lp"):
        raise InvalidRequest("leader_by is 'p' or 'lp'")
    return {"n_groups": n_groups, "size": size, "gender_rule": bool(gender_rule), "leader_by": leader_by}


@router.get("/admin/groups")
@released
def groups_page(request: Request, user: AdminUser, session: DbSession, settings: AppSettings) -> Response:
    return _groups_page(request, user, session, settings)


@router.post("/admin/groups/preview")
@released
def groups_preview(request: Request, n_groups: Annotated[int, Form(ge=1, le=26)], size: Annotated[int, Form(ge=1)],
                   leader_by: Annotated[str, Form()], user: AdminUser, session: DbSession, settings: AppSettings,
                   gender_rule: Annotated[str, Form()] = "") -> Response:
    form = _groups_form(n_groups, size, gender_rule, leader_by)
    plans, error = attempt(request, user, session, lambda: people.preview_groups(
        session, **form, capacity=settings.app_group_capacity))
    return _groups_page(request, user, session, settings, form, plans=plans, error=error,
                        signature=_plan_signature(plans) if plans else "")


@router.post("/admin/groups/apply")
@released
def groups_apply(request: Request, n_groups: Annotated[int, Form(ge=1, le=26)], size: Annotated[int, Form(ge=1)],
                 leader_by: Annotated[str, Form()], signature: Annotated[str, Form()], user: AdminUser,
                 session: DbSession, settings: AppSettings, gender_rule: Annotated[str, Form()] = "") -> Response:
    form = _groups_form(n_groups, size, gender_rule, leader_by)

    def apply():
        planned = people.preview_groups(session, **form, capacity=settings.app_group_capacity)
        if _plan_signature(planned) != signature:
            raise InvalidRequest("the plan differs from the preview", code="plan_changed")
        return people.form_groups(session, **form, capacity=settings.app_group_capacity, actor_id=user.id)

    plans, error = attempt(request, user, session, apply)
    return _groups_page(request, user, session, settings, form, plans=plans, applied=plans is not None, error=error)


# -- cross-check --------------------------------------------------------------------------------------------------

@router.get("/admin/crosscheck")
@released
def crosscheck_page(request: Request, user: AdminUser, session: DbSession) -> Response:
    return show(request, user, "crosscheck.html", "crosscheck", routes=crosscheck.sets_by_route(session))


@router.post("/admin/crosscheck")
@released
def crosscheck_draw(request: Request, name: Annotated[str, Form()], set_size: Annotated[int, Form(ge=1)],
                    user: AdminUser, session: DbSession, settings: AppSettings,
                    seed: Annotated[int, Form()] = 0) -> Response:
    drawn, error = attempt(request, user, session, lambda: crosscheck.sets_by_route(
        session, crosscheck.draw_sets(session, settings, name.strip(), set_size=set_size, seed=seed,
                                      actor_id=user.id)))
    return show(request, user, "crosscheck.html", "crosscheck", routes=crosscheck.sets_by_route(session),
                drawn=drawn, drawn_name=name.strip(), error=error)


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
        return {"file": made.name, "path": str(made), "tables": len(sidecar["tables"]),
                "rows": sum(sidecar["tables"].values()), "votes": sidecar["tables"].get("votes", 0),
                "sha256": sidecar["file_sha256"]}

    made, error = attempt(request, user, session, work)
    return _backup_page(request, user, settings, made=made, error=error)


# -- audit log ----------------------------------------------------------------------------------------------------

def _day(value: str, what: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidRequest(f"{what} is a date like 2024-05-31, got {value!r}") from None


@router.get("/admin/audit")
@released
def audit_page(request: Request, user: AdminUser, session: DbSession, actor: str = "", action: str = "",
               entity: str = "", since: str = "", until: str = "", page: int = 1) -> Response:
    lang = language_of(request, user)
    rows, total, error = [], 0, None
    try:
        filters = audit.Filters(actor, action, entity, _day(since, "from"), _day(until, "to"))
        rows, total = audit.search(session, filters, page=max(page, 1), per_page=AUDIT_PAGE)
    except EmotionsError as exc:
        error = admin_text.refusal(exc, lang)
    query = {"actor": actor, "action": action, "entity": entity, "since": since, "until": until}
    return show(request, user, "audit.html", "audit", rows=rows, total=total, page=max(page, 1),
                pages=max((total + AUDIT_PAGE - 1) // AUDIT_PAGE, 1), query=query, choices=audit.choices(session),
                action_name=lambda key: admin_text.named(admin_text.ACTIONS, key, lang),
                entity_name=lambda key: admin_text.named(admin_text.ENTITIES, key, lang), error=error)
