"""Admin pages for people: the roster, creating a person, and one person's page (activation, password, role,
group moves with their history, API tokens). Group moves go through `people.move`: capacity and the gender rule
are enforced, an override needs a reason.

An action that went through answers 303 to the person's page, which shows the result once; a refusal shows the
same page with a 4xx status and what was typed kept (never a password). Issuing an API token is the exception,
see `issue_token`.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from annotation_app.deps import AdminUser, AppSettings, DbSession, csrf_protect, db_id, released
from annotation_app.i18n import LANGUAGES
from annotation_app.models import User
from annotation_app.routes import admin_forms, admin_text
from annotation_app.routes.admin_forms import Field
from annotation_app.routes.admin_pages import attempt, show
from annotation_app.routes.pages import language_of
from annotation_app.services import accounts, people
from core.errors import ConflictError
from core.settings import Settings

router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])
PROFILE_FORM = {"we": "work_experience", "ms": "msceit", "eb": "education", "cb": "culture", "lp": "leadership"}
ROLES = ("member", "leader", "expert", "admin")


def _roster(request: Request, user: User, session: Session, settings: Settings, **context) -> Response:
    return show(request, user, "people.html", "people", people=accounts.roster(session), groups=people.groups(session),
                sizes=accounts.group_sizes(session), capacity=settings.app_group_capacity, **context)


@router.get("/admin/people")
@released
def roster(request: Request, user: AdminUser, session: DbSession, settings: AppSettings) -> Response:
    return _roster(request, user, session, settings)


def _group(session: Session, name: str):
    """The group chosen in a form by name ('' is no group)."""
    return people.group_by_name(session, admin_forms.choice(name, "group", [g.name for g in people.groups(session)])) \
        if name else None


def _reason(text: str) -> str:
    """A reason for overriding a group rule (may be empty: the service says when one is needed)."""
    return admin_forms.text(text, "reason", required=False, max_length=500)


@router.post("/admin/users")
@released
def create(request: Request, user: AdminUser, session: DbSession, settings: AppSettings, username: Field = "",
           password: Field = "", role: Field = "member", group: Field = "", reason: Field = "",
           display_name: Field = "", language: Field = "zh-Hans", gender: Field = "", we: Field = "", ms: Field = "",
           eb: Field = "", cb: Field = "", lp: Field = "") -> Response:
    given = {"we": we, "ms": ms, "eb": eb, "cb": cb, "lp": lp}

    def work() -> User:
        name = admin_forms.text(username, "username", max_length=64)
        shown_as = admin_forms.text(display_name, "display_name", required=False, max_length=100)
        profile = {PROFILE_FORM[k]: admin_forms.score(v, k) for k, v in given.items()}
        made = people.create_user(session, name, admin_forms.choice(role, "role", ROLES),
                                  password=admin_forms.text(password, "password"), actor_id=user.id,
                                  display_name=shown_as, language=admin_forms.choice(language, "language", LANGUAGES),
                                  gender=admin_forms.choice(gender, "gender", ("", "m", "f")) or None, **profile)
        chosen = _group(session, group)
        if chosen is not None:
            people.move(session, made, chosen, capacity=settings.app_group_capacity,
                        gender_rule=settings.app_gender_rule, reason=_reason(reason), actor_id=user.id)
        return made

    made, error = attempt(request, user, session, work)
    if error is None:
        return admin_forms.done(request, f"/admin/people/{made.id}", "created", name=made.username)
    form = {"username": username, "display_name": display_name, "role": role, "language": language,
            "gender": gender, "group": group, "reason": reason, **given}
    return _roster(request, user, session, settings, error=error, form=form)


def _person(request: Request, user: User, session: Session, settings: Settings, person_id: int,
            **context) -> Response:
    person = accounts.user_by_id(session, db_id(person_id, "user"))
    membership = people.current_membership(session, person.id)
    current = next((g.name for g in people.groups(session) if membership and g.id == membership.group_id), None)
    tokens = accounts.tokens(session, person.id)
    return show(request, user, "person.html", "people", person=person, current_group=current,
                history=accounts.history(session, person.id), tokens=tokens, tokens_seen=len(tokens),
                groups=people.groups(session), capacity=settings.app_group_capacity, **context)


@router.get("/admin/people/{person_id}")
@released
def person_page(request: Request, person_id: int, user: AdminUser, session: DbSession,
                settings: AppSettings) -> Response:
    return _person(request, user, session, settings, person_id)


def _act(request: Request, user: User, session: Session, settings: Settings, person_id: int,
         work: Callable[[User], object], done: Callable[[User, object], tuple[str, dict]],
         form: dict | None = None) -> Response:
    """Run `work(person)`: on success 303 to the person's page, which then says `done(person, result)` (a DONE
    key and its values) once; on a refusal the person's page with it and the `form` as typed."""
    person = accounts.user_by_id(session, db_id(person_id, "user"))
    result, error = attempt(request, user, session, lambda: work(person))
    if error is None:
        key, values = done(person, result)
        return admin_forms.done(request, f"/admin/people/{person.id}", key, **values)
    return _person(request, user, session, settings, person_id, error=error, form=form or {})


@router.post("/admin/people/{person_id}/active")
@released
def set_active(request: Request, person_id: int, user: AdminUser, session: DbSession, settings: AppSettings,
               active: Field = "") -> Response:
    wanted = active == "1"
    return _act(request, user, session, settings, person_id,
                lambda p: accounts.set_active(session, p, wanted, actor_id=user.id),
                lambda p, n: ("reactivated" if wanted else "deactivated", {"name": p.username, "n": n}))


@router.post("/admin/people/{person_id}/password")
@released
def reset_password(request: Request, person_id: int, user: AdminUser, session: DbSession, settings: AppSettings,
                   password: Field = "") -> Response:
    return _act(request, user, session, settings, person_id,
                lambda p: accounts.reset_password(session, p, admin_forms.text(password, "password"),
                                                  actor_id=user.id),
                lambda p, _: ("password", {"name": p.username}))


@router.post("/admin/people/{person_id}/role")
@released
def change_role(request: Request, person_id: int, user: AdminUser, session: DbSession, settings: AppSettings,
                role: Field = "", reason: Field = "") -> Response:
    return _act(request, user, session, settings, person_id,
                lambda p: accounts.change_role(session, p, admin_forms.choice(role, "role", ROLES),
                                               capacity=settings.app_group_capacity,
                                               gender_rule=settings.app_gender_rule, reason=_reason(reason),
                                               actor_id=user.id),
                lambda p, _: ("role", {"name": p.username, "role": role}),
                form={"action": "role", "role": role, "reason": reason})


@router.post("/admin/people/{person_id}/move")
@released
def move(request: Request, person_id: int, user: AdminUser, session: DbSession, settings: AppSettings,
         group: Field = "", reason: Field = "") -> Response:
    def work(person: User) -> None:
        people.move(session, person, _group(session, group), capacity=settings.app_group_capacity,
                    gender_rule=settings.app_gender_rule, reason=_reason(reason), actor_id=user.id)

    return _act(request, user, session, settings, person_id, work,
                lambda p, _: ("moved" if group else "moved_out", {"name": p.username, "group": group}),
                form={"action": "move", "group": group, "reason": reason})


@router.post("/admin/people/{person_id}/tokens")
@released
def issue_token(request: Request, person_id: int, user: AdminUser, session: DbSession, settings: AppSettings,
                name: Field = "", seen: Field = "") -> Response:
    """Issue an API token and show it on this answer, once, with `Cache-Control: no-store`.

    The one exception to Post/Redirect/Get: the token's value is not stored anywhere (only its hash is), and
    carrying it to a redirected page would mean putting a live credential in the cookie, or in a server-side
    store, which several worker processes would not share. So it is shown on the answer to the POST, which no
    cache or back button keeps; and the form carries `seen`, the number of tokens the person had when the page
    was shown. Sending the form again (reloading this answer, a second tab, a double click) finds that number
    changed and is refused with a clear message (409): a form issues at most one token.
    """
    person = accounts.user_by_id(session, db_id(person_id, "user"))

    def work() -> str:
        if seen.strip() != str(len(accounts.tokens(session, person.id))):
            raise ConflictError(f"the form was already used: {person.username} has had more tokens since it was "
                                f"shown", code="token_form_used", remedy="issue a token from the page as it is now")
        label = admin_forms.text(name, "name", required=False, max_length=100, label="token_name")
        return accounts.issue_token(session, person, label, actor_id=user.id)

    token, error = attempt(request, user, session, work)
    issued = None if error else {"key": "token", "data": {}, "text": admin_text.done(
        "token", language_of(request, user), name=person.username)}
    response = _person(request, user, session, settings, person_id, error=error, new_token=token, flash=issued,
                       form={} if error is None else {"action": "token", "name": name})
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/admin/people/{person_id}/tokens/{token_id}/revoke")
@released
def revoke_token(request: Request, person_id: int, token_id: int, user: AdminUser, session: DbSession,
                 settings: AppSettings) -> Response:
    return _act(request, user, session, settings, person_id,
                lambda p: accounts.revoke_token(session, p, db_id(token_id, "token"), actor_id=user.id),
                lambda p, _: ("revoked", {}))
