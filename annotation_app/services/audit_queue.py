"""The expert's audit queue: likely label errors (from `emotions qa label-issues`) get a second, human look.

A model only proposes: `add` queues resolved samples with the model's suggestion, and nothing changes a
label until an expert decides. The expert sees the clip and every earlier vote, picks a word (its category
confirms or changes the final label), and only then is told what the model suggested. A change sets the
sample's final category and `decided_stage = "audit"`; every decision is in the audit log with the reason
and the previous label.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotation_app.models import AuditReview, Sample, User, utcnow
from annotation_app.services import audit
from annotation_app.services.votes import lock_sample
from core.errors import ConflictError, InvalidRequest, NotFoundError, PermissionDenied
from core.settings import Settings
from core.taxonomy import Category, adjective_table

if TYPE_CHECKING:
    import pandas as pd

AUDIT_STAGE = "audit"  # decided_stage of a label the audit changed
AUDIT_COLUMNS = ("sample_id", "rank", "quality_score", "suggested_category", "given_category", "previous_category",
                 "category", "changed", "reason", "note", "expert", "confidence", "decided_at")


@dataclass
class AddResult:
    """How many rows were queued, and why the others were not (reason -> count)."""

    added: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)


def _category(value: object) -> str | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return Category.parse(text).value
    except ValueError:
        return None


def _number(value: object, kind: type) -> float | int | None:
    try:
        return kind(float(str(value))) if str(value or "").strip() not in ("", "nan", "None") else None
    except ValueError:
        return None


def add(session: Session, rows: list[dict], *, top: int | None = None, reason: str = "", source: str = "",
        actor_id: int | None = None) -> AddResult:
    """Queue the first `top` rows (sample_id[, rank, quality_score, predicted_label]) for the expert's audit.

    Rows are taken in their order (label_issues.csv is ranked). A sample is skipped, and counted under a
    reason, when it is unknown, not resolved, or already waiting in the queue. The caller commits.
    """
    result = AddResult()
    chosen = rows if top is None else rows[:top]
    if top is not None and top < 1:
        raise InvalidRequest("--top must be at least 1")
    reason = reason.strip()[:500]
    for row in chosen:
        sample_id = str(row.get("sample_id", "")).strip()
        sample = session.get(Sample, sample_id) if sample_id else None
        why = None
        if sample is None or sample.kind != "task":
            why = "unknown_sample"
        elif sample.status != "resolved" or sample.final_category is None:
            why = f"not_resolved_{sample.status}"
        elif session.scalar(select(AuditReview.id).where(AuditReview.sample_id == sample_id,
                                                         AuditReview.decided_at.is_(None))) is not None:
            why = "already_queued"
        if why is not None:
            result.skipped[why] = result.skipped.get(why, 0) + 1
            continue
        item = AuditReview(sample_id=sample_id, reason=reason, source=source[:1000], rank=_number(row.get("rank"), int),
                           quality_score=_number(row.get("quality_score"), float),
                           suggested_category=_category(row.get("predicted_label")),
                           given_category=sample.final_category, queued_by=actor_id, note="")
        session.add(item)
        session.flush()
        audit.record(session, actor_id, "audit.queued", "sample", sample_id, review_id=item.id, reason=reason,
                     rank=item.rank, quality_score=item.quality_score, given_category=item.given_category,
                     suggested_category=item.suggested_category, source=source)
        result.added.append(sample_id)
    return result


def _check_expert(user: User) -> None:
    if user.role != "expert":
        raise PermissionDenied("the audit queue is the expert's")


def next_item(session: Session, user: User) -> AuditReview | None:
    """The first pending review in queue order (rank, then the order it was queued); None when none is left."""
    _check_expert(user)
    return session.scalar(select(AuditReview).where(AuditReview.decided_at.is_(None))
                          .order_by(AuditReview.id).limit(1))


def pending_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditReview).where(AuditReview.decided_at.is_(None))) or 0


def decide(session: Session, settings: Settings, user: User, review_id: int, *, adjective_id: int,
           confidence: float, watch_s: float | None = None, note: str = "") -> AuditReview:
    """The expert's decision on one review: the adjective's category confirms or changes the final label.

    Replaying the same decision returns it; a different second decision raises ConflictError. The caller
    commits. The returned review carries the model's suggestion, which the client shows only now.
    """
    _check_expert(user)
    if not 0.0 <= confidence <= 1.0:
        raise InvalidRequest("confidence must be between 0 and 1")
    try:
        category = adjective_table(settings.adjectives_path).category_of(adjective_id).value
    except KeyError:
        raise InvalidRequest(f"unknown adjective id {adjective_id}") from None
    item = session.get(AuditReview, review_id)
    if item is None:
        raise NotFoundError(f"no audit review {review_id}")
    sample = lock_sample(session, item.sample_id)
    session.refresh(item)
    if item.decided_at is not None:
        if item.decided_by == user.id and item.adjective_id == adjective_id:
            return item
        raise ConflictError("this audit review was already decided", code="already_decided")
    if sample.status != "resolved" or sample.final_category is None:
        raise ConflictError("this clip no longer has a final label to audit", code="sample_not_resolved")
    previous = sample.final_category
    item.decided_by, item.decided_at, item.adjective_id, item.category = user.id, utcnow(), adjective_id, category
    item.confidence = round(float(confidence), 4)
    item.watch_s = None if watch_s is None else max(0.0, float(watch_s))
    item.previous_category, item.changed, item.note = previous, category != previous, note.strip()[:2000]
    detail = {"review_id": item.id, "reason": item.reason, "note": item.note, "previous_category": previous,
              "category": category, "previous_decided_stage": sample.decided_stage,
              "suggested_category": item.suggested_category}
    if item.changed:
        sample.final_category, sample.decided_stage = category, AUDIT_STAGE
        audit.record(session, user.id, "audit.label_changed", "sample", sample.id, **detail)
    else:
        audit.record(session, user.id, "audit.label_confirmed", "sample", sample.id, **detail)
    session.flush()
    return item


def audit_frame(session: Session) -> pd.DataFrame:
    """Every decided audit review, oldest decision first (the export's audit.csv)."""
    import pandas as pd

    rows = session.execute(
        select(AuditReview.sample_id, AuditReview.rank, AuditReview.quality_score, AuditReview.suggested_category,
               AuditReview.given_category, AuditReview.previous_category, AuditReview.category, AuditReview.changed,
               AuditReview.reason, AuditReview.note, User.username, AuditReview.confidence, AuditReview.decided_at)
        .join(User, User.id == AuditReview.decided_by)
        .where(AuditReview.decided_at.is_not(None)).order_by(AuditReview.decided_at, AuditReview.id)).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(AUDIT_COLUMNS))
    frame["changed"] = frame["changed"].astype(bool)
    frame["rank"] = frame["rank"].astype("Int64")
    frame["quality_score"] = frame["quality_score"].astype("float64")
    frame["confidence"] = frame["confidence"].astype("float64")
    frame["decided_at"] = pd.to_datetime(frame["decided_at"], utc=True)
    return frame
