"""The append-only audit log: one helper to record an event, one to read them back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from annotation_app.models import AuditEvent, User, aware, utcnow

_INSERT = insert(AuditEvent.__table__)


def record(session: Session, actor_id: int | None, action: str, entity: str, entity_id: object,
           **detail: Any) -> None:
    """Write one audit event in the session's transaction (it commits or rolls back with the change).

    A plain INSERT (pending objects are flushed first, so events keep the order of the changes): the
    log is written on every vote, and the ORM's unit of work cost more than the insert itself.
    """
    session.flush()  # pending changes first: the log keeps their order and their foreign keys exist
    session.connection().execute(_INSERT, {
        "actor_id": actor_id, "action": action, "entity": entity, "entity_id": str(entity_id), "at": utcnow(),
        "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)})


def events(session: Session, *, entity: str | None = None, entity_id: object | None = None,
           action: str | None = None) -> list[AuditEvent]:
    """Audit events in insertion order, optionally filtered."""
    query = select(AuditEvent).order_by(AuditEvent.id)
    if entity is not None:
        query = query.where(AuditEvent.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEvent.entity_id == str(entity_id))
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return list(session.scalars(query))


@dataclass(frozen=True, slots=True)
class Filters:
    """Audit log filters; empty fields do not filter. `since`/`until` are UTC days, both included."""

    actor: str = ""
    action: str = ""
    entity: str = ""
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    at: datetime
    actor: str | None
    action: str
    entity: str
    entity_id: str
    detail: str
    person: str | None  # the user name when the object is a person


def search(session: Session, filters: Filters, *, page: int = 1, per_page: int = 50) -> tuple[list[Row], int]:
    """One page (1-based) of matching events, newest first, and the number of matches."""
    query = select(AuditEvent.id).outerjoin(User, User.id == AuditEvent.actor_id)
    if filters.actor:
        query = query.where(User.username == filters.actor)
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.entity:
        query = query.where(AuditEvent.entity == filters.entity)
    if filters.since:
        query = query.where(AuditEvent.at >= datetime.combine(filters.since, time(), tzinfo=UTC))
    if filters.until:
        query = query.where(AuditEvent.at < datetime.combine(filters.until + timedelta(days=1), time(), tzinfo=UTC))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    ids = query.order_by(AuditEvent.id.desc()).limit(per_page).offset((max(page, 1) - 1) * per_page)
    rows = session.execute(select(AuditEvent, User.username).outerjoin(User, User.id == AuditEvent.actor_id)
                           .where(AuditEvent.id.in_(ids.scalar_subquery())).order_by(AuditEvent.id.desc())).all()
    people_ids = {int(e.entity_id) for e, _ in rows if e.entity == "user" and e.entity_id.isdigit()}
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_(people_ids))).all()) \
        if people_ids else {}
    return [Row(e.id, aware(e.at), name, e.action, e.entity, e.entity_id, e.detail,
                names.get(int(e.entity_id)) if e.entity == "user" and e.entity_id.isdigit() else None)
            for e, name in rows], total


def choices(session: Session) -> dict[str, list[str]]:
    """The values the filters can take: actors, actions and entities that occur in the log."""
    return {"actor": list(session.scalars(select(User.username).where(
                User.id.in_(select(AuditEvent.actor_id).distinct())).order_by(User.username))),
            "action": list(session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))),
            "entity": list(session.scalars(select(AuditEvent.entity).distinct().order_by(AuditEvent.entity)))}
