"""The leader page's read models and report handling: open reports per sample, the disagreement view of
samples at the 4th / 5th vote, and excluding or dismissing all reports of a sample at once."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotation_app.models import Report, Sample, User, Vote
from annotation_app.services import dashboard, people, queue, reviews
from annotation_app.services.ladder import pattern_of
from core.errors import InvalidRequest, NotFoundError, PermissionDenied
from core.settings import Settings


@dataclass(frozen=True, slots=True)
class ReportedSample:
    """A sample with open reports: every distinct reason, the notes, how many people reported it."""

    sample_id: str
    reasons: list[str]
    notes: list[str]
    reporters: list[str]
    first_report_id: int


def reported_samples(session: Session, group_id: int) -> list[ReportedSample]:
    """The group's samples with open reports, oldest report first (one row per sample, however many reports)."""
    grouped: dict[str, list[Report]] = {}
    for report, sample in reviews.open_reports(session, group_id):
        grouped.setdefault(sample.id, []).append(report)
    out = []
    for sample_id, reports in grouped.items():
        names = {u.id: u.display_name or u.username for u in session.scalars(
            select(User).where(User.id.in_({r.user_id for r in reports})))}
        out.append(ReportedSample(sample_id, list(dict.fromkeys(r.reason for r in reports)),
                                  [r.note for r in reports if r.note],
                                  list(dict.fromkeys(names[r.user_id] for r in reports)), reports[0].id))
    return out


def handle_sample_reports(session: Session, user: User, sample_id: str, action: str) -> int:
    """Exclude the sample (closing every open report of it) or dismiss all its open reports; returns how many
    reports were closed. Only the sample's group leader or an admin may (checked by `reviews.handle_report`)."""
    if action not in ("exclude", "dismiss"):
        raise InvalidRequest("action is 'exclude' or 'dismiss'")
    ids = list(session.scalars(select(Report.id).where(Report.sample_id == sample_id, Report.handled_at.is_(None))
                               .order_by(Report.id)))
    if not ids:
        raise NotFoundError(f"no open report on sample {sample_id!r}")
    reviews.handle_report(session, user, ids[0], action)  # excluding closes the others too
    if action == "dismiss":
        for report_id in ids[1:]:
            reviews.handle_report(session, user, report_id, action)
    return len(ids)


@dataclass(frozen=True, slots=True)
class Disagreement:
    """A sample waiting at the leader (4th) or exchange (5th) vote; `votes` (category -> count, most first) and
    `pattern` only when the viewer may see them (after voting on it), else None."""

    sample_id: str
    stage: str
    own_group: bool
    votes: list[tuple[str, int]] | None
    pattern: str | None


def disagreements(session: Session, settings: Settings, leader: User) -> list[Disagreement]:
    """Samples of the leader's group at the 4th or 5th vote and other groups' samples waiting for this leader's
    5th vote, in the order of work; vote patterns follow `dashboard.may_see_votes`."""
    membership = people.current_membership(session, leader.id)
    if membership is None or membership.role != "leader":
        raise PermissionDenied("the disagreement view is for group leaders")
    own = membership.group_id
    sources = queue.source_group_ids(session, own, settings)
    samples = list(session.scalars(
        select(Sample).where(Sample.status == "open", Sample.kind == "task",
                             ((Sample.group_id == own) & Sample.stage.in_(("leader", "exchange")))
                             | (Sample.group_id.in_(sources) & (Sample.stage == "exchange")))
        .order_by(Sample.group_id != own, Sample.seq)))
    out = []
    for sample in samples:
        votes = pattern = None
        if dashboard.may_see_votes(session, leader, sample):
            cats = _counted_categories(session, sample.id)
            votes, pattern = Counter(cats).most_common(), pattern_of(cats)
        out.append(Disagreement(sample.id, sample.stage, sample.group_id == own, votes, pattern))
    return out


def _counted_categories(session: Session, sample_id: str) -> list[str]:
    """The categories the ladder counts on a sample: each person's newest vote per rung, cross-checks left out."""
    latest: dict[tuple[int, str], str] = {}
    for voter, stage, category in session.execute(
            select(Vote.voter_id, Vote.stage, Vote.category)
            .where(Vote.sample_id == sample_id, Vote.stage != "crosscheck").order_by(Vote.id)):
        latest[(voter, stage)] = category
    return list(latest.values())
