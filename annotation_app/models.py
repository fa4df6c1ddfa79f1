"""ORM models of the annotation app: people, groups, samples, seats, votes, reviews, audit reviews and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    DDL,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

ROLES = ("admin", "expert", "leader", "member")
STAGES = ("member", "leader", "exchange", "expert")
VOTE_STAGES = (*STAGES, "crosscheck")  # cross-check re-labels are votes outside the ladder
SAMPLE_STATUSES = ("open", "resolved", "excluded")


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """A UTC-aware datetime (SQLite hands back naive ones)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Project(Base):
    """One labelling project; the database normally holds exactly one."""

    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class User(Base):
    """A person with one role; profile fields feed the Eq. 1 assignment score (each 0-100, higher is better)."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="role"),
        CheckConstraint("gender IS NULL OR gender IN ('m', 'f')", name="gender"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(16), default="zh-Hans")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    gender: Mapped[str | None] = mapped_column(String(1))
    work_experience: Mapped[float | None] = mapped_column(Float)
    msceit: Mapped[float | None] = mapped_column(Float)
    education: Mapped[float | None] = mapped_column(Float)
    culture: Mapped[float | None] = mapped_column(Float)
    leadership: Mapped[float | None] = mapped_column(Float)
    qualified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # cookies carry the epoch they were issued in; logging out moves it on, so every copy of them dies
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ApiToken(Base):
    """A bearer token for scripts; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginFailure(Base):
    """One failed login, for rate limiting across workers."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class Group(Base):
    """An annotation group (A, B, C ...); the leader and members are in `memberships`."""

    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("project_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))


class Membership(Base):
    """A person in a group from `started_at` until `ended_at` (NULL: current); swaps keep the history."""

    __tablename__ = "memberships"
    __table_args__ = (CheckConstraint("role IN ('leader', 'member')", name="role"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Sample(Base):
    """An imported clean video and its place on the ladder (`stage`), resolution included."""

    __tablename__ = "samples"
    __table_args__ = (
        CheckConstraint(_in("stage", STAGES), name="stage"),
        CheckConstraint(_in("status", SAMPLE_STATUSES), name="status"),
        CheckConstraint("kind IN ('task', 'gold')", name="kind"),
        Index("ix_samples_queue", "group_id", "status", "stage", "seq"),
    )
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8), default="task")
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    batch: Mapped[int | None] = mapped_column(Integer)
    media_path: Mapped[str] = mapped_column(Text)
    poster_path: Mapped[str | None] = mapped_column(Text)
    duration_s: Mapped[float | None] = mapped_column(Float)
    platform: Mapped[str | None] = mapped_column(String(64))
    source_path: Mapped[str] = mapped_column(Text, default="")
    stage: Mapped[str] = mapped_column(String(16), default="member")
    status: Mapped[str] = mapped_column(String(16), default="open")
    final_category: Mapped[str | None] = mapped_column(String(32))
    decided_stage: Mapped[str | None] = mapped_column(String(16))
    excluded_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Seat(Base):
    """One vote's place on one rung of a sample (3 member seats, 1 leader, 1 exchange, 1 expert).

    `next` claims a free seat (no holder, or a lapsed lease) for a person; their vote closes it.
    At every moment votes + live leases <= seats, so a person holding a live lease can always vote.
    `group_id` and `seq` copy the sample's so that the queue reads one index in the paper's order of work;
    `lapsed_holder_id` remembers whose lapsed lease the last claim took over (for a precise refusal).
    """

    __tablename__ = "seats"
    __table_args__ = (
        UniqueConstraint("sample_id", "stage", "seat_no"),
        # one seat per person and rung; led by the holder, it also answers "which seats did I take" for the queue
        UniqueConstraint("holder_id", "stage", "sample_id"),
        CheckConstraint(_in("stage", STAGES), name="stage"),
        Index("ix_seats_queue", "stage", "group_id", "seq", "seat_no",
              postgresql_where=text("closed_at IS NULL"), sqlite_where=text("closed_at IS NULL")),
        # the seats a person holds now (a reload gives them back): small, only open seats
        Index("ix_seats_held", "holder_id", "claimed_at",
              postgresql_where=text("closed_at IS NULL"), sqlite_where=text("closed_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[str] = mapped_column(ForeignKey("samples.id"))
    stage: Mapped[str] = mapped_column(String(16))
    seat_no: Mapped[int] = mapped_column(Integer)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    seq: Mapped[int] = mapped_column(Integer)
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    lapsed_holder_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    vote_id: Mapped[int | None] = mapped_column(ForeignKey("votes.id"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TaskSkip(Base):
    """A person set a task aside ('skip'): it comes back to them only when nothing else is left."""

    __tablename__ = "task_skips"
    sample_id: Mapped[str] = mapped_column(ForeignKey("samples.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    stage: Mapped[str] = mapped_column(String(16), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Vote(Base):
    """One immutable vote; `client_id` makes submission idempotent; a correction is a new revision."""

    __tablename__ = "votes"
    __table_args__ = (
        UniqueConstraint("sample_id", "voter_id", "stage", "revision"),
        CheckConstraint(_in("stage", VOTE_STAGES), name="stage"),
        CheckConstraint("confidence >= 0 AND confidence <= 1", name="confidence"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    sample_id: Mapped[str] = mapped_column(ForeignKey("samples.id"), index=True)
    voter_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    adjective_id: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[float] = mapped_column(Float)
    watch_s: Mapped[float | None] = mapped_column(Float)
    crosscheck_set_id: Mapped[int | None] = mapped_column(ForeignKey("crosscheck_sets.id"))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CrossCheckSet(Base):
    """A cross-check set (stage sA or sB): samples one group labelled, re-labelled by its partner group."""

    __tablename__ = "crosscheck_sets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(16))
    source_group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    target_group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    category: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CrossCheckItem(Base):
    """A sample of a cross-check set with the label its source group gave it."""

    __tablename__ = "crosscheck_items"
    __table_args__ = (UniqueConstraint("set_id", "sample_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("crosscheck_sets.id"))
    sample_id: Mapped[str] = mapped_column(ForeignKey("samples.id"), index=True)
    previous_category: Mapped[str] = mapped_column(String(32))


class Resolution(Base):
    """The one final label of a sample (the primary key makes a second resolution impossible)."""

    __tablename__ = "resolutions"
    sample_id: Mapped[str] = mapped_column(ForeignKey("samples.id"), primary_key=True)
    final_category: Mapped[str] = mapped_column(String(32))
    decided_stage: Mapped[str] = mapped_column(String(16))
    pattern: Mapped[str] = mapped_column(String(32))
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Report(Base):
    """A person's report that a video is broken or inappropriate; the leader excludes or dismisses it."""

    __tablename__ = "reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[str] = mapped_column(ForeignKey("samples.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    handled_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    action: Mapped[str | None] = mapped_column(String(16))


class QualificationItem(Base):
    """A gold-labelled sample of the qualification set."""

    __tablename__ = "qualification_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[str] = mapped_column(ForeignKey("samples.id"), unique=True)
    gold_category: Mapped[str] = mapped_column(String(32))


class QualificationAttempt(Base):
    """One pass through the qualification set; failed attempts are kept."""

    __tablename__ = "qualification_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    score: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column(Boolean)


class QualificationAnswer(Base):
    """One answer of an attempt, scored against the gold category."""

    __tablename__ = "qualification_answers"
    __table_args__ = (UniqueConstraint("attempt_id", "item_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("qualification_attempts.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("qualification_items.id"))
    adjective_id: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(32))
    correct: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MosRating(Base):
    """An expert's 5-point ACR rating of a (video, label) pair, given blind to the source dataset."""

    __tablename__ = "mos_ratings"
    __table_args__ = (
        UniqueConstraint("sample_id", "expert_id"),
        CheckConstraint("score >= 1 AND score <= 5", name="score"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[str] = mapped_column(ForeignKey("samples.id"))
    expert_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    score: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditReview(Base):
    """A resolved sample sent back to the expert by the model-in-the-loop audit (`emotions app review-queue add`).

    The expert confirms or changes the final category; the model's suggestion is shown to them only after
    their own choice. At most one pending review per sample; decided ones stay as the record of the audit.
    """

    __tablename__ = "audit_reviews"
    __table_args__ = (
        Index("ix_audit_reviews_pending", "sample_id", unique=True,
              postgresql_where=text("decided_at IS NULL"), sqlite_where=text("decided_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[str] = mapped_column(ForeignKey("samples.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")
    rank: Mapped[int | None] = mapped_column(Integer)
    quality_score: Mapped[float | None] = mapped_column(Float)
    suggested_category: Mapped[str | None] = mapped_column(String(32))
    given_category: Mapped[str] = mapped_column(String(32))
    queued_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    adjective_id: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str | None] = mapped_column(String(32))
    confidence: Mapped[float | None] = mapped_column(Float)
    watch_s: Mapped[float | None] = mapped_column(Float)
    previous_category: Mapped[str | None] = mapped_column(String(32))
    changed: Mapped[bool | None] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text, default="")


class AuditEvent(Base):
    """Append-only log of every change: who did what to which object, with a JSON detail."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(80))
    detail: Mapped[str] = mapped_column(Text, default="{}")


# The database itself refuses to change or remove an audit event (not only this ORM): one trigger per dialect.
AUDIT_APPEND_ONLY_DDL = {
    "postgresql": [
        "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit events are append-only'; END $$",
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
        "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()",
    ],
    "sqlite": [
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END",
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END",
    ],
}
AUDIT_APPEND_ONLY_DROP = {
    "postgresql": ["DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events",
                   "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events",
                   "DROP FUNCTION IF EXISTS audit_events_append_only()"],
    "sqlite": ["DROP TRIGGER IF EXISTS audit_events_no_update", "DROP TRIGGER IF EXISTS audit_events_no_delete"],
}
for _dialect, _statements in AUDIT_APPEND_ONLY_DDL.items():
    for _statement in _statements:
        event.listen(AuditEvent.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect))


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _audit_is_append_only(_mapper, _connection, target: AuditEvent) -> None:
    raise RuntimeError(f"audit event {target.id} is append-only")
