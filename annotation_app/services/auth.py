"""Authentication: argon2 passwords, rate-limited login, API tokens, signed session payloads and CSRF tokens."""

from __future__ import annotations

import functools
import hashlib
import hmac
import math
import os
import secrets
from datetime import timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from annotation_app.models import ApiToken, LoginFailure, Membership, User, aware, utcnow
from annotation_app.services import audit, seats
from core.errors import AuthenticationError, TooManyAttempts
from core.manifest import atomic_write_text
from core.settings import Settings

TOKEN_PREFIX = "emo_"
_HASHER = PasswordHasher()
# verified against when the user does not exist, so a wrong name costs the same time as a wrong password
_DUMMY_HASH = _HASHER.hash("not a real password")


def hash_password(password: str) -> str:
    if len(password) < 8:
        from core.errors import InvalidRequest

        raise InvalidRequest("a password has at least 8 characters")
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


LOGIN_BASE_DELAY_S = 5  # the first wait once failures pass the allowance; it doubles with every further failure
LOGIN_ACCOUNT_DELAY_S = 5  # the longest wait failures from anywhere impose on an account
LOGIN_ADDRESS_DELAY_S = 60  # the longest wait failures on many names impose on one address


def _wait_s(times: list, allowance: int, cap: float, now) -> float:
    """Seconds still to wait after `times` failures: none within the allowance, then 5 s doubling, up to `cap`."""
    if len(times) < allowance:
        return 0.0
    delay = min(LOGIN_BASE_DELAY_S * 2 ** (len(times) - allowance), cap)
    return max(0.0, (max(aware(t) for t in times) - now).total_seconds() + delay)


def login_wait_s(session: Session, settings: Settings, username: str, client: str) -> float:
    """How long `client` must wait before trying `username` again (0: try now). Failures in the window count:

    - this name from this address: after `app_login_max_failures`, 5 s doubling per failure up to the window;
    - this name from anywhere: after the same allowance at most 5 s, so that wrong passwords typed elsewhere
      never keep the right one out for longer;
    - any name from this address (spraying): after ten times the allowance, 5 s doubling up to 60 s; a lab
      behind one router is slowed down, never locked out.
    """
    now = utcnow()
    since = now - timedelta(seconds=settings.app_login_window_s)
    rows = session.execute(select(LoginFailure.username, LoginFailure.client, LoginFailure.at).where(
        LoginFailure.at >= since, (LoginFailure.username == username) | (LoginFailure.client == client))).all()
    allowance = settings.app_login_max_failures
    pair = [r.at for r in rows if r.username == username and r.client == client]
    name = [r.at for r in rows if r.username == username]
    address = [r.at for r in rows if r.client == client]
    return max(_wait_s(pair, allowance, settings.app_login_window_s, now),
               _wait_s(name, allowance, LOGIN_ACCOUNT_DELAY_S, now),
               _wait_s(address, 10 * allowance, LOGIN_ADDRESS_DELAY_S, now))


def login(session: Session, settings: Settings, username: str, password: str, client: str) -> User:
    """The active user with these credentials; every failure is recorded with the name and the client address.

    Raises TooManyAttempts (with the seconds to wait) while `login_wait_s` says wait, else AuthenticationError
    with one message for every kind of failure.
    """
    wait = login_wait_s(session, settings, username, client)
    if wait > 0:
        seconds = math.ceil(wait)
        error = TooManyAttempts(f"too many failed logins: try again in {seconds} s", remedy=f"wait {seconds} s")
        error.retry_after_s = seconds
        raise error
    user = session.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        session.add(LoginFailure(username=username[:64], client=client[:64]))
        session.commit()  # the failure must count even though the request fails
        raise AuthenticationError("wrong user name or password")
    session.execute(delete(LoginFailure).where(LoginFailure.username == username, LoginFailure.client == client))
    audit.record(session, user.id, "user.login", "user", user.id, client=client)
    return user


def end_sessions(session: Session, user_id: int | None, client: str = "") -> None:
    """Log `user_id` out everywhere: every cookie issued to them before now stops working."""
    user = session.get(User, user_id) if user_id is not None else None
    if user is None:
        return
    user.session_epoch += 1
    seats.release(session, user.id)  # the clips they were served go back to the queue at once
    audit.record(session, user.id, "user.logout", "user", user.id, client=client)


def session_payload(user: User) -> dict:
    """The signed cookie payload of a fresh login: who, this session's CSRF token, and the epoch."""
    return {"uid": user.id, "csrf": new_csrf(), "ep": user.session_epoch}


def create_token(session: Session, user: User, name: str = "", *, actor_id: int | None = None) -> str:
    """A new API token for `user`; the plain token is returned once and only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name, token_hash=_token_hash(token)))
    audit.record(session, actor_id, "token.created", "user", user.id, name=name)
    return token


@functools.cache
def _caller_query(by_token: bool):
    """The person and their current membership in one query (by token hash or by user id), built once."""
    query = select(User, Membership).outerjoin(
        Membership, (Membership.user_id == User.id) & Membership.ended_at.is_(None))
    if by_token:
        return query.join(ApiToken, ApiToken.user_id == User.id).where(
            ApiToken.token_hash == bindparam("p_hash"), ApiToken.revoked_at.is_(None))
    return query.where(User.id == bindparam("p_uid"))


def _with_membership(session: Session, row) -> User | None:
    if row is None:
        return None
    from annotation_app.services import people

    people.remember_membership(session, row[0].id, row[1])
    return row[0]


def user_for_token(session: Session, token: str) -> User:
    """The active user of an unrevoked API token (their membership is read in the same query)."""
    user = _with_membership(session, session.execute(_caller_query(True), {"p_hash": _token_hash(token)}).first())
    if user is None or not user.active:
        raise AuthenticationError("invalid or revoked API token")
    return user


def user_by_id(session: Session, user_id: int) -> User | None:
    """The user with this id, or None (their membership is read in the same query)."""
    return _with_membership(session, session.execute(_caller_query(False), {"p_uid": user_id}).first())


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def secret_key(settings: Settings) -> str:
    """The cookie-signing key: the setting, else one generated once under data_dir (shared by all workers)."""
    if settings.app_secret_key:
        return settings.app_secret_key
    path = Path(settings.data_dir) / "app_secret_key"
    if not path.exists():
        draft = atomic_write_text(path.with_name(f".app_secret_key.{os.getpid()}"), secrets.token_urlsafe(48))
        try:
            os.link(draft, path)  # atomic create-if-absent: concurrent workers all end up reading one key
        except FileExistsError:
            pass
        finally:
            draft.unlink(missing_ok=True)
    return path.read_text().strip()


class SessionCodec:
    """Signs and reads the session cookie payload {"uid": user id or absent, "csrf": token}."""

    def __init__(self, key: str, max_age_s: int) -> None:
        self._serializer = URLSafeTimedSerializer(key, salt="emotions-session")
        self.max_age_s = max_age_s

    def dumps(self, payload: dict) -> str:
        return self._serializer.dumps(payload)

    def loads(self, cookie: str | None) -> dict | None:
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=self.max_age_s)
        except BadSignature:
            return None
        return data if isinstance(data, dict) and isinstance(data.get("csrf"), str) else None


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    return bool(expected and given) and hmac.compare_digest(str(expected), str(given))
