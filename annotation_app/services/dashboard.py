"""Read models for people's pages: personal counts, the leader's group dashboard, an expert's view of a sample."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from annotation_app.models import Sample, User, Vote
from annotation_app.services import people, queue, reviews
from core.errors import PermissionDenied
from core.settings import Settings


def vote_count(session: Session, user_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Vote).where(Vote.voter_id == user_id)) or 0


def leader_dashboard(session: Session, settings: Settings, leader: User) -> dict:
    """Progress per member, samples waiting for this leader (1-1-1) and exchanged ones, open reports."""
    membership = people.current_membership(session, leader.id)
    if membership is None or membership.role != "leader":
        raise PermissionDenied("the dashboard is for group leaders")
    group_id = membership.group_id
    total = session.scalar(select(func.count()).select_from(Sample)
                           .where(Sample.group_id == group_id, Sample.kind == "task")) or 0
    members = []
    for m in people.current_members(session, group_id, "member"):
        user = session.get(User, m.user_id)
        done = session.scalar(select(func.count()).select_from(Vote).join(Sample, Sample.id == Vote.sample_id)
                              .where(Vote.voter_id == m.user_id, Vote.stage == "member",
                                     Sample.group_id == group_id)) or 0
        members.append({"username": user.username, "display_name": user.display_name, "done": done,
                        "total": total})
    sources = queue.source_group_ids(session, group_id, settings)

    def waiting(stage: str, group_ids: list[int]) -> list[str]:
        return list(session.scalars(select(Sample.id).where(Sample.status == "open", Sample.stage == stage,
                                                            Sample.group_id.in_(group_ids)).order_by(Sample.seq)))

    counts = dict(session.execute(select(Sample.status, func.count()).where(Sample.group_id == group_id,
                                                                             Sample.kind == "task")
                                  .group_by(Sample.status)).all())
    return {
        "group": queue.group_name(session, group_id),
        "total": total,
        "resolved": counts.get("resolved", 0),
        "excluded": counts.get("excluded", 0),
        "members": members,
        "waiting_leader": waiting("leader", [group_id]),
        "waiting_exchange": waiting("exchange", sources),
        "reports": [{"id": r.id, "sample_id": s.id, "reason": r.reason, "note": r.note,
                     "by": session.get(User, r.user_id).username}
                    for r, s in reviews.open_reports(session, group_id)],
    }


def may_see_votes(session: Session, user: User, sample: Sample) -> bool:
    """Experts and admins see every vote; a leader sees the votes of a sample once they have voted on it.
    Members never see other people's votes."""
    if user.role in ("expert", "admin"):
        return True
    if user.role != "leader":
        return False
    return session.scalar(select(func.count()).select_from(Vote).where(
        Vote.sample_id == sample.id, Vote.voter_id == user.id, Vote.stage.in_(("leader", "exchange")))) > 0
