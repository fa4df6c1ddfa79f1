"""Admin pages for people: the roster, creating a person, and one person's page (activation, password, role,
group moves with their history, API tokens). Group moves go through `people.move`: capacity and the gender rule
are enforced, an override needs a reason."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from annotation_app import i18n
from annotation_app.deps import AdminUser, AppSettings, DbSession, csrf_protect, db_id, released
from annotation_app.models import User
from annotation_app.routes import admin_text
from annotation_app.routes.admin_pages import attempt, show
from annotation_app.routes.pages import language_of
from annotation_app.services import accounts, people
from core.errors import InvalidRequest
from core.settings import Settings

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])
PROFILE_FORM = {"we": "work_experience", "ms": "msceit", "eb": "education", "cb": "culture", "lp": "leadership"}


def _roster(request: Request, user: User, session: Session, settings: Settings, **context) -> Response:
    return show(request, user, "people.html", "people", people=accounts.roster(session), groups=people.groups(session),
                sizes=accounts.group_sizes(session), capacity=settings.app_group_capacity, **context)


@router.get("/admin/people")
@released
def roster(request: Request, user: AdminUser, session: DbSession, settings: AppSettings) -> Response:
    return _roster(request, user, session, settings)


def _score(key: str, value: str) -> float | None:
    if not value.strip():
        return None
    try:
        return float(value)
    except ValueError:
        raise InvalidRequest(f"{key} is a number from 0 to 100, got {value!r}") from None


@router.post("/admin/users")
@released
def create(request: Request, username: Annotated[str, Form()], password: Annotated[str, Form()],
           role: Annotated[str, Form()], user: AdminUser, session: DbSession, settings: AppSettings,
           group: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "",
           display_name: Annotated[str, Form()] = "", language: Annotated[str, Form()] = "zh-Hans",
           gender: Annotated[str, Form()] = "", we: Annotated[str, Form()] = "", ms: Annotated[str, Form()] = "",
           eb: Annotated[str, Form()] = "", cb: Annotated[str, Form()] = "",
           lp: Annotated[str, Form()] = "") -> Response:
    given = {"we": we, "ms": ms, "eb": eb, "cb": cb, "lp": lp}

    def work() -> User:
        profile = {PROFILE_FORM[k]: _score(k, v) for k, v in given.items()}
        made = people.create_user(session, username, role, password=password, actor_id=user.id,
                                  display_name=display_name.strip(), language=language, gender=gender or None,
                                  **profile)
        if group:
            people.move(session, made, people.group_by_name(session, group), capacity=settings.app_group_capacity,
                        gender_rule=settings.app_gender_rule, reason=reason, actor_id=user.id)
        return made

    made, error = attempt(request, user, session, work)
    if error is not None:
        form = {"username": username, "display_name": display_name, "role": role, "language": language,
                "gender": gender, "group": group, "reason": reason, **given}
        return _roster(request, user, session, settings, error=error, form=form)
    return RedirectResponse(f"/admin/people/{made.id}?created=1", status_code=303)


def _person(request: Request, user: User, session: Session, settings: Settings, person_id: int,
            **context) -> Response:
    person = accounts.user_by_id(session, db_id(person_id, "user"))
    membership = people.current_membership(session, person.id)
    current = next((g.name for g in people.groups(session) if membership and g.id == membership.group_id), None)
    return show(request, user, "person.html", "people", person=person, current_group=current,
                history=accounts.history(session, person.id), tokens=accounts.tokens(session, person.id),
                groups=people.groups(session), capacity=settings.app_group_capacity, **context)


@router.get("/admin/people/{person_id}")
@released
def person_page(request: Request, person_id: int, user: AdminUser, session: DbSession, settings: AppSettings,
                created: int = 0) -> Response:
    done = None
    if created:
        person = accounts.user_by_id(session, db_id(person_id, "user"))
        done = admin_text.done("created", language_of(request, user), name=person.username)
    return _person(request, user, session, settings, person_id, done=done)


def _act(request: Request, user: User, session: Session, settings: Settings, person_id: int, work,
         message, **context) -> Response:
    """Run `work(person)`; show the person's page with `message(person, result)` or the refusal."""
    person = accounts.user_by_id(session, db_id(person_id, "user"))
    result, error = attempt(request, user, session, lambda: work(person))
    done = message(person, result, language_of(request, user)) if error is None else None
    return _person(request, user, session, settings, person_id, done=done, error=error,
                   **(context if error is None else {}))


@router.post("/admin/people/{person_id}/active")
@released
def set_active(request: Request, person_id: int, active: Annotated[str, Form()], user: AdminUser,
               session: DbSession, settings: AppSettings) -> Response:
    wanted = active == "1"
    return _act(request, user, session, settings, person_id,
                lambda p: accounts.set_active(session, p, wanted, actor_id=user.id),
                lambda p, n, lang: admin_text.done("deactivated" if not wanted else "reactivated", lang,
                                                   name=p.username, n=n))


@router.post("/admin/people/{person_id}/password")
@released
def reset_password(request: Request, person_id: int, password: Annotated[str, Form()], user: AdminUser,
                   session: DbSession, settings: AppSettings) -> Response:
    return _act(request, user, session, settings, person_id,
                lambda p: accounts.reset_password(session, p, password, actor_id=user.id),
                lambda p, _, lang: admin_text.done("password", lang, name=p.username))


@router.post("/admin/people/{person_id}/role")
@released
def change_role(request: Request, person_id: int, role: Annotated[str, Form()], user: AdminUser,
                session: DbSession, settings: AppSettings, reason: Annotated[str, Form()] = "") -> Response:
    return _act(request, user, session, settings, person_id,
                lambda p: accounts.change_role(session, p, role, capacity=settings.app_group_capacity,
                                               gender_rule=settings.app_gender_rule, reason=reason,
                                               actor_id=user.id),
                lambda p, _, lang: admin_text.done("role", lang, name=p.username, role=i18n.role_name(role, lang)))


@router.post("/admin/people/{person_id}/move")
@released
def move(request: Request, person_id: int, user: AdminUser, session: DbSession, settings: AppSettings,
         group: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "") -> Response:
    def work(person: User):
        people.move(session, person, people.group_by_name(session, group) if group else None,
                    capacity=settings.app_group_capacity, gender_rule=settings.app_gender_rule, reason=reason,
                    actor_id=user.id)

    return _act(request, user, session, settings, person_id, work,
                lambda p, _, lang: admin_text.done("moved" if group else "moved_out", lang, name=p.username,
                                                   group=group))


@router.post("/admin/people/{person_id}/tokens")
@released
def issue_token(request: Request, person_id: int, user: AdminUser, session: DbSession, settings: AppSettings,
                name: Annotated[str, Form()] = "") -> Response:
    holder: dict[str, str] = {}

    def work(person: User) -> str:
        holder["token"] = accounts.issue_token(session, person, name, actor_id=user.id)
        return holder["token"]

    return _act(request, user, session, settings, person_id, work,
                lambda p, _, lang: admin_text.done("token", lang, name=p.username), new_token=holder)


@router.post("/admin/people/{person_id}/tokens/{token_id}/revoke")
@released
def revoke_token(request: Request, person_id: int, token_id: int, user: AdminUser, session: DbSession,
                 settings: AppSettings) -> Response:
    return _act(request, user, session, settings, person_id,
                lambda p: accounts.revoke_token(session, p, db_id(token_id, "token"), actor_id=user.id),
                lambda p, _, lang: admin_text.done("revoked", lang))
