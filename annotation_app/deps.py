"""Request dependencies: settings, a database session, the signed cookie session, the caller, role and CSRF guards.

Dependencies that do no I/O are `async def`: a plain `def` dependency costs a hop to the thread pool
on every request.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from annotation_app.models import User
from annotation_app.services import auth
from core.errors import AuthenticationError, NotFoundError, PermissionDenied
from core.settings import Settings

T = TypeVar("T")
COOKIE_NAME = "emotions_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


MAX_DB_ID = 2**31 - 1  # integer primary keys are 32-bit on PostgreSQL


def db_id(value: int, what: str) -> int:
    """A numeric id from a path, checked at the edge: one no row can have is simply not found (404), never a
    database overflow."""
    if not 1 <= value <= MAX_DB_ID:
        raise NotFoundError(f"no {what} {value}")
    return value


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session per request; routes commit what they change, anything uncommitted is rolled back.

    Opened and closed on the event loop (no I/O to open; closing returns the connection), so that
    giving a connection back never waits for a free request thread.
    """
    session = request.app.state.session_factory()
    try:
        yield session
    finally:
        session.close()


def session_data(request: Request) -> dict:
    """The signed cookie payload of this request ({'csrf': ..., 'uid': ...}); created by the middleware."""
    return request.state.session


def set_session(request: Request, data: dict) -> None:
    """Replace the cookie payload; the middleware writes the cookie on the way out."""
    request.state.session = data
    request.state.session_dirty = True


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated person and how they authenticated ('cookie' or 'token')."""

    user: User
    via: str


def authenticate(session: Session, request: Request) -> Caller | None:
    """The caller from a Bearer API token or the session cookie; None when anonymous.

    Unknown, deactivated and logged-out (earlier epoch) cookies count as anonymous; a bad token is an error.
    """
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return Caller(auth.user_for_token(session, header[7:].strip()), "token")
    uid = session_data(request).get("uid")
    if uid is None:
        return None
    user = auth.user_by_id(session, uid)
    if user is None or not user.active or session_data(request).get("ep", 0) != user.session_epoch:
        return None
    return Caller(user, "cookie")


def optional_caller(request: Request, session: Annotated[Session, Depends(get_session)]) -> Caller | None:
    """`authenticate` as a dependency; the transaction ends at once, handing the connection back while the
    request waits for its route's thread."""
    try:
        return authenticate(session, request)
    finally:
        session.commit()


async def in_one_thread(request: Request, work: Callable[[Session, User], T]) -> T:
    """Authenticate and run `work(session, user)` in one request thread, with one session.

    For the hottest routes (next task, vote, lease): one thread hop, one connection checkout and no
    separate transaction for the login check. The connection is taken and given back within the
    thread, so it never waits for a thread while holding a connection.
    """

    def run() -> T:
        session = request.app.state.session_factory()
        try:
            caller = authenticate(session, request)
            if caller is None:
                raise AuthenticationError("log in first")
            return work(session, caller.user)
        finally:
            session.close()

    return await run_in_threadpool(run)


async def current_caller(caller: Annotated[Caller | None, Depends(optional_caller)]) -> Caller:
    if caller is None:
        raise AuthenticationError("log in first")
    return caller


async def current_user(caller: Annotated[Caller, Depends(current_caller)]) -> User:
    return caller.user


async def csrf_protect(request: Request) -> None:
    """Every unsafe request riding on the cookie must echo the session's CSRF token (header or form field).

    Token-authenticated requests carry no ambient credential and need none.
    """
    if request.method not in UNSAFE_METHODS or request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        given = (await request.form()).get(CSRF_FIELD)
    if not auth.csrf_matches(session_data(request).get("csrf"), given if isinstance(given, str) else None):
        raise PermissionDenied("missing or wrong CSRF token", remedy="reload the page and try again")


def require_role(*roles: str) -> Callable[..., User]:
    """A dependency admitting only callers whose role is in `roles`."""

    async def check(user: Annotated[User, Depends(current_user)]) -> User:
        if user.role not in roles:
            raise PermissionDenied(f"this needs the role {' or '.join(roles)}")
        return user

    return check


# Annotated shorthands for route signatures
DbSession = Annotated[Session, Depends(get_session)]
AppSettings = Annotated[Settings, Depends(get_settings)]
MaybeCaller = Annotated[Caller | None, Depends(optional_caller)]
AnyCaller = Annotated[Caller, Depends(current_caller)]
AnyUser = Annotated[User, Depends(current_user)]
AdminUser = Annotated[User, Depends(require_role("admin"))]
LeaderUser = Annotated[User, Depends(require_role("leader"))]
LeaderOrAdmin = Annotated[User, Depends(require_role("leader", "admin"))]
ExpertUser = Annotated[User, Depends(require_role("expert"))]
MemberUser = Annotated[User, Depends(require_role("member"))]


def released(route: Callable) -> Callable:
    """Decorate a sync route so its session (connection included) is closed as soon as the route returns.

    Otherwise a connection would stay checked out while the response is validated or a file is
    streamed, both of which wait for a request thread: under load, threads waiting for connections
    and connections waiting for threads deadlock.
    """

    @functools.wraps(route)
    def wrapper(*args, **kwargs):
        try:
            return route(*args, **kwargs)
        finally:
            session = kwargs.get("session")
            if isinstance(session, Session):
                session.close()

    return wrapper
