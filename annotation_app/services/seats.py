"""Seats: the places for votes on each rung of a sample, claimed atomically with a lease.

Why seat rows. The queue used to count "votes + other people's leases < needed" and then insert a
lease; nothing serialised the count and the insert, so every member of a group raced for the same
lowest-seq sample and one sample was leased to up to ten people. Here each rung of a sample has as
many rows as it needs votes (3 member seats, 1 leader, 1 exchange, 1 expert). Claiming one is a
single conditional UPDATE of one free row:

    UPDATE seats SET holder_id = :me, lease_until = :until
    WHERE id = (SELECT id FROM seats WHERE <free, in my queue> ORDER BY seq, seat_no LIMIT 1
                FOR UPDATE SKIP LOCKED)
    RETURNING sample_id

- PostgreSQL: FOR UPDATE SKIP LOCKED makes concurrent claimers step over the rows others are
  claiming at that instant instead of queueing on them, so the members of one group spread over the
  first free seats in the paper's order of work (batches per group, by seq) with no hot spot; after
  the lock, READ COMMITTED re-checks the row, so a seat taken meanwhile is never handed out twice.
- SQLite: one UPDATE statement runs under the database's single write lock, so the subquery and the
  update are atomic there too (SKIP LOCKED is not needed and not rendered).

A seat is free when it has no holder or its lease lapsed; a vote closes it. As votes + live leases
never exceed the seats, a person holding a live lease can always cast their vote. A rung completes
when its last seat closes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, case, exists, or_, select, update
from sqlalchemy.orm import Session

from annotation_app.models import Report, Sample, Seat, TaskSkip, aware, utcnow

# Core tables for the statements of the hot path (plain SQL rows: no ORM work per call)
_S, _SAMPLES, _REPORTS, _SKIPS = Seat.__table__, Sample.__table__, Report.__table__, TaskSkip.__table__
SEATS_PER_RUNG = {"leader": 1, "exchange": 1, "expert": 1}  # the member rung: settings.app_members_per_sample


def rung_size(stage: str, members_per_sample: int) -> int:
    """How many votes (seats) the rung `stage` has."""
    return members_per_sample if stage == "member" else SEATS_PER_RUNG[stage]


def open_rung(session: Session, sample: Sample, stage: str, count: int) -> None:
    """Create the `count` seats of `sample`'s new rung `stage` (a rung opens once: the unique key says so)."""
    session.add_all(Seat(sample_id=sample.id, stage=stage, seat_no=n, group_id=sample.group_id, seq=sample.seq)
                    for n in range(count))


def close_sample(session: Session, sample_id: str) -> None:
    """Close every open seat of a sample (it was resolved or excluded): nobody can claim or hold them."""
    session.execute(update(Seat).where(Seat.sample_id == sample_id, Seat.closed_at.is_(None))
                    .values(closed_at=utcnow()))


@dataclass(frozen=True, slots=True)
class Task:
    """A sample served to a person at a rung: what the labelling page needs to show it."""

    id: str
    stage: str
    duration_s: float | None


_HELD = (select(_S.c.sample_id, _S.c.stage, _SAMPLES.c.duration_s).join(_SAMPLES, _SAMPLES.c.id == _S.c.sample_id)
         .where(_S.c.holder_id == bindparam("p_user"), _S.c.closed_at.is_(None),
                _S.c.stage.in_(bindparam("p_stages", expanding=True)))
         .order_by(_S.c.claimed_at).limit(1))


def held(session: Session, user_id: int, stages: tuple[str, ...]) -> Task | None:
    """The oldest open seat `user_id` still holds at one of `stages` (a lapsed lease nobody took over counts
    too), or None."""
    row = session.connection().execute(_HELD, {"p_user": user_id, "p_stages": list(stages)}).first()
    return None if row is None else Task(*row)


@functools.cache
def _claim_statement(by_group: bool, include_skipped: bool):
    """The claim UPDATE, built once per shape with bound parameters (building it per call cost more CPU than
    running it)."""
    mine = _S.alias()
    user = bindparam("p_user")
    conditions = [_S.c.closed_at.is_(None), _S.c.stage == bindparam("p_stage"),
                  or_(_S.c.holder_id.is_(None), _S.c.lease_until <= bindparam("p_now")),
                  ~exists().where(mine.c.sample_id == _S.c.sample_id, mine.c.stage == _S.c.stage,
                                  mine.c.holder_id == user),
                  ~exists().where(_REPORTS.c.sample_id == _S.c.sample_id, _REPORTS.c.user_id == user,
                                  _REPORTS.c.handled_at.is_(None))]
    if by_group:
        conditions.append(_S.c.group_id.in_(bindparam("p_groups", expanding=True)))
    if not include_skipped:
        conditions.append(~exists().where(_SKIPS.c.sample_id == _S.c.sample_id, _SKIPS.c.user_id == user,
                                          _SKIPS.c.stage == _S.c.stage))
    target = (select(_S.c.id).where(*conditions).order_by(_S.c.seq, _S.c.seat_no).limit(1)
              .with_for_update(skip_locked=True).scalar_subquery())
    return (update(_S).where(_S.c.id == target)
            .values(lapsed_holder_id=_S.c.holder_id, holder_id=user, claimed_at=bindparam("p_now"),
                    lease_until=bindparam("p_until"))
            .returning(_S.c.sample_id, _S.c.stage,
                       select(_SAMPLES.c.duration_s).where(_SAMPLES.c.id == _S.c.sample_id).scalar_subquery())
            .execution_options(synchronize_session=False))


def claim(session: Session, user_id: int, stage: str, group_ids: list[int] | None, lease_s: float, *,
          include_skipped: bool = False) -> Task | None:
    """Claim the first free seat at `stage` of the samples of `group_ids` (None: any group); the task, or None.

    Never a sample the person already holds or held a seat of at this rung (voted on), reported and
    still waiting for the leader, or (unless `include_skipped`) set aside.
    """
    if group_ids is not None and not group_ids:
        return None
    now = utcnow()
    params = {"p_user": user_id, "p_stage": stage, "p_now": now, "p_until": now + timedelta(seconds=lease_s)}
    if group_ids is not None:
        params["p_groups"] = list(group_ids)
    row = session.connection().execute(_claim_statement(group_ids is not None, include_skipped), params).first()
    return None if row is None else Task(*row)


_RENEW = (update(_S).where(_S.c.sample_id == bindparam("p_sample"), _S.c.stage == bindparam("p_stage"),
                             _S.c.holder_id == bindparam("p_user"), _S.c.closed_at.is_(None))
          .values(lease_until=bindparam("p_until")).returning(_S.c.id)
          .execution_options(synchronize_session=False))


def renew(session: Session, user_id: int, sample_id: str, stage: str, lease_s: float) -> datetime | None:
    """Extend the person's lease on their open seat (also a lapsed one nobody took); None if they hold none."""
    until = utcnow() + timedelta(seconds=lease_s)
    found = session.connection().execute(
        _RENEW, {"p_sample": sample_id, "p_stage": stage, "p_user": user_id, "p_until": until}).first()
    return until if found is not None else None


_RUNG_SEATS = (select(_S.c.id, _S.c.holder_id, _S.c.lease_until)
               .where(_S.c.sample_id == bindparam("p_sample"), _S.c.stage == bindparam("p_stage"),
                      _S.c.closed_at.is_(None))
               .order_by(_S.c.seat_no).with_for_update())


def seat_for_vote(session: Session, user_id: int, sample_id: str, stage: str) -> tuple[int | None, int]:
    """The id of the open seat a vote by `user_id` fills (their own, else a free one; None if none) and how
    many other seats of the rung are still open.

    Called with the sample locked (no vote or rung change can interleave). Every open seat of the rung
    is locked until the transaction ends: a concurrent `claim` either finished first (then its seat is
    no longer free) or skips them.
    """
    rows = session.connection().execute(_RUNG_SEATS, {"p_sample": sample_id, "p_stage": stage}).all()
    seat = next((row.id for row in rows if row.holder_id == user_id), None)
    if seat is None:
        now = utcnow()
        free = (row.id for row in rows
                if row.holder_id is None or row.lease_until is None or aware(row.lease_until) <= now)
        seat = next(free, None)
    return seat, len(rows) - (seat is not None)


def lost_to_another(session: Session, user_id: int, sample_id: str, stage: str) -> bool:
    """Whether the person's lapsed lease on this rung was taken over by someone else."""
    return session.scalar(select(Seat.id).where(Seat.sample_id == sample_id, Seat.stage == stage,
                                                Seat.lapsed_holder_id == user_id).limit(1)) is not None


@functools.cache
def _fill_statement():
    """Close a seat with a vote; a seat taken at vote time records whose lapsed lease it was. Built once."""
    user = bindparam("p_user")
    own = _S.c.holder_id == user
    return (update(_S).where(_S.c.id == bindparam("p_seat"))
            .values(lapsed_holder_id=case((own, _S.c.lapsed_holder_id), else_=_S.c.holder_id),
                    claimed_at=case((own, _S.c.claimed_at), else_=bindparam("p_now")), holder_id=user,
                    vote_id=bindparam("p_vote"), closed_at=bindparam("p_now"), lease_until=None)
            .execution_options(synchronize_session=False))


def fill(session: Session, seat_id: int, user_id: int, vote_id: int) -> None:
    """Close the seat with the person's vote."""
    session.connection().execute(_fill_statement(),
                                 {"p_seat": seat_id, "p_user": user_id, "p_vote": vote_id, "p_now": utcnow()})


def release(session: Session, user_id: int, sample_id: str | None = None, *, skip: bool = False) -> int:
    """Give back the person's open seats (of one sample, or all of them); with `skip`, set the sample aside.

    Returns how many seats were given back.
    """
    query = update(Seat).where(Seat.holder_id == user_id, Seat.closed_at.is_(None))
    if sample_id is not None:
        query = query.where(Seat.sample_id == sample_id)
    stages = session.execute(query.values(holder_id=None, lease_until=None, claimed_at=None)
                             .returning(Seat.sample_id, Seat.stage)
                             .execution_options(synchronize_session=False)).all()
    if skip:
        for row in stages:
            if session.get(TaskSkip, (row.sample_id, user_id, row.stage)) is None:
                session.add(TaskSkip(sample_id=row.sample_id, user_id=user_id, stage=row.stage))
    return len(stages)
