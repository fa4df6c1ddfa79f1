"""The expert's audit queue: resolved samples a model flagged as likely label errors, sent back for a second look.

Revision ID: 0005_audit_reviews
Revises: 0004_audit_append_only
Create Date: 2026-12-06 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_audit_reviews"
down_revision: str | None = "0004_audit_append_only"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("decided_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "audit_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("quality_score", sa.Float(), nullable=True),
        sa.Column("suggested_category", sa.String(length=32), nullable=True),
        sa.Column("given_category", sa.String(length=32), nullable=False),
        sa.Column("queued_by", sa.Integer(), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("adjective_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("watch_s", sa.Float(), nullable=True),
        sa.Column("previous_category", sa.String(length=32), nullable=True),
        sa.Column("changed", sa.Boolean(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_audit_reviews_decided_by_users")),
        sa.ForeignKeyConstraint(["queued_by"], ["users.id"], name=op.f("fk_audit_reviews_queued_by_users")),
        sa.ForeignKeyConstraint(["sample_id"], ["samples.id"], name=op.f("fk_audit_reviews_sample_id_samples")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_reviews")),
    )
    with op.batch_alter_table("audit_reviews", schema=None) as batch_op:
        batch_op.create_index("ix_audit_reviews_pending", ["sample_id"], unique=True,
                              postgresql_where=PENDING, sqlite_where=PENDING)


def downgrade() -> None:
    with op.batch_alter_table("audit_reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_reviews_pending", postgresql_where=PENDING, sqlite_where=PENDING)
    op.drop_table("audit_reviews")
