"""Reviews around the votes: broken-video reports and exclusion, the qualification test, expert MOS ratings."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotation_app.models import (
    MosRating,
    QualificationAnswer,
    QualificationAttempt,
    QualificationItem,
    Report,
    Sample,
    User,
    utcnow,
)
from annotation_app.services import audit, people, queue, seats
from annotation_app.services.votes import lock_sample
from core.errors import ConflictError, InvalidRequest, NotFoundError, PermissionDenied
from core.settings import Settings
from core.taxonomy import adjective_table

REPORT_REASONS = ("broken", "no_audio", "inappropriate", "other")


def report_sample(session: Session, settings: Settings, user: User, sample_id: str, reason: str,
                  note: str = "") -> Report:
    """File a report instead of voting; the reporter's lease is released and the leader decides."""
    if reason not in REPORT_REASONS:
        raise InvalidRequest(f"unknown reason {reason!r}; known: {', '.join(REPORT_REASONS)}")
    sample = queue.check_visible(session, user, sample_id, settings)
    report = session.scalar(select(Report).where(Report.sample_id == sample.id, Report.user_id == user.id,
                                                 Report.handled_at.is_(None)).order_by(Report.id).limit(1))
    if report is None:
        report = Report(sample_id=sample.id, user_id=user.id, reason=reason, note=note[:2000])
        session.add(report)
    else:  # one open report per person and sample: a second one adds to it
        report.reason = reason
        if note and note not in report.note:
            report.note = (f"{report.note}\n{note}" if report.note else note)[:2000]
    queue.release(session, user, sample.id)
    session.flush()
    audit.record(session, user.id, "sample.reported", "sample", sample.id, report_id=report.id, reason=reason)
    return report


def open_reports(session: Session, group_id: int | None = None) -> list[tuple[Report, Sample]]:
    query = (select(Report, Sample).join(Sample, Sample.id == Report.sample_id)
             .where(Report.handled_at.is_(None)).order_by(Report.id))
    if group_id is not None:
        query = query.where(Sample.group_id == group_id)
    return [(r, s) for r, s in session.execute(query)]


def handle_report(session: Session, user: User, report_id: int, action: str) -> Report:
    """The group's leader (or an admin) excludes the sample (kept, with the reason) or dismisses the report."""
    if action not in ("exclude", "dismiss"):
        raise InvalidRequest("action is 'exclude' or 'dismiss'")
    report = session.get(Report, report_id)
    if report is None:
        raise NotFoundError(f"no report {report_id}")
    sample = lock_sample(session, report.sample_id)
    membership = people.current_membership(session, user.id)
    is_leader = membership is not None and membership.role == "leader" and membership.group_id == sample.group_id
    if user.role != "admin" and not is_leader:
        raise PermissionDenied("only the sample's group leader or an admin handles its reports")
    if report.handled_at is not None:
        raise ConflictError("this report was already handled")
    report.handled_by, report.handled_at, report.action = user.id, utcnow(), action
    if action == "exclude" and sample.status == "open":
        sample.status, sample.excluded_reason = "excluded", f"{report.reason}: {report.note}".strip(": ")
        seats.close_sample(session, sample.id)  # nobody is served it any more; held seats' votes are refused
        for other in session.scalars(select(Report).where(Report.sample_id == sample.id, Report.id != report.id,
                                                          Report.handled_at.is_(None))):
            other.handled_by, other.handled_at, other.action = user.id, report.handled_at, action
    session.flush()
    audit.record(session, user.id, f"report.{action}", "sample", sample.id, report_id=report.id)
    return report


# --- qualification -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class QualificationState:
    total: int
    answered: int
    attempts: int
    attempts_left: int
    passed: bool
    last_score: float | None
    next_sample_id: str | None


def _open_attempt(session: Session, user: User) -> QualificationAttempt | None:
    return session.scalar(select(QualificationAttempt).where(QualificationAttempt.user_id == user.id,
                                                             QualificationAttempt.finished_at.is_(None)))


def _items(session: Session) -> list[QualificationItem]:
    return list(session.scalars(select(QualificationItem).order_by(QualificationItem.id)))


def qualification_state(session: Session, settings: Settings, user: User) -> QualificationState:
    items = _items(session)
    attempts = list(session.scalars(select(QualificationAttempt).where(QualificationAttempt.user_id == user.id)
                                    .order_by(QualificationAttempt.id)))
    finished = [a for a in attempts if a.finished_at is not None]
    current = next((a for a in attempts if a.finished_at is None), None)
    done_ids = set() if current is None else set(session.scalars(
        select(QualificationAnswer.item_id).where(QualificationAnswer.attempt_id == current.id)))
    pending = [i for i in items if i.id not in done_ids]
    passed = user.qualified_at is not None
    left = max(0, settings.app_qualification_attempts - len(finished))
    nxt = pending[0].sample_id if pending and not passed and (current is not None or left > 0) else None
    return QualificationState(len(items), len(done_ids), len(finished), left, passed,
                              finished[-1].score if finished else None, nxt)


def answer_qualification(session: Session, settings: Settings, user: User, sample_id: str,
                         adjective_id: int) -> QualificationState:
    """Record one answer of the member's current attempt (starting one if allowed); finish and score it
    when every gold item is answered. Re-answering an item of the same attempt is ignored."""
    if user.qualified_at is not None:
        raise ConflictError("you already passed the qualification")
    item = session.scalar(select(QualificationItem).where(QualificationItem.sample_id == sample_id))
    if item is None:
        raise NotFoundError(f"no qualification item {sample_id!r}")
    try:
        category = adjective_table(settings.adjectives_path).category_of(adjective_id).value
    except KeyError:
        raise InvalidRequest(f"unknown adjective id {adjective_id}") from None
    attempt = _open_attempt(session, user)
    if attempt is None:
        state = qualification_state(session, settings, user)
        if state.attempts_left <= 0:
            raise PermissionDenied("no qualification attempts left; ask an admin")
        attempt = QualificationAttempt(user_id=user.id)
        session.add(attempt)
        session.flush()
        audit.record(session, user.id, "qualification.started", "user", user.id, attempt_id=attempt.id)
    exists = session.scalar(select(QualificationAnswer).where(QualificationAnswer.attempt_id == attempt.id,
                                                              QualificationAnswer.item_id == item.id))
    if exists is None:
        session.add(QualificationAnswer(attempt_id=attempt.id, item_id=item.id, adjective_id=adjective_id,
                                        category=category, correct=category == item.gold_category))
        session.flush()
    answers = list(session.scalars(select(QualificationAnswer).where(QualificationAnswer.attempt_id == attempt.id)))
    total = len(_items(session))
    if len(answers) >= total:
        attempt.finished_at = utcnow()
        attempt.score = sum(a.correct for a in answers) / total
        attempt.passed = attempt.score >= settings.app_qualification_pass_mark - 1e-9
        if attempt.passed:
            user.qualified_at = utcnow()
        audit.record(session, user.id, "qualification.finished", "user", user.id, attempt_id=attempt.id,
                     score=attempt.score, passed=attempt.passed)
        session.flush()
    return qualification_state(session, settings, user)


# --- MOS -----------------------------------------------------------------------------------------

def _shuffle_key(expert_id: int, sample_id: str) -> str:
    return hashlib.sha256(f"{expert_id}:{sample_id}".encode()).hexdigest()


def next_mos(session: Session, user: User) -> Sample | None:
    """A resolved sample this expert has not rated, in an order random per expert and stable across reloads."""
    if user.role != "expert":
        raise PermissionDenied("MOS ratings are given by experts")
    rated = select(MosRating.sample_id).where(MosRating.expert_id == user.id)
    ids = list(session.scalars(select(Sample.id).where(Sample.status == "resolved", Sample.id.not_in(rated))))
    if not ids:
        return None
    return session.get(Sample, min(ids, key=lambda sid: _shuffle_key(user.id, sid)))


def rate_mos(session: Session, user: User, sample_id: str, score: int) -> MosRating:
    """Store the expert's 1-5 ACR rating of the sample's final label (one per expert and sample)."""
    if user.role != "expert":
        raise PermissionDenied("MOS ratings are given by experts")
    if score not in (1, 2, 3, 4, 5):
        raise InvalidRequest("score is 1 (bad) to 5 (excellent)")
    sample = session.get(Sample, sample_id)
    if sample is None or sample.status != "resolved":
        raise NotFoundError(f"no resolved sample {sample_id!r}")
    found = session.scalar(select(MosRating).where(MosRating.sample_id == sample_id,
                                                   MosRating.expert_id == user.id))
    if found is not None:
        if found.score == score:
            return found
        raise ConflictError("you already rated this sample")
    rating = MosRating(sample_id=sample_id, expert_id=user.id, score=score)
    session.add(rating)
    session.flush()
    audit.record(session, user.id, "mos.rated", "sample", sample_id, score=score)
    return rating


def mos_count(session: Session, user: User) -> int:
    return session.scalar(select(func.count()).select_from(MosRating).where(MosRating.expert_id == user.id)) or 0
