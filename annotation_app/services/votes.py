"""Casting votes: idempotent submission, stage completion and the ladder, all in the vote's transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from annotation_app.models import Resolution, Sample, User, Vote, utcnow
from annotation_app.services import audit, people, queue, seats
from annotation_app.services.ladder import Decision, decide
from core.errors import ConflictError, InvalidRequest, NotFoundError, PermissionDenied
from core.settings import Settings
from core.taxonomy import adjective_table


@dataclass(frozen=True, slots=True)
class VoteResult:
    """The stored vote, whether this call created it, and the ladder's decision if the stage completed."""

    vote: Vote
    created: bool
    decision: Decision | None
    sample: Sample


# statements of the vote path, built once (building them per vote cost more CPU than running them)
_BUMP_VERSION = update(Sample).where(Sample.id == bindparam("p_id")).values(version=Sample.version + 1)
_LOCK_SAMPLE = (select(Sample).where(Sample.id == bindparam("p_id")).with_for_update()
                .execution_options(populate_existing=True))
_INSERT_VOTE = insert(Vote.__table__).returning(Vote.__table__.c.id)
_EXISTING = select(Vote).where(
    (Vote.client_id == bindparam("p_client"))
    | ((Vote.sample_id == bindparam("p_sample")) & (Vote.voter_id == bindparam("p_voter"))
       & (Vote.stage == bindparam("p_stage")))
).order_by(Vote.revision.desc())


def lock_sample(session: Session, sample_id: str) -> Sample:
    """Load the sample holding a write lock on it until the transaction ends.

    PostgreSQL: SELECT ... FOR UPDATE on the row. SQLite has no row locks: bumping the row's
    version first takes the database write lock (waiting out the busy timeout), which serialises
    every vote transaction just as well.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(_BUMP_VERSION, {"p_id": sample_id})
    sample = session.scalar(_LOCK_SAMPLE, {"p_id": sample_id})
    if sample is None:
        raise NotFoundError(f"no sample {sample_id!r} for you")
    return sample


def _same(vote: Vote, user: User, sample_id: str, adjective_id: int, confidence: float) -> bool:
    return (vote.voter_id == user.id and vote.sample_id == sample_id and vote.adjective_id == adjective_id
            and abs(vote.confidence - confidence) < 1e-9)


def _validate(adjective_id: int, confidence: float, client_id: str, settings: Settings) -> str:
    if not client_id or len(client_id) > 64:
        raise InvalidRequest("client_id must have 1 to 64 characters")
    if not 0.0 <= confidence <= 1.0:
        raise InvalidRequest("confidence must be between 0 and 1")
    try:
        return adjective_table(settings.adjectives_path).category_of(adjective_id).value
    except KeyError:
        raise InvalidRequest(f"unknown adjective id {adjective_id}") from None


def _existing(session: Session, user: User, sample_id: str, stage: str, client_id: str,
              adjective_id: int, confidence: float) -> Vote | None:
    """An equal vote already stored (idempotent replay), None if none; ConflictError if a different one is."""
    rows = list(session.scalars(_EXISTING, {"p_client": client_id, "p_sample": sample_id, "p_voter": user.id,
                                            "p_stage": stage}))
    by_client = next((v for v in rows if v.client_id == client_id), None)
    if by_client is not None:
        if _same(by_client, user, sample_id, adjective_id, confidence):
            return by_client
        raise ConflictError("this submission id was already used for a different vote", code="client_id_reused")
    prior = rows[0] if rows else None
    if prior is not None:
        if _same(prior, user, sample_id, adjective_id, confidence):
            return prior
        raise ConflictError(f"you already voted on this sample at the {stage} stage (with another word)",
                            code="already_voted")
    return None


def _default_stage(user: User, sample: Sample) -> str:
    """The stage a person's vote is for when the client does not say: members vote at the member stage,
    experts at the expert stage, leaders at the leader or exchange stage the sample is at."""
    if user.role in ("member", "expert"):
        return user.role
    return sample.stage if sample.stage in ("leader", "exchange") else "leader"


def submit_vote(session: Session, settings: Settings, user: User, *, sample_id: str, adjective_id: int,
                confidence: float, client_id: str, watch_s: float | None = None,
                stage: str | None = None) -> VoteResult:
    """Store one vote and, if it completes its stage, apply the ladder in the same transaction.

    Replaying the same submission returns the stored vote (created=False). A different second vote
    by the same person on the same sample and stage, or a vote on a closed stage, raises ConflictError;
    a sample outside the user's role and group raises NotFoundError / PermissionDenied.
    The caller commits.
    """
    confidence = round(float(confidence), 4)
    category = _validate(adjective_id, confidence, client_id, settings)
    sample = lock_sample(session, sample_id)
    membership = people.current_membership(session, user.id)
    if not queue.can_see(session, user, sample, settings, membership):
        if people.was_member_of(session, user.id, sample.group_id):
            raise PermissionDenied("you were moved to another group; this clip is no longer yours",
                                   code="moved_group")
        raise NotFoundError(f"no sample {sample_id!r} for you")
    effective = stage or _default_stage(user, sample)
    found = _existing(session, user, sample_id, effective, client_id, adjective_id, confidence)
    if found is not None:
        return VoteResult(found, False, None, sample)
    if sample.status != "open":
        raise queue.refusal(session, user, sample, effective)
    queue.check_can_vote(session, user, sample, effective, settings, membership)
    if effective != sample.stage:
        raise queue.refusal(session, user, sample, effective)
    seat, others_open = seats.seat_for_vote(session, user.id, sample_id, effective)
    if seat is None:  # the person's lease lapsed and its seat was taken, or they were never served one
        raise queue.refusal(session, user, sample, effective)
    values = {"client_id": client_id, "sample_id": sample_id, "voter_id": user.id, "stage": effective,
              "role": "leader" if effective in ("leader", "exchange") else user.role,
              "group_id": membership.group_id if membership else None, "adjective_id": adjective_id,
              "category": category, "confidence": confidence,
              "watch_s": None if watch_s is None else max(0.0, float(watch_s)), "revision": 1,
              "created_at": utcnow()}
    try:  # a plain INSERT: the ORM's unit of work cost more than the insert on this hot path
        vote = Vote(id=session.connection().execute(_INSERT_VOTE, values).scalar_one(), **values)
    except IntegrityError:  # the client id was taken concurrently on another sample; nothing else to keep
        session.rollback()
        raise ConflictError("this submission id was already used for a different vote",
                            code="client_id_reused") from None
    seats.fill(session, seat, user.id, vote.id)
    audit.record(session, user.id, "vote.created", "sample", sample_id, vote_id=vote.id, stage=effective,
                 adjective_id=adjective_id, category=category, confidence=confidence)
    decision = None if others_open else _complete(session, settings, sample, effective, vote)
    return VoteResult(vote, True, decision, sample)


def _complete(session: Session, settings: Settings, sample: Sample, stage: str, vote: Vote) -> Decision:
    """`stage` has all its votes (its last seat closed): apply the ladder and move or resolve the (locked)
    sample; a rung that moves up opens the next rung's seats."""
    votes = list(session.scalars(select(Vote).where(Vote.sample_id == sample.id, Vote.stage != "crosscheck")
                                 .order_by(Vote.id)))
    latest: dict[tuple[int, str], Vote] = {}
    for v in votes:  # a correction (higher revision) replaces the person's earlier vote at that stage
        key = (v.voter_id, v.stage)
        if key not in latest or v.revision > latest[key].revision:
            latest[key] = v
    counted = sorted(latest.values(), key=lambda v: v.id)
    decision = decide([v.category for v in counted], stage, settings.app_vote_rule)
    if decision.resolved:
        sample.status, sample.final_category, sample.decided_stage = "resolved", decision.category, stage
        session.add(Resolution(sample_id=sample.id, final_category=decision.category, decided_stage=stage,
                               pattern=decision.pattern, vote_id=vote.id))
        seats.close_sample(session, sample.id)
        audit.record(session, vote.voter_id, "sample.resolved", "sample", sample.id, category=decision.category,
                     stage=stage, pattern=decision.pattern)
    else:
        sample.stage = decision.next_stage
        seats.open_rung(session, sample, sample.stage, seats.rung_size(sample.stage, settings.app_members_per_sample))
        audit.record(session, vote.voter_id, "sample.escalated", "sample", sample.id, from_stage=stage,
                     to_stage=decision.next_stage, pattern=decision.pattern)
    session.flush()
    return decision


def votes_of(session: Session, sample_id: str) -> list[Vote]:
    """Every vote on a sample, oldest first (for experts and exports; never shown to members)."""
    return list(session.scalars(select(Vote).where(Vote.sample_id == sample_id).order_by(Vote.id)))


def correct_vote(session: Session, settings: Settings, user: User, *, vote_id: int, adjective_id: int,
                 confidence: float, client_id: str, reason: str = "") -> VoteResult:
    """Replace one's own vote by a new revision while its stage is still open (votes are never edited).

    The new revision counts instead of the old one; both stay stored and the change is audited.
    Replaying the same correction returns it; a closed stage raises ConflictError.
    """
    confidence = round(float(confidence), 4)
    category = _validate(adjective_id, confidence, client_id, settings)
    old = session.get(Vote, vote_id)
    if old is None or old.voter_id != user.id:
        raise NotFoundError(f"no vote {vote_id} of yours")
    sample = lock_sample(session, old.sample_id)
    replay = session.scalar(select(Vote).where(Vote.client_id == client_id))
    if replay is not None:
        if _same(replay, user, old.sample_id, adjective_id, confidence) and replay.revision > old.revision:
            return VoteResult(replay, False, None, sample)
        raise ConflictError("this submission id was already used for a different vote", code="client_id_reused")
    latest = session.scalar(select(Vote).where(Vote.sample_id == old.sample_id, Vote.voter_id == user.id,
                                               Vote.stage == old.stage).order_by(Vote.revision.desc()).limit(1))
    if latest.id != old.id:
        raise ConflictError("this vote was already corrected; correct the newest revision", code="superseded")
    if sample.status != "open" or sample.stage != old.stage:
        raise ConflictError(f"the {old.stage} stage of this sample is closed; the vote can no longer change",
                            code="stage_closed")
    new = Vote(client_id=client_id, sample_id=old.sample_id, voter_id=user.id, stage=old.stage, role=old.role,
               group_id=old.group_id, adjective_id=adjective_id, category=category, confidence=confidence,
               watch_s=old.watch_s, revision=old.revision + 1)
    session.add(new)
    session.flush()
    audit.record(session, user.id, "vote.corrected", "sample", old.sample_id, old_vote_id=old.id, vote_id=new.id,
                 revision=new.revision, category=category, previous_category=old.category, reason=reason[:500])
    return VoteResult(new, True, None, sample)
