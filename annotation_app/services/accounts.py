"""Account administration: activate/deactivate, reset passwords, change roles, API tokens, membership history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotation_app.models import ROLES, ApiToken, Group, Membership, User, Vote, utcnow
from annotation_app.services import audit, auth, people, seats
from core.errors import ConflictError, InvalidRequest, NotFoundError


def user_by_id(session: Session, user_id: int) -> User:
    found = session.get(User, user_id)
    if found is None:
        raise NotFoundError(f"no user {user_id}")
    return found


def _active_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User).where(User.role == "admin",
                                                                       User.active.is_(True))) or 0


def _keep_an_admin(session: Session, target: User) -> None:
    if target.role == "admin" and target.active and _active_admins(session) <= 1:
        raise ConflictError("the last active admin must stay an active admin", code="last_admin",
                            remedy="make another person admin first")


def set_active(session: Session, target: User, active: bool, *, actor_id: int | None = None) -> int:
    """Deactivate (no login, every cookie and token stops working, held seats go back to the queue) or
    reactivate a person; their memberships and votes are kept. Returns how many seats were released."""
    if target.active == active:
        return 0
    released = 0
    if not active:
        if target.id == actor_id:
            raise ConflictError("you cannot deactivate your own account", code="own_account")
        _keep_an_admin(session, target)
        target.session_epoch += 1
        released = seats.release(session, target.id)
    target.active = active
    audit.record(session, actor_id, "user.deactivated" if not active else "user.reactivated", "user", target.id,
                 seats_released=released)
    return released


def reset_password(session: Session, target: User, password: str, *, actor_id: int | None = None) -> None:
    """Set a new password (at least 8 characters); the person is logged out everywhere."""
    target.password_hash = auth.hash_password(password)
    target.session_epoch += 1
    audit.record(session, actor_id, "user.password_reset", "user", target.id)


def change_role(session: Session, target: User, role: str, *, capacity: int, gender_rule: bool, reason: str = "",
                actor_id: int | None = None) -> None:
    """Give a person another role. Admins and experts leave their group; a leader or member keeps their group
    under the new role (a group has one leader; a new member is checked like a move, see `people.move`)."""
    if role not in ROLES:
        raise InvalidRequest(f"unknown role {role!r}; known: {', '.join(ROLES)}")
    if role == target.role:
        return
    if target.role == "admin":
        _keep_an_admin(session, target)
    old = target.role
    membership = people.current_membership(session, target.id)
    group = session.get(Group, membership.group_id) if membership is not None else None
    target.role = role
    if group is not None:
        keep = group if role in ("leader", "member") else None
        people.move(session, target, keep, capacity=capacity, gender_rule=gender_rule, reason=reason,
                    actor_id=actor_id)
    audit.record(session, actor_id, "user.role_changed", "user", target.id, old=old, new=role)


@dataclass(frozen=True, slots=True)
class TokenRow:
    id: int
    name: str
    created_at: datetime
    revoked_at: datetime | None


def tokens(session: Session, user_id: int) -> list[TokenRow]:
    """The person's API tokens (never their values: only hashes are stored), newest first."""
    return [TokenRow(t.id, t.name, t.created_at, t.revoked_at) for t in session.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc()))]


def issue_token(session: Session, target: User, name: str, *, actor_id: int | None = None) -> str:
    """A new API token for `target` (the value is returned once)."""
    name = name.strip()
    if len(name) > 100:
        raise InvalidRequest("a token name has at most 100 characters")
    if not target.active:
        raise ConflictError(f"{target.username} is deactivated", code="user_inactive",
                            remedy="reactivate the person first")
    return auth.create_token(session, target, name, actor_id=actor_id)


def revoke_token(session: Session, target: User, token_id: int, *, actor_id: int | None = None) -> None:
    """Revoke one of the person's tokens; it stops working at once (revoking twice changes nothing)."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != target.id:
        raise NotFoundError(f"no token {token_id} of {target.username}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, actor_id, "token.revoked", "user", target.id, token_id=token_id, name=token.name)


@dataclass(frozen=True, slots=True)
class MembershipRow:
    group: str
    role: str
    started_at: datetime
    ended_at: datetime | None


def history(session: Session, user_id: int) -> list[MembershipRow]:
    """Every membership of the person, oldest first (the current one has no end)."""
    rows = session.execute(select(Membership, Group.name).join(Group, Group.id == Membership.group_id)
                           .where(Membership.user_id == user_id).order_by(Membership.id)).all()
    return [MembershipRow(name, m.role, m.started_at, m.ended_at) for m, name in rows]


@dataclass(frozen=True, slots=True)
class PersonRow:
    id: int
    username: str
    display_name: str
    role: str
    active: bool
    gender: str | None
    group: str | None
    votes: int


def roster(session: Session) -> list[PersonRow]:
    """Everyone with their current group and number of votes, by user name."""
    current = dict(session.execute(select(Membership.user_id, Group.name).join(Group, Group.id == Membership.group_id)
                                   .where(Membership.ended_at.is_(None))).all())
    votes = dict(session.execute(select(Vote.voter_id, func.count()).group_by(Vote.voter_id)).all())
    return [PersonRow(u.id, u.username, u.display_name, u.role, u.active, u.gender, current.get(u.id),
                      votes.get(u.id, 0)) for u in session.scalars(select(User).order_by(User.username))]


def group_sizes(session: Session) -> dict[str, dict[str, int]]:
    """Per group: current members by gender ('m', 'f', '-') and whether it has a leader."""
    sizes = {g.name: {"m": 0, "f": 0, "-": 0, "members": 0, "leader": 0} for g in people.groups(session)}
    for name, role, gender in session.execute(
            select(Group.name, Membership.role, User.gender).join(Membership, Membership.group_id == Group.id)
            .join(User, User.id == Membership.user_id).where(Membership.ended_at.is_(None))):
        if role == "leader":
            sizes[name]["leader"] += 1
        else:
            sizes[name]["members"] += 1
            sizes[name][gender or "-"] += 1
    return sizes
