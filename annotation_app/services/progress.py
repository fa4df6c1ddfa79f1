"""Progress as "N of M" with an estimate of the time left, for a person, a group or the whole project.

The estimate divides the votes still to cast by the recent vote rate:

    window  = min(RATE_WINDOW_DAYS, days since the scope's first vote), at least MIN_WINDOW_DAYS
    rate    = votes cast in the last `window` days / window            (votes per day)
    left    = votes still to cast / rate                               (days; None when rate is 0)
    finish  = now + left

Votes still to cast are the open, unfilled seats of the scope's samples (every rung opened so far) plus,
for the whole project, `members_per_sample` for every sample not yet dealt to a group. Escalations that
have not happened yet are not foreseen, so the estimate is a lower bound on the work left. A group's rate
counts the votes its people cast (the voter's group), the whole project's every vote but cross-check re-labels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from annotation_app.models import Sample, Seat, User, Vote, aware
from annotation_app.services import people

RATE_WINDOW_DAYS = 7.0
MIN_WINDOW_DAYS = 1.0


@dataclass(frozen=True, slots=True)
class Progress:
    """`done` of `total` (samples finished, or a person's votes), the votes still to cast, the recent rate
    (votes per day) and the estimated days left (None: no recent votes, or nothing left)."""

    done: int
    total: int
    votes_left: int
    rate_per_day: float
    days_left: float | None

    def finish(self, now: datetime | None = None) -> datetime | None:
        """The estimated finish time (UTC), or None when there is no estimate."""
        if self.days_left is None:
            return None
        return (now or datetime.now(UTC)) + timedelta(days=self.days_left)


def recent_rate(session: Session, where: list, now: datetime) -> float:
    """Votes per day over the recent window for the votes matching `where` (see the module docstring)."""
    first, recent = session.execute(select(func.min(Vote.created_at), func.count(Vote.id).filter(
        Vote.created_at >= now - timedelta(days=RATE_WINDOW_DAYS))).where(*where)).one()
    return _per_day(first, recent or 0, now)


def _per_day(first: datetime | None, recent: int, now: datetime) -> float:
    """`recent` votes (those of the last RATE_WINDOW_DAYS) over the window that the first vote allows.

    Counting the last RATE_WINDOW_DAYS is right for every window: a shorter window only occurs when the
    first vote is younger than RATE_WINDOW_DAYS, and then every vote is in both."""
    if first is None:
        return 0.0
    window = min(RATE_WINDOW_DAYS, max(MIN_WINDOW_DAYS, (now - aware(first)).total_seconds() / 86400))
    return recent / window


def _estimate(done: int, total: int, left: int, per_day: float) -> Progress:
    days = left / per_day if left > 0 and per_day > 0 else (0.0 if left == 0 else None)
    return Progress(done, total, left, per_day, days)


@dataclass(slots=True)
class _Counts:
    done: int = 0
    total: int = 0
    undealt: int = 0
    seats: int = 0
    first: datetime | None = None
    recent: int = 0


def _counts_by_group(session: Session, now: datetime) -> dict[int | None, _Counts]:
    """Per group id (None: not dealt / no group): samples finished and all, open seats, first vote, recent votes.

    Three grouped queries for every group at once; votes count for the voter's group (the people's pace)."""
    out: dict[int | None, _Counts] = {}
    for status, group_id, count in session.execute(
            select(Sample.status, Sample.group_id, func.count()).where(Sample.kind == "task")
            .group_by(Sample.status, Sample.group_id)):
        c = out.setdefault(group_id, _Counts())
        c.total += count
        c.done += count if status != "open" else 0
        c.undealt += count if status == "open" and group_id is None else 0
    for group_id, count in session.execute(
            select(Seat.group_id, func.count(Seat.id)).where(Seat.closed_at.is_(None), Seat.vote_id.is_(None))
            .group_by(Seat.group_id)):
        out.setdefault(group_id, _Counts()).seats += count
    since = now - timedelta(days=RATE_WINDOW_DAYS)
    for group_id, first, recent in session.execute(
            select(Vote.group_id, func.min(Vote.created_at), func.count(Vote.id).filter(Vote.created_at >= since))
            .where(Vote.stage != "crosscheck").group_by(Vote.group_id)):
        c = out.setdefault(group_id, _Counts())
        c.first, c.recent = (aware(first) if first is not None else None), recent
    return out


def _combine(parts: list[_Counts], members_per_sample: int, now: datetime) -> Progress:
    firsts = [c.first for c in parts if c.first is not None]
    left = sum(c.seats + c.undealt * members_per_sample for c in parts)
    per_day = _per_day(min(firsts) if firsts else None, sum(c.recent for c in parts), now)
    return _estimate(sum(c.done for c in parts), sum(c.total for c in parts), left, per_day)


def scope_progress(session: Session, group_ids: list[int] | None, members_per_sample: int,
                   now: datetime | None = None) -> Progress:
    """Samples finished (resolved or excluded) of all task samples of the groups (None: the whole project)."""
    now = now or datetime.now(UTC)
    counts = _counts_by_group(session, now)
    parts = list(counts.values()) if group_ids is None else [counts[g] for g in group_ids if g in counts]
    return _combine(parts, members_per_sample, now)


def all_progress(session: Session, members_per_sample: int,
                 now: datetime | None = None) -> tuple[Progress, dict[int, Progress]]:
    """The whole project's progress and each group's, from one set of grouped queries."""
    now = now or datetime.now(UTC)
    counts = _counts_by_group(session, now)
    groups = {g: _combine([c], members_per_sample, now) for g, c in counts.items() if g is not None}
    return _combine(list(counts.values()), members_per_sample, now), groups


def member_progress(session: Session, user: User, now: datetime | None = None,
                    members_per_sample: int = 3) -> Progress | None:
    """A member's member-rung votes in their current group of (those + their share of the group's open
    member-rung samples they have not voted on); None outside a group.

    With more members in the group than member seats per sample, each sample needs only some of them: the
    share is members_per_sample / members (rounded up), so M is what this person can expect to do."""
    now = now or datetime.now(UTC)
    membership = people.current_membership(session, user.id)
    if membership is None:
        return None
    group_id = membership.group_id
    mine = [Vote.voter_id == user.id, Vote.stage == "member"]
    done = session.scalar(select(func.count(func.distinct(Vote.sample_id)))
                          .where(*mine, Vote.group_id == group_id)) or 0
    voted = exists().where(Vote.sample_id == Sample.id, Vote.voter_id == user.id, Vote.stage == "member")
    left = session.scalar(select(func.count(Sample.id)).where(
        Sample.group_id == group_id, Sample.kind == "task", Sample.status == "open", Sample.stage == "member",
        ~voted)) or 0
    members = len(people.current_members(session, group_id, "member"))
    if members > members_per_sample:
        left = math.ceil(left * members_per_sample / members)
    return _estimate(done, done + left, left, recent_rate(session, mine, now))


def expert_progress(session: Session, user: User, now: datetime | None = None) -> Progress:
    """An expert's final-review votes of (those + the samples waiting at the expert rung)."""
    now = now or datetime.now(UTC)
    mine = [Vote.voter_id == user.id, Vote.stage == "expert"]
    done = session.scalar(select(func.count(Vote.id)).where(*mine)) or 0
    left = session.scalar(select(func.count(Sample.id)).where(Sample.status == "open", Sample.stage == "expert")) or 0
    return _estimate(done, done + left, left, recent_rate(session, mine, now))


def for_person(session: Session, user: User, members_per_sample: int, now: datetime | None = None) -> Progress | None:
    """What the navigation bar shows: a member their own work, a leader their group, an expert the final
    reviews, an admin the whole project."""
    if user.role == "member":
        return member_progress(session, user, now, members_per_sample)
    if user.role == "expert":
        return expert_progress(session, user, now)
    if user.role == "admin":
        return scope_progress(session, None, members_per_sample, now)
    membership = people.current_membership(session, user.id)
    if membership is None:
        return None
    return scope_progress(session, [membership.group_id], members_per_sample, now)
