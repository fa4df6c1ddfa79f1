"""The audit log is append-only in the database too: triggers refuse UPDATE and DELETE of audit events.

Revision ID: 0004_audit_append_only
Revises: 0003_seats
Create Date: 2026-12-06 11:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from annotation_app.models import AUDIT_APPEND_ONLY_DDL, AUDIT_APPEND_ONLY_DROP

revision: str = "0004_audit_append_only"
down_revision: str | None = "0003_seats"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for statement in AUDIT_APPEND_ONLY_DDL.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade() -> None:
    for statement in AUDIT_APPEND_ONLY_DROP.get(op.get_bind().dialect.name, []):
        op.execute(statement)
