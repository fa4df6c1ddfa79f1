"""The append-only audit log: one helper to record an event, one to read them back."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from annotation_app.models import AuditEvent, utcnow

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
