"""Per-member numbers for the group leader: votes, agreement with the group result, median watch time, mean
confidence and a drift flag.

Agreement: of a member's member-rung votes (newest revision) on samples of the group that have their final
label, the share whose category is that label.

Drift (the rule shown on the leader page): take the member's votes on resolved samples in vote order; the
last DRIFT_RECENT (50) are "recent", all earlier ones "history". The member is flagged when

- there are DRIFT_RECENT recent votes and at least DRIFT_MIN_HISTORY (50) history votes,
- recent agreement is at least DRIFT_MARGIN (0.10) below history agreement, and
- a one-sided two-proportion z-test (pooled) says the drop is significant: z >= DRIFT_Z (1.645, p < 0.05),
  z = (p_hist - p_recent) / sqrt(p (1 - p) (1/n_hist + 1/n_recent)), p = pooled agreement.

Both the margin and the test are needed: the margin ignores drops too small to matter, the test ignores
drops a long history makes look large by chance.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from annotation_app.models import Sample, User, Vote
from annotation_app.services import people

DRIFT_RECENT = 50
DRIFT_MIN_HISTORY = 50
DRIFT_MARGIN = 0.10
DRIFT_Z = 1.645


@dataclass(frozen=True, slots=True)
class Drift:
    """Agreement of the history and of the recent votes, the z statistic, and whether the member is flagged."""

    history: float | None
    recent: float | None
    z: float | None
    flagged: bool


def drift(agrees: list[bool], *, recent: int = DRIFT_RECENT, min_history: int = DRIFT_MIN_HISTORY,
          margin: float = DRIFT_MARGIN, z_min: float = DRIFT_Z) -> Drift:
    """The drift rule over a member's votes on resolved samples in vote order (True: agreed with the result)."""
    if len(agrees) < recent + min_history:
        last = agrees[-recent:]
        return Drift(None, sum(last) / len(last) if len(last) >= recent else None, None, False)
    old, new = agrees[:-recent], agrees[-recent:]
    p_old, p_new = sum(old) / len(old), sum(new) / len(new)
    pooled = (sum(old) + sum(new)) / (len(old) + len(new))
    spread = math.sqrt(pooled * (1 - pooled) * (1 / len(old) + 1 / len(new)))
    z = (p_old - p_new) / spread if spread > 0 else 0.0
    flagged = p_old - p_new >= margin - 1e-12 and z >= z_min
    return Drift(p_old, p_new, z, flagged)


@dataclass(frozen=True, slots=True)
class MemberStats:
    user_id: int
    username: str
    display_name: str
    votes: int
    resolved_votes: int
    agreement: float | None
    median_watch_s: float | None
    mean_confidence: float | None
    drift: Drift


def member_stats(session: Session, group_id: int) -> list[MemberStats]:
    """Stats of the group's current members over their member-rung votes on the group's task samples."""
    members = people.current_members(session, group_id, "member")
    ids = [m.user_id for m in members]
    if not ids:
        return []
    rows = session.execute(
        select(Vote.voter_id, Vote.sample_id, Vote.category, Vote.confidence, Vote.watch_s, Sample.status,
               Sample.final_category)
        .join(Sample, Sample.id == Vote.sample_id)
        .where(Vote.voter_id.in_(ids), Vote.stage == "member", Sample.group_id == group_id, Sample.kind == "task")
        .order_by(Vote.id)).all()
    newest: dict[tuple[int, str], tuple] = {}
    for row in rows:  # a correction (a later row) replaces the earlier revision
        newest.pop((row.voter_id, row.sample_id), None)
        newest[(row.voter_id, row.sample_id)] = row
    by_voter: dict[int, list] = {i: [] for i in ids}
    for (voter, _sample), row in newest.items():
        by_voter[voter].append(row)
    out = []
    for membership in members:
        user = session.get(User, membership.user_id)
        votes = by_voter[membership.user_id]
        agrees = [r.category == r.final_category for r in votes if r.status == "resolved"]
        watch = [r.watch_s for r in votes if r.watch_s is not None]
        out.append(MemberStats(
            user.id, user.username, user.display_name or user.username, len(votes), len(agrees),
            sum(agrees) / len(agrees) if agrees else None,
            statistics.median(watch) if watch else None,
            sum(r.confidence for r in votes) / len(votes) if votes else None,
            drift(agrees)))
    return out
