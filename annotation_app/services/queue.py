"""Who may see and vote on which sample, and the per-person task queue with leases."""

from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotation_app.models import Group, QualificationItem, Sample, User
from annotation_app.services import people, seats
from core.errors import ConflictError, NotFoundError, PermissionDenied
from core.settings import Settings


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
            raise PermissionDenied("pass the qualification set first", code="qualification_required")
    elif stage == "leader":
        ok = membership.role == "leader" and membership.group_id == sample.group_id
    else:  # exchange
        ok = membership.role == "leader" and sample.group_id is not None and \
            partner_group_id(session, sample.group_id, settings) == membership.group_id
    if not ok:
        raise PermissionDenied(f"you do not cast the {stage} vote on this sample")


def _candidates(session: Session, user: User, settings: Settings) -> list[tuple[str, list[int] | None]]:
    """(stage, groups whose samples it draws from; None: every group) pairs of this user, in priority order."""
    if user.role == "expert":
        return [("expert", None)]
    membership = people.current_membership(session, user.id)
    if membership is None:
        return []
    if membership.role == "member":
        return [("member", [membership.group_id])]
    return [("leader", [membership.group_id]),
            ("exchange", source_group_ids(session, membership.group_id, settings))]


def next_task(session: Session, user: User, settings: Settings) -> seats.Task | None:
    """The next sample for `user` to vote on, with one of its seats claimed for them; None when none is left.

    A seat the person still holds comes back first (a reload loses nothing) and its lease is renewed.
    Otherwise one free seat is claimed atomically (see `seats`): a sample is never handed to more
    people than its rung has seats. Samples the person set aside come back only when nothing else is left.
    """
    if qualification_required(session, user):
        raise PermissionDenied("pass the qualification set first", code="qualification_required")
    candidates = _candidates(session, user, settings)
    if not candidates:
        return None
    held = seats.held(session, user.id, tuple(stage for stage, _ in candidates))
    if held is not None:
        seats.renew(session, user.id, held.id, held.stage, settings.app_lease_s)
        return held
    for include_skipped in (False, True):
        for stage, group_ids in candidates:
            task = seats.claim(session, user.id, stage, group_ids, settings.app_lease_s,
                               include_skipped=include_skipped)
            if task is not None:
                return task
    return None


def renew_lease(session: Session, user: User, sample_id: str, settings: Settings) -> datetime:
    """Keep the seat of a person still watching: a new lease from now; ConflictError if the seat is gone."""
    sample = session.get(Sample, sample_id)
    if sample is None or not can_see(session, user, sample, settings):
        raise NotFoundError(f"no sample {sample_id!r} for you")
    until = seats.renew(session, user.id, sample_id, sample.stage, settings.app_lease_s)
    if until is None:
        error = refusal(session, user, sample, sample.stage)
        if error.code == "no_free_seat":
            error = ConflictError("this clip is not reserved for you", code="not_served")
        raise error
    return until


def refusal(session: Session, user: User, sample: Sample, stage: str) -> ConflictError:
    """Why `user` has no seat at `stage` of `sample` (the most specific real reason)."""
    if sample.status == "excluded":
        return ConflictError("this clip was excluded by the group leader", code="sample_excluded")
    if sample.status == "resolved":
        return ConflictError("this clip is already resolved (it has its final label)", code="sample_resolved")
    if sample.stage != stage:
        return ConflictError(f"the {stage} stage of this clip is not open (it is at {sample.stage})",
                             code="stage_closed")
    if seats.lost_to_another(session, user.id, sample.id, stage):
        return ConflictError("your reservation of this clip ran out and another annotator took its place",
                             code="lease_expired")
    return ConflictError(f"every {stage} seat of this clip is taken", code="no_free_seat")


def release(session: Session, user: User, sample_id: str | None = None, *, skip: bool = False) -> int:
    """Give back the person's unvoted seat(s) so others can take them (skip, report, logout, group change)."""
    return seats.release(session, user.id, sample_id, skip=skip)


def group_name(session: Session, group_id: int | None) -> str | None:
    group = session.get(Group, group_id) if group_id is not None else None
    return group.name if group else None
