"""Seats replace per-person assignments: each rung of a sample has as many seats as it needs votes.

Open samples get the seats of their current rung: one closed seat per vote already cast there, one
held seat per live lease, the rest free. Set-aside tasks ('skip') get a table of their own.

Revision ID: 0003_seats
Revises: 0002_session_epoch
Create Date: 2026-12-06 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0003_seats"
down_revision: str | None = "0002_session_epoch"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("closed_at IS NULL")


def _members_per_sample() -> int:
    try:
        from core.settings import get_settings

        return get_settings().app_members_per_sample
    except Exception:  # a migration must not fail on an unrelated setting
        return 3


def _when(value: object) -> datetime | None:
    """A timezone-aware datetime from what the driver returns (SQLite: an ISO string)."""
    if value is None:
        return None
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def upgrade() -> None:
    seats = op.create_table(
        "seats",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.String(length=80), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("seat_no", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("holder_id", sa.Integer(), nullable=True),
        sa.Column("lapsed_holder_id", sa.Integer(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("vote_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("stage IN ('member', 'leader', 'exchange', 'expert')", name=op.f("ck_seats_stage")),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], name=op.f("fk_seats_group_id_groups")),
        sa.ForeignKeyConstraint(["holder_id"], ["users.id"], name=op.f("fk_seats_holder_id_users")),
        sa.ForeignKeyConstraint(["lapsed_holder_id"], ["users.id"], name=op.f("fk_seats_lapsed_holder_id_users")),
        sa.ForeignKeyConstraint(["sample_id"], ["samples.id"], name=op.f("fk_seats_sample_id_samples")),
        sa.ForeignKeyConstraint(["vote_id"], ["votes.id"], name=op.f("fk_seats_vote_id_votes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seats")),
        sa.UniqueConstraint("holder_id", "stage", "sample_id", name=op.f("uq_seats_holder_id_stage_sample_id")),
        sa.UniqueConstraint("sample_id", "stage", "seat_no", name=op.f("uq_seats_sample_id_stage_seat_no")),
    )
    with op.batch_alter_table("seats", schema=None) as batch_op:
        batch_op.create_index("ix_seats_queue", ["stage", "group_id", "seq", "seat_no"], unique=False,
                              postgresql_where=OPEN, sqlite_where=OPEN)
        batch_op.create_index("ix_seats_held", ["holder_id", "claimed_at"], unique=False,
                              postgresql_where=OPEN, sqlite_where=OPEN)
    op.create_table(
        "task_skips",
        sa.Column("sample_id", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["sample_id"], ["samples.id"], name=op.f("fk_task_skips_sample_id_samples")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_task_skips_user_id_users")),
        sa.PrimaryKeyConstraint("sample_id", "user_id", "stage", name=op.f("pk_task_skips")),
    )
    _backfill(seats)
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignments_user_id"))
    op.drop_table("assignments")


def _backfill(seats: sa.Table) -> None:
    """Seats of the current rung of every open, distributed task sample: votes, live leases, then free ones."""
    bind = op.get_bind()
    members = _members_per_sample()
    now = datetime.now(UTC)
    samples = bind.execute(sa.text("SELECT id, stage, group_id, seq FROM samples WHERE kind = 'task' "
                                   "AND status = 'open' AND group_id IS NOT NULL ORDER BY seq")).all()
    votes: dict[tuple[str, str], dict[int, tuple[int, object]]] = {}
    for row in bind.execute(sa.text("SELECT sample_id, stage, voter_id, id, created_at FROM votes "
                                    "WHERE stage <> 'crosscheck' ORDER BY id")):
        votes.setdefault((row.sample_id, row.stage), {})[row.voter_id] = (row.id, _when(row.created_at))
    leases: dict[tuple[str, str], list[tuple[int, object, object]]] = {}
    for row in bind.execute(sa.text("SELECT sample_id, stage, user_id, served_at, lease_until FROM assignments "
                                    "WHERE done_at IS NULL ORDER BY served_at")):
        until = _when(row.lease_until)
        if until is not None and until > now:
            leases.setdefault((row.sample_id, row.stage), []).append((row.user_id, _when(row.served_at), until))
    rows = []
    for sample in samples:
        size = members if sample.stage == "member" else 1
        cast = votes.get((sample.id, sample.stage), {})
        taken = [{"holder_id": voter, "vote_id": vote_id, "closed_at": at, "claimed_at": at, "lease_until": None}
                 for voter, (vote_id, at) in cast.items()]
        for user_id, served, until in leases.get((sample.id, sample.stage), []):
            if user_id not in cast and len(taken) < size:
                taken.append({"holder_id": user_id, "vote_id": None, "closed_at": None, "claimed_at": served,
                              "lease_until": until})
        taken += [{"holder_id": None, "vote_id": None, "closed_at": None, "claimed_at": None, "lease_until": None}
                  for _ in range(size - len(taken))]
        rows += [{"sample_id": sample.id, "stage": sample.stage, "seat_no": n, "group_id": sample.group_id,
                  "seq": sample.seq, "lapsed_holder_id": None, **seat} for n, seat in enumerate(taken)]
    if rows:
        op.bulk_insert(seats, rows)


def downgrade() -> None:
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("served_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["sample_id"], ["samples.id"], name=op.f("fk_assignments_sample_id_samples")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_assignments_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
        sa.UniqueConstraint("sample_id", "user_id", "stage", name=op.f("uq_assignments_sample_id_user_id_stage")),
    )
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assignments_user_id"), ["user_id"], unique=False)
    bind = op.get_bind()
    bind.execute(sa.text(
        "INSERT INTO assignments (sample_id, user_id, stage, served_at, lease_until, done_at) "
        "SELECT sample_id, holder_id, stage, claimed_at, lease_until, NULL FROM seats "
        "WHERE holder_id IS NOT NULL AND closed_at IS NULL AND lease_until IS NOT NULL AND claimed_at IS NOT NULL"))
    op.drop_table("task_skips")
    with op.batch_alter_table("seats", schema=None) as batch_op:
        batch_op.drop_index("ix_seats_held", postgresql_where=OPEN, sqlite_where=OPEN)
        batch_op.drop_index("ix_seats_queue", postgresql_where=OPEN, sqlite_where=OPEN)
    op.drop_table("seats")
