"""Cross-check (stages sA, sB): draw sets by previous label, hand them to the partner group, store re-labels."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from annotation_app.models import CrossCheckItem, CrossCheckSet, Group, Membership, Sample, User, Vote
from annotation_app.services import audit, people, queue
from core.crosscheck import draw_sets as crosscheck_draw
from core.errors import ConfigError, ConflictError, InvalidRequest, NotFoundError, PermissionDenied
from core.settings import Settings
from core.taxonomy import adjective_table


def draw_sets(session: Session, settings: Settings, name: str, *, set_size: int = 100,
              plan: dict[str, int] | None = None, seed: int = 0, actor_id: int | None = None) -> list[CrossCheckSet]:
    """Draw cross-check sets `name` (e.g. 'sA') from every group's member-decided samples, by final label.

    The sampling is core.crosscheck.draw_sets (the one `emotions qa plan-crosscheck` uses): each set holds
    up to `set_size` samples of one category (fewer, evenly spread, where the category lacks samples) and
    goes to the group's exchange partner. A sample is drawn into at most one set.
    """
    if not name or len(name) > 16:
        raise InvalidRequest("a cross-check stage name has 1 to 16 characters (e.g. sA)")
    if session.scalar(select(CrossCheckSet.id).where(CrossCheckSet.name == name).limit(1)) is not None:
        raise ConflictError(f"cross-check sets {name!r} were already drawn", code="crosscheck_drawn")
    rows = people.groups(session)
    ids = {g.name: g.id for g in rows}
    names = {g.id: g.name for g in rows}
    partners = people.partner_map(list(ids), settings.app_exchange)
    used = exists().where(CrossCheckItem.sample_id == Sample.id)
    labels = [(sid, names[gid], category) for sid, gid, category in session.execute(
        select(Sample.id, Sample.group_id, Sample.final_category).where(
            Sample.group_id.in_(list(names)), Sample.status == "resolved", Sample.decided_stage == "member",
            ~used))]
    try:
        drawn, _ = crosscheck_draw(labels, partners, stages=(name,), set_size=set_size, layout=plan, seed=seed)
    except ConfigError as exc:
        raise InvalidRequest(exc.message) from None
    made = []
    for found in drawn:
        row = CrossCheckSet(name=name, source_group_id=ids[found.origin_group],
                            target_group_id=ids[found.target_group], category=found.category)
        session.add(row)
        session.flush()
        session.add_all(CrossCheckItem(set_id=row.id, sample_id=sid, previous_category=found.category)
                        for sid in found.items)
        made.append(row)
    session.flush()
    audit.record(session, actor_id, "crosscheck.drawn", "project", "default", name=name, sets=len(made))
    return made


def sets_by_route(session: Session, sets: list[CrossCheckSet] | None = None) -> dict[str, dict[str, int]]:
    """Sets and items per stage name and route 'A->B' ({'sA': {'A->B': 2}}); of `sets`, else of all sets."""
    names = {g.id: g.name for g in people.groups(session)}
    if sets is None:
        sets = list(session.scalars(select(CrossCheckSet).order_by(CrossCheckSet.id)))
    routes: dict[str, dict[str, int]] = {}
    for row in sets:
        key = f"{names[row.source_group_id]}->{names[row.target_group_id]}"
        slot = routes.setdefault(row.name, {})
        slot[key] = slot.get(key, 0) + 1
    return routes


@dataclass(frozen=True, slots=True)
class CrossCheckTask:
    sample: Sample
    set_id: int


def _target_membership(session: Session, user: User) -> Membership | None:
    membership = people.current_membership(session, user.id)
    return membership if membership is not None and membership.role == "member" else None


def next_item(session: Session, user: User) -> CrossCheckTask | None:
    """The next cross-check item for a member: sets given to their group, items they have not re-labelled."""
    if not queue.any_rows(session, CrossCheckSet.id):
        return None
    membership = _target_membership(session, user)
    if membership is None:
        return None
    done = exists().where(Vote.sample_id == CrossCheckItem.sample_id, Vote.voter_id == user.id,
                          Vote.stage == "crosscheck", Vote.crosscheck_set_id == CrossCheckItem.set_id)
    row = session.execute(
        select(Sample, CrossCheckItem.set_id).join(CrossCheckItem, CrossCheckItem.sample_id == Sample.id)
        .join(CrossCheckSet, CrossCheckSet.id == CrossCheckItem.set_id)
        .where(CrossCheckSet.target_group_id == membership.group_id, ~done)
        .order_by(CrossCheckSet.id, CrossCheckItem.id).limit(1)
    ).first()
    return CrossCheckTask(row[0], row[1]) if row else None


def can_see(session: Session, user: User, sample_id: str) -> bool:
    """Members of a group that received a set containing the sample may see it."""
    membership = _target_membership(session, user)
    if membership is None:
        return False
    return session.scalar(select(CrossCheckItem.id).join(CrossCheckSet, CrossCheckSet.id == CrossCheckItem.set_id)
                          .where(CrossCheckItem.sample_id == sample_id,
                                 CrossCheckSet.target_group_id == membership.group_id).limit(1)) is not None


def submit(session: Session, settings: Settings, user: User, *, sample_id: str, adjective_id: int,
           confidence: float, client_id: str, watch_s: float | None = None) -> tuple[Vote, bool]:
    """Store a member's cross-check re-label (no ladder); idempotent by client id, 409 on a different repeat."""
    if not 0.0 <= confidence <= 1.0 or not client_id or len(client_id) > 64:
        raise InvalidRequest("confidence is in [0, 1] and client_id has 1 to 64 characters")
    try:
        category = adjective_table(settings.adjectives_path).category_of(adjective_id).value
    except KeyError:
        raise InvalidRequest(f"unknown adjective id {adjective_id}") from None
    membership = _target_membership(session, user)
    if membership is None:
        raise PermissionDenied("cross-check re-labels are given by group members")
    item = session.execute(select(CrossCheckItem.set_id).join(CrossCheckSet, CrossCheckSet.id == CrossCheckItem.set_id)
                           .where(CrossCheckItem.sample_id == sample_id,
                                  CrossCheckSet.target_group_id == membership.group_id)).first()
    if item is None:
        raise NotFoundError(f"no cross-check item {sample_id!r} for your group")
    prior = session.scalar(select(Vote).where(Vote.sample_id == sample_id, Vote.voter_id == user.id,
                                              Vote.stage == "crosscheck"))
    if prior is not None:
        if prior.adjective_id == adjective_id and abs(prior.confidence - round(confidence, 4)) < 1e-9:
            return prior, False
        raise ConflictError("you already re-labelled this sample in the cross-check")
    vote = Vote(client_id=client_id, sample_id=sample_id, voter_id=user.id, stage="crosscheck", role="member",
                group_id=membership.group_id, adjective_id=adjective_id, category=category,
                confidence=round(confidence, 4), watch_s=watch_s, crosscheck_set_id=item[0])
    session.add(vote)
    session.flush()
    audit.record(session, user.id, "crosscheck.voted", "sample", sample_id, vote_id=vote.id, set_id=item[0])
    return vote, True


def crosscheck_frame(session: Session):
    """Tidy cross-check table for QA: one row per re-label with its set and the previous label.

    Columns: set_id, stage_name, source_group, target_group, set_category, sample_id, previous_category,
    voter, category, confidence, created_at.
    """
    import pandas as pd
    from sqlalchemy.orm import aliased

    source, target = aliased(Group), aliased(Group)
    rows = session.execute(
        select(CrossCheckSet.id, CrossCheckSet.name, source.name, target.name, CrossCheckSet.category,
               Vote.sample_id, CrossCheckItem.previous_category, User.username, Vote.category, Vote.confidence,
               Vote.created_at)
        .join(CrossCheckSet, CrossCheckSet.id == Vote.crosscheck_set_id)
        .join(CrossCheckItem,
              (CrossCheckItem.set_id == CrossCheckSet.id) & (CrossCheckItem.sample_id == Vote.sample_id))
        .join(source, source.id == CrossCheckSet.source_group_id)
        .join(target, target.id == CrossCheckSet.target_group_id)
        .join(User, User.id == Vote.voter_id)
        .where(Vote.stage == "crosscheck").order_by(Vote.id)
    ).all()
    columns = ["set_id", "stage_name", "source_group", "target_group", "set_category", "sample_id",
               "previous_category", "voter", "category", "confidence", "created_at"]
    frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame
