"""Who may see and vote on which sample, and the per-person task queue with leases."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from annotation_app.models import Assignment, Group, QualificationItem, Report, Sample, User, Vote, utcnow
from annotation_app.services import people
from core.errors import NotFoundError, PermissionDenied
from core.settings import Settings


def aware(value: datetime | None) -> datetime | None:
    """A UTC-aware datetime (SQLite hands back naive ones)."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def required_votes(stage: str, settings: Settings) -> int:
    """Votes that complete a stage: the group's members at stage 1, one person at every later stage."""
    return settings.app_members_per_sample if stage == "member" else 1


def partner_group_id(session: Session, group_id: int, settings: Settings) -> int | None:
    """The group whose leader casts the exchange vote on samples of `group_id`."""
    rows = people.groups(session)
    names = {g.id: g.name for g in rows}
    mapping = people.partner_map(list(names.values()), settings.app_exchange)
    target = mapping.get(names.get(group_id, ""))
    return next((g.id for g in rows if g.name == target), None)


def source_group_ids(session: Session, group_id: int, settings: Settings) -> list[int]:
    """Groups whose exchange votes go to the leader of `group_id`."""
    return [g.id for g in people.groups(session) if partner_group_id(session, g.id, settings) == group_id]


_SEEN_TTL_S = 10.0
_seen: dict[tuple[str, str], tuple[float, bool]] = {}


def any_rows(session: Session, column) -> bool:
    """Whether the table of `column` has any row, re-read at most every few seconds per database.

    For facts that change only by admin action (a qualification set or cross-check sets exist), so
    that the hot paths do not ask the database on every request.
    """
    key = (str(session.get_bind().url), str(column))
    now = time.monotonic()
    cached = _seen.get(key)
    if cached is None or cached[0] < now:
        found = session.scalar(select(column).limit(1)) is not None
        cached = _seen[key] = (now + (_SEEN_TTL_S if found else 1.0), found)
    return cached[1]


def qualification_required(session: Session, user: User) -> bool:
    """Members must pass the qualification set (when one was imported) before real tasks."""
    if user.role != "member" or user.qualified_at is not None:
        return False
    return any_rows(session, QualificationItem.id)


_UNSET = object()


def can_see(session: Session, user: User, sample: Sample, settings: Settings, membership=_UNSET) -> bool:
    """Whether `user` may see this sample (page, media, metadata) at all."""
    if user.role in ("admin", "expert"):
        return True
    if sample.kind == "gold":
        return True
    if membership is _UNSET:
        membership = people.current_membership(session, user.id)
    if membership is None or sample.group_id is None:
        return False
    if membership.group_id == sample.group_id:
        return True
    if membership.role == "leader" and partner_group_id(session, sample.group_id, settings) == membership.group_id:
        return sample.stage in ("exchange", "expert")  # only what reached the exchange rung
    if membership.role == "member" and sample.status == "resolved":
        from annotation_app.services import crosscheck

        return crosscheck.can_see(session, user, sample.id)
    return False


def check_visible(session: Session, user: User, sample_id: str, settings: Settings) -> Sample:
    """The sample, or NotFoundError when it does not exist or is outside the user's role and group."""
    sample = session.get(Sample, sample_id)
    if sample is None or not can_see(session, user, sample, settings):
        raise NotFoundError(f"no sample {sample_id!r} for you")
    return sample


def check_can_vote(session: Session, user: User, sample: Sample, stage: str, settings: Settings,
                   membership=_UNSET) -> None:
    """Raise PermissionDenied unless `user` casts the `stage` vote on `sample`."""
    if membership is _UNSET:
        membership = people.current_membership(session, user.id)
    if stage == "expert":
        ok = user.role == "expert"
    elif membership is None or user.role not in ("leader", "member") or sample.kind != "task":
        ok = False
    elif stage == "member":
        ok = membership.role == "member" and membership.group_id == sample.group_id
        if ok and qualification_required(session, user):
            raise PermissionDenied("pass the qualification set first")
    elif stage == "leader":
        ok = membership.role == "leader" and membership.group_id == sample.group_id
    else:  # exchange
        ok = membership.role == "leader" and sample.group_id is not None and \
            partner_group_id(session, sample.group_id, settings) == membership.group_id
    if not ok:
        raise PermissionDenied(f"you do not cast the {stage} vote on this sample")


def _candidates(session: Session, user: User, settings: Settings) -> list[tuple[str, list]]:
    """(stage, extra WHERE clauses) pairs this user draws tasks from, in priority order."""
    if user.role == "expert":
        return [("expert", [])]
    membership = people.current_membership(session, user.id)
    if membership is None:
        return []
    if membership.role == "member":
        return [("member", [Sample.group_id == membership.group_id])]
    sources = source_group_ids(session, membership.group_id, settings)
    return [("leader", [Sample.group_id == membership.group_id]),
            ("exchange", [Sample.group_id.in_(sources)])]


def next_task(session: Session, user: User, settings: Settings) -> Sample | None:
    """The next sample for `user` to vote on, reserved by a lease; None when the queue is empty.

    A task already leased and not voted on comes back first (reloads lose nothing). A sample is
    offered while its stage's votes plus other people's live leases leave a free seat.
    """
    if qualification_required(session, user):
        raise PermissionDenied("pass the qualification set first")
    now = utcnow()
    held = session.execute(
        select(Sample, Assignment).join(Assignment, Assignment.sample_id == Sample.id)
        .where(Assignment.user_id == user.id, Assignment.done_at.is_(None), Assignment.lease_until > now,
               Assignment.stage == Sample.stage, Sample.status == "open")
        .order_by(Assignment.served_at).limit(1)
    ).first()
    if held is not None:
        held.Assignment.lease_until = now + timedelta(seconds=settings.app_lease_s)
        return held.Sample
    for stage, where in _candidates(session, user, settings):
        voted = exists().where(Vote.sample_id == Sample.id, Vote.voter_id == user.id, Vote.stage == stage)
        reported = exists().where(Report.sample_id == Sample.id, Report.user_id == user.id,
                                  Report.handled_at.is_(None))
        stage_votes = (select(func.count(func.distinct(Vote.voter_id)))
                       .where(Vote.sample_id == Sample.id, Vote.stage == stage).scalar_subquery())
        others = (select(func.count()).select_from(Assignment)
                  .where(Assignment.sample_id == Sample.id, Assignment.stage == stage,
                         Assignment.user_id != user.id, Assignment.done_at.is_(None),
                         Assignment.lease_until > now).scalar_subquery())
        sample = session.scalar(
            select(Sample)
            .where(Sample.kind == "task", Sample.status == "open", Sample.stage == stage, *where,
                   ~voted, ~reported, stage_votes + others < required_votes(stage, settings))
            .order_by(Sample.seq).limit(1)
        )
        if sample is not None:
            _lease(session, user, sample, stage, settings)
            return sample
    return None


def _lease(session: Session, user: User, sample: Sample, stage: str, settings: Settings) -> None:
    """Insert or renew the (sample, user, stage) assignment in one statement (an upsert)."""
    now = utcnow()
    values = {"sample_id": sample.id, "user_id": user.id, "stage": stage, "served_at": now,
              "lease_until": now + timedelta(seconds=settings.app_lease_s)}
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(Assignment).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["sample_id", "user_id", "stage"],
        set_={"served_at": statement.excluded.served_at, "lease_until": statement.excluded.lease_until})
    session.execute(statement)


def release(session: Session, user: User, sample_id: str) -> None:
    """Give back an unvoted lease (skip / report) so the seat is free for others."""
    for row in session.scalars(select(Assignment).where(Assignment.sample_id == sample_id,
                                                        Assignment.user_id == user.id,
                                                        Assignment.done_at.is_(None))):
        row.lease_until = utcnow()


def group_name(session: Session, group_id: int | None) -> str | None:
    group = session.get(Group, group_id) if group_id is not None else None
    return group.name if group else None
