"""Annotation app schema: people, groups, samples, assignments, votes, cross-check, reviews, audit log.

Revision ID: 0001_annotation
Revises: (none)
Create Date: 2026-11-22 04:44:09.348857
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_annotation"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_failures_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_failures_client"), ["client"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_failures_username"), ["username"], unique=False)

    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("name", name=op.f("uq_projects_name")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("gender", sa.String(length=1), nullable=True),
        sa.Column("work_experience", sa.Float(), nullable=True),
        sa.Column("msceit", sa.Float(), nullable=True),
        sa.Column("education", sa.Float(), nullable=True),
        sa.Column("culture", sa.Float(), nullable=True),
        sa.Column("leadership", sa.Float(), nullable=True),
        sa.Column("qualified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("gender IS NULL OR gender IN ('m', 'f')", name=op.f("ck_users_gender")),
        sa.CheckConstraint("role IN ('admin', 'expert', 'leader', 'member')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=80), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_audit_events_actor_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_at"), ["at"], unique=False)

    op.create_table(
        "groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_groups_project_id_projects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_groups_project_id_name")),
    )
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_groups_project_id"), ["project_id"], unique=False)

    op.create_table(
        "qualification_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_qualification_attempts_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qualification_attempts")),
    )
    with op.batch_alter_table("qualification_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_qualification_attempts_user_id"), ["user_id"], unique=False)

    op.create_table(
        "crosscheck_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("source_group_id", sa.Integer(), nullable=False),
        sa.Column("target_group_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_group_id"], ["groups.id"], name=op.f("fk_crosscheck_sets_source_group_id_groups")
        ),
        sa.ForeignKeyConstraint(
            ["target_group_id"], ["groups.id"], name=op.f("fk_crosscheck_sets_target_group_id_groups")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crosscheck_sets")),
    )
    with op.batch_alter_table("crosscheck_sets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crosscheck_sets_target_group_id"), ["target_group_id"], unique=False)

    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('leader', 'member')", name=op.f("ck_memberships_role")),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], name=op.f("fk_memberships_group_id_groups")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_memberships_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
    )
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_memberships_group_id"), ["group_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_memberships_user_id"), ["user_id"], unique=False)

    op.create_table(
        "samples",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("batch", sa.Integer(), nullable=True),
        sa.Column("media_path", sa.Text(), nullable=False),
        sa.Column("poster_path", sa.Text(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("platform", sa.String(length=64), nullable=True),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("final_category", sa.String(length=32), nullable=True),
        sa.Column("decided_stage", sa.String(length=16), nullable=True),
        sa.Column("excluded_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('task', 'gold')", name=op.f("ck_samples_kind")),
        sa.CheckConstraint("stage IN ('member', 'leader', 'exchange', 'expert')", name=op.f("ck_samples_stage")),
        sa.CheckConstraint("status IN ('open', 'resolved', 'excluded')", name=op.f("ck_samples_status")),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], name=op.f("fk_samples_group_id_groups")),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], name=op.f("fk_samples_project_id_projects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_samples")),
    )
    with op.batch_alter_table("samples", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_samples_project_id"), ["project_id"], unique=False)
        batch_op.create_index("ix_samples_queue", ["group_id", "status", "stage", "seq"], unique=False)

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

    op.create_table(
        "crosscheck_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.String(length=80), nullable=False),
        sa.Column("previous_category", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["sample_id"], ["samples.id"], name=op.f("fk_crosscheck_items_sample_id_samples")),
        sa.ForeignKeyConstraint(
            ["set_id"], ["crosscheck_sets.id"], name=op.f("fk_crosscheck_items_set_id_crosscheck_sets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crosscheck_items")),
        sa.UniqueConstraint("set_id", "sample_id", name=op.f("uq_crosscheck_items_set_id_sample_id")),
    )
    with op.batch_alter_table("crosscheck_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crosscheck_items_sample_id"), ["sample_id"], unique=False)

    op.create_table(
        "mos_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.String(length=80), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("score >= 1 AND score <= 5", name=op.f("ck_mos_ratings_score")),
        sa.ForeignKeyConstraint(["expert_id"], ["users.id"], name=op.f("fk_mos_ratings_expert_id_users")),
        sa.ForeignKeyConstraint(["sample_id"], ["samples.id"], name=op.f("fk_mos_ratings_sample_id_samples")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mos_ratings")),
        sa.UniqueConstraint("sample_id", "expert_id", name=op.f("uq_mos_ratings_sample_id_expert_id")),
    )
    with op.batch_alter_table("mos_ratings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mos_ratings_expert_id"), ["expert_id"], unique=False)

    op.create_table(
        "qualification_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.String(length=80), nullable=False),
        sa.Column("gold_category", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["sample_id"], ["samples.id"], name=op.f("fk_qualification_items_sample_id_samples")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qualification_items")),
        sa.UniqueConstraint("sample_id", name=op.f("uq_qualification_items_sample_id")),
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_by", sa.Integer(), nullable=True),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(["handled_by"], ["users.id"], name=op.f("fk_reports_handled_by_users")),
        sa.ForeignKeyConstraint(["sample_id"], ["samples.id"], name=op.f("fk_reports_sample_id_samples")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_reports_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reports_sample_id"), ["sample_id"], unique=False)

    op.create_table(
        "votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("sample_id", sa.String(length=80), nullable=False),
        sa.Column("voter_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("adjective_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("watch_s", sa.Float(), nullable=True),
        sa.Column("crosscheck_set_id", sa.Integer(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "stage IN ('member', 'leader', 'exchange', 'expert', 'crosscheck')", name=op.f("ck_votes_stage")
        ),
        sa.CheckConstraint("confidence >= 0 AND confidence <= 1", name=op.f("ck_votes_confidence")),
        sa.ForeignKeyConstraint(
            ["crosscheck_set_id"], ["crosscheck_sets.id"], name=op.f("fk_votes_crosscheck_set_id_crosscheck_sets")
        ),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], name=op.f("fk_votes_group_id_groups")),
        sa.ForeignKeyConstraint(["sample_id"], ["samples.id"], name=op.f("fk_votes_sample_id_samples")),
        sa.ForeignKeyConstraint(["voter_id"], ["users.id"], name=op.f("fk_votes_voter_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_votes")),
        sa.UniqueConstraint("client_id", name=op.f("uq_votes_client_id")),
        sa.UniqueConstraint(
            "sample_id", "voter_id", "stage", "revision", name=op.f("uq_votes_sample_id_voter_id_stage_revision")
        ),
    )
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_votes_sample_id"), ["sample_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_votes_voter_id"), ["voter_id"], unique=False)

    op.create_table(
        "qualification_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("adjective_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["qualification_attempts.id"],
            name=op.f("fk_qualification_answers_attempt_id_qualification_attempts"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["qualification_items.id"], name=op.f("fk_qualification_answers_item_id_qualification_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qualification_answers")),
        sa.UniqueConstraint("attempt_id", "item_id", name=op.f("uq_qualification_answers_attempt_id_item_id")),
    )
    op.create_table(
        "resolutions",
        sa.Column("sample_id", sa.String(length=80), nullable=False),
        sa.Column("final_category", sa.String(length=32), nullable=False),
        sa.Column("decided_stage", sa.String(length=16), nullable=False),
        sa.Column("pattern", sa.String(length=32), nullable=False),
        sa.Column("vote_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["sample_id"], ["samples.id"], name=op.f("fk_resolutions_sample_id_samples")),
        sa.ForeignKeyConstraint(["vote_id"], ["votes.id"], name=op.f("fk_resolutions_vote_id_votes")),
        sa.PrimaryKeyConstraint("sample_id", name=op.f("pk_resolutions")),
    )


def downgrade() -> None:

    op.drop_table("resolutions")
    op.drop_table("qualification_answers")
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_votes_voter_id"))
        batch_op.drop_index(batch_op.f("ix_votes_sample_id"))

    op.drop_table("votes")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reports_sample_id"))

    op.drop_table("reports")
    op.drop_table("qualification_items")
    with op.batch_alter_table("mos_ratings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mos_ratings_expert_id"))

    op.drop_table("mos_ratings")
    with op.batch_alter_table("crosscheck_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crosscheck_items_sample_id"))

    op.drop_table("crosscheck_items")
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignments_user_id"))

    op.drop_table("assignments")
    with op.batch_alter_table("samples", schema=None) as batch_op:
        batch_op.drop_index("ix_samples_queue")
        batch_op.drop_index(batch_op.f("ix_samples_project_id"))

    op.drop_table("samples")
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_memberships_user_id"))
        batch_op.drop_index(batch_op.f("ix_memberships_group_id"))

    op.drop_table("memberships")
    with op.batch_alter_table("crosscheck_sets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crosscheck_sets_target_group_id"))

    op.drop_table("crosscheck_sets")
    with op.batch_alter_table("qualification_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qualification_attempts_user_id"))

    op.drop_table("qualification_attempts")
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_groups_project_id"))

    op.drop_table("groups")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_at"))
        batch_op.drop_index(batch_op.f("ix_audit_events_action"))

    op.drop_table("audit_events")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_table("projects")
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_failures_username"))
        batch_op.drop_index(batch_op.f("ix_login_failures_client"))
        batch_op.drop_index(batch_op.f("ix_login_failures_at"))

    op.drop_table("login_failures")
