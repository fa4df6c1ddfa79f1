"""Browser pages (Jinja2): login, labelling, qualification, leader dashboard, expert queues, admin."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from annotation_app import i18n
from annotation_app.deps import (
    AdminUser,
    AnyUser,
    AppSettings,
    DbSession,
    ExpertUser,
    LeaderOrAdmin,
    MaybeCaller,
    MemberUser,
    client_address,
    csrf_protect,
    db_id,
    released,
    session_data,
    set_session,
)
from annotation_app.models import User
from annotation_app.services import auth, dashboard, importer, people, progress, queue, reviews
from annotation_app.services import export as export_service
from core.errors import AuthenticationError, EmotionsError, TooManyAttempts
from core.settings import Settings

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])
HOME = {"member": "/label", "leader": "/leader", "expert": "/label", "admin": "/admin"}


def language_of(request: Request, user: User | None) -> str:
    return i18n.normalise(user.language if user else request.cookies.get("lang")
                          or request.headers.get("accept-language"))


def render(request: Request, name: str, user: User | None, status_code: int = 200, **context) -> Response:
    lang = language_of(request, user)
    base = {"lang": lang, "me": user, "csrf": session_data(request)["csrf"], **i18n.template_functions(lang)}
    return request.app.state.templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


def safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login (no open redirects)."""
    parts = urlsplit(target or "/")
    if parts.scheme or parts.netloc or not (target or "/").startswith("/") or (target or "").startswith("//"):
        return "/"
    return target or "/"


@router.get("/")
@released
def home(session: DbSession, caller: MaybeCaller) -> Response:
    if caller is None:
        return RedirectResponse("/login", status_code=303)
    user = caller.user
    if queue.qualification_required(session, user):
        return RedirectResponse("/qualify", status_code=303)
    return RedirectResponse(HOME[user.role], status_code=303)


@router.get("/login")
@released
def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", None, next=safe_next(next), message=None)


@router.post("/login")
@released
def login_form(request: Request, username: Annotated[str, Form()], password: Annotated[str, Form()],
               session: DbSession, settings: AppSettings, next: Annotated[str, Form()] = "/") -> Response:
    try:
        user = auth.login(session, settings, username, password, client_address(request))
    except (AuthenticationError, TooManyAttempts) as exc:
        lang = language_of(request, None)
        if isinstance(exc, TooManyAttempts):
            status, message = 429, i18n.gettext("Too many failed logins: try again in %(s)s s.", lang,
                                                s=getattr(exc, "retry_after_s", "?"))
        else:
            status, message = 401, i18n.gettext("Wrong user name or password.", lang)
        return render(request, "login.html", None, status_code=status, next=safe_next(next), message=message)
    session.commit()
    set_session(request, auth.session_payload(user))
    target = safe_next(next)
    return RedirectResponse("/" if target == "/login" else target, status_code=303)


@router.post("/logout")
@released
def logout(request: Request, session: DbSession) -> Response:
    auth.end_sessions(session, session_data(request).get("uid"), client_address(request))
    session.commit()
    set_session(request, {"csrf": auth.new_csrf()})
    return RedirectResponse("/login", status_code=303)


@router.post("/lang")
@released
def switch_language(request: Request, language: Annotated[str, Form()], session: DbSession, caller: MaybeCaller,
                    next: Annotated[str, Form()] = "/") -> Response:
    chosen = i18n.normalise(language)
    if caller is not None:
        caller.user.language = chosen
        session.commit()
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie("lang", chosen, max_age=365 * 86400, samesite="lax", httponly=True)
    return response


def label_config(request: Request, session: Session, settings: Settings, user: User, mode: str) -> dict:
    lang = language_of(request, user)
    return {"mode": mode, "lang": lang, "csrf": session_data(request)["csrf"], "role": user.role,
            "user_id": user.id, "done": dashboard.vote_count(session, user.id),
            "pass_mark": settings.app_qualification_pass_mark, "text": i18n.js_text(lang),
            "categories": i18n.categories(lang)}


@router.get("/label")
@released
def label_page(request: Request, user: AnyUser, session: DbSession,
               settings: AppSettings) -> Response:
    if queue.qualification_required(session, user):
        return RedirectResponse("/qualify", status_code=303)
    if user.role == "admin":
        return RedirectResponse("/admin", status_code=303)
    return render(request, "label.html", user, mode="task", pass_mark=settings.app_qualification_pass_mark,
                  config=label_config(request, session, settings, user, "task"),
                  nav_progress=progress.for_person(session, user, settings.app_members_per_sample))


@router.get("/qualify")
@released
def qualify_page(request: Request, user: MemberUser, session: DbSession,
                 settings: AppSettings) -> Response:
    return render(request, "label.html", user, mode="qualify", pass_mark=settings.app_qualification_pass_mark,
                  config=label_config(request, session, settings, user, "qualify"))


@router.post("/leader/reports/{report_id}")
@released
def leader_report(report_id: int, action: Annotated[str, Form()], user: LeaderOrAdmin,
                  session: DbSession) -> Response:
    reviews.handle_report(session, user, db_id(report_id, "report"), action)
    session.commit()
    return RedirectResponse("/leader" if user.role == "leader" else "/admin", status_code=303)


@router.get("/expert/mos")
@released
def mos_page(request: Request, user: ExpertUser, session: DbSession) -> Response:
    lang = language_of(request, user)
    config = {"csrf": session_data(request)["csrf"], "categories": i18n.categories(lang),
              "text": {"queue_empty": i18n.gettext(i18n.JS_TEXT["queue_empty"], lang),
                       "saved": i18n.gettext(i18n.JS_TEXT["saved"], lang)}}
    return render(request, "mos.html", user, config=config)


def _admin_page(request: Request, user: User, session: Session, message: str | None = None) -> Response:
    users = []
    for row in session.scalars(select(User).order_by(User.username)):
        membership = people.current_membership(session, row.id)
        users.append({"username": row.username, "role": row.role,
                      "group": queue.group_name(session, membership.group_id) if membership else None})
    return render(request, "admin.html", user, progress=export_service.progress(session), users=users,
                  groups=people.groups(session), message=message)


@router.get("/admin")
@released
def admin_page(request: Request, user: AdminUser, session: DbSession) -> Response:
    return _admin_page(request, user, session)


@router.post("/admin/users")
@released
def admin_create_user(username: Annotated[str, Form()], password: Annotated[str, Form()],
                      role: Annotated[str, Form()], user: AdminUser, session: DbSession,
                      group: Annotated[str, Form()] = "") -> Response:
    try:
        created = people.create_user(session, username, role, password=password, actor_id=user.id)
        if group:
            people.assign(session, created, people.group_by_name(session, group), actor_id=user.id)
    except EmotionsError:
        session.rollback()
        raise
    session.commit()
    return RedirectResponse("/admin", status_code=303)


@router.post("/admin/distribute")
@released
def admin_distribute(batch_size: Annotated[int, Form()], user: AdminUser,
                     session: DbSession, settings: AppSettings) -> Response:
    importer.distribute(session, batch_size, actor_id=user.id, members_per_sample=settings.app_members_per_sample)
    session.commit()
    return RedirectResponse("/admin", status_code=303)
