"""The live quality dashboard's numbers: agreement (qa.agreement over the live member votes), agreement per
week, escalation share per rung and votes per day, for one group or all; cached briefly per database state.

Agreement is computed by `qa.agreement.agreement`, the function behind `emotions qa kappa`, on the same
votes that command reads from the app database: votes cast in the member role (the member rung and
cross-check re-labels), the newest revision of each, one vote per (sample, person). So the dashboard's
Fleiss' kappa is the command's, to the last digit. A group's numbers count the votes its members cast
while in it (the voter's group at voting time, as `emotions qa kappa --by group`).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Float, Integer, cast, func, select
from sqlalchemy.orm import Session

from annotation_app.models import Group, Sample, Vote
from core.errors import ConfigError, MissingDependency

if TYPE_CHECKING:
    import pandas as pd

CACHE_TTL_S = 30.0  # a page shows numbers at most this old; a new vote (a new max id) recomputes at once
DAYS_SHOWN = 60  # the votes-per-day chart shows the most recent days only
RUNGS = ("member", "leader", "exchange")  # rungs that can escalate (the expert's always decides)
_LADDER = ("member", "leader", "exchange", "expert")


@dataclass(frozen=True, slots=True)
class Agreement:
    """Fleiss' kappa (qa's method: Fleiss, or Gwet's generalisation when raters per item vary), Krippendorff's
    alpha (nominal), the items and ratings they rest on; kappa/alpha None when undefined (too few votes)."""

    label: str
    kappa: float | None
    alpha: float | None
    items: int
    ratings: int
    method: str | None = None


def _agreement_module():
    try:
        from qa import agreement
    except ImportError:  # the server image installs the qa extra; a bare app install may not
        raise MissingDependency("the quality dashboard needs the qa extra",
                                remedy="pip install 'emotions[app,qa]'") from None
    return agreement


def epoch_seconds(session: Session, column=Vote.created_at):
    """SQL for a timestamp column as UTC seconds since 1970 (a float): parsing 100,000 datetimes in Python costs
    more than the whole agreement computation. SQLite stores UTC text, PostgreSQL timestamptz."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(column) - 2440587.5) * 86400.0
    return cast(func.extract("epoch", column), Float)  # a double, not a numeric (Decimal per row)


def _plain_rows(session: Session, query) -> list[tuple]:
    """The rows of a read-only query as plain tuples from the driver's cursor, in the session's transaction.

    For the 100,000-row read only: SQLAlchemy's Row objects (and pandas inspecting them one by one) cost
    more than the query. The statement's values are our own constants and integer ids, rendered inline.
    """
    connection = session.connection()
    sql = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        cursor.close()


def member_votes(session: Session, group_ids: list[int] | None = None) -> pd.DataFrame:
    """The votes `emotions qa kappa` counts: columns item, rater, category, group (voter's group id when voting,
    '' for none) and created_at (UTC), one row per (item, rater): the newest, in vote order."""
    import pandas as pd

    from core.taxonomy import CATEGORIES

    query = select(Vote.sample_id, Vote.voter_id, Vote.category, Vote.group_id, epoch_seconds(session)) \
        .where(Vote.role == "member").order_by(Vote.id)
    if group_ids is not None:
        query = query.where(Vote.group_id.in_(group_ids))
    frame = pd.DataFrame.from_records(_plain_rows(session, query),
                                      columns=["item", "rater", "category", "group", "created_at"])
    # A correction is a newer revision (a higher id): keep each person's last vote on a sample, as qa does.
    frame = frame.drop_duplicates(["item", "rater"], keep="last")
    # taxonomy-ordered categorical: qa's category codes read it without a per-row lookup
    frame["category"] = pd.Categorical(frame["category"], categories=[c.value for c in CATEGORIES])
    groups = pd.to_numeric(frame["group"], errors="coerce")
    frame["group"] = groups.astype("Int64").astype(str).replace("<NA>", "")
    frame["created_at"] = pd.to_datetime(frame["created_at"].astype(float), unit="s", utc=True)
    return frame


def agreement_of(votes: pd.DataFrame, label: str) -> Agreement:
    """qa.agreement.agreement of a votes frame as an `Agreement`; undefined (None) when qa finds too few votes."""
    if votes.empty:
        return Agreement(label, None, None, 0, 0)
    try:
        result = _agreement_module().agreement(votes)
    except ConfigError:  # no item with two ratings yet
        return Agreement(label, None, None, int(votes["item"].nunique()), len(votes))
    return Agreement(label, result["fleiss_kappa"], result["krippendorff_alpha"], result["n_items"],
                     result["n_ratings"], result["fleiss_method"])


def week_of(stamp: pd.Timestamp) -> str:
    """ISO week label of a UTC time, e.g. '2026-W49'."""
    year, week, _day = stamp.isocalendar()
    return f"{year}-W{week:02d}"


def weekly_agreement(votes: pd.DataFrame) -> list[Agreement]:
    """Agreement of the samples whose last counted member vote fell in each ISO week, oldest week first.

    A sample belongs to one week (when its votes were complete as far as they go), so every week's
    kappa is over whole samples, never over a sample's votes split across weeks.
    """
    if votes.empty:
        return []
    last = votes.groupby("item", sort=False)["created_at"].transform("max")
    weeks = last.dt.tz_convert(None).dt.to_period("W-SUN")
    out = []
    for period, part in votes.groupby(weeks, sort=True):
        out.append(agreement_of(part, week_of(period.start_time)))
    return out


def escalation(session: Session, group_ids: list[int] | None = None) -> list[dict]:
    """Per rung: how many samples completed it, how many of those went one rung up, and the share.

    A sample's highest rung is where it was decided (resolved) or where it stands (open, excluded). It
    completed rung r when it was decided at r or got past r; it escalated at r when it got past r.
    """
    query = select(Sample.status, Sample.stage, Sample.decided_stage, func.count()) \
        .where(Sample.kind == "task").group_by(Sample.status, Sample.stage, Sample.decided_stage)
    if group_ids is not None:
        query = query.where(Sample.group_id.in_(group_ids))
    decided_at = {r: 0 for r in _LADDER}
    highest = {r: 0 for r in _LADDER}
    for status, stage, decided, count in session.execute(query):
        top = decided if status == "resolved" and decided else stage
        highest[top] = highest.get(top, 0) + count
        if status == "resolved" and decided:
            decided_at[decided] = decided_at.get(decided, 0) + count
    rows = []
    for i, rung in enumerate(RUNGS):
        past = sum(highest[r] for r in _LADDER[i + 1:])
        completed = past + decided_at[rung]
        rows.append({"rung": rung, "completed": completed, "escalated": past,
                     "share": past / completed if completed else None})
    return rows


def votes_per_day(session: Session, group_ids: list[int] | None = None, *, days: int = DAYS_SHOWN,
                  now: datetime | None = None) -> list[tuple[str, int]]:
    """(YYYY-MM-DD, votes cast that UTC day) for the last `days` days up to `now`, every day listed (all rungs)."""
    now = now or datetime.now(UTC)
    start = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    day = func.floor(epoch_seconds(session) / 86400.0) if session.get_bind().dialect.name != "sqlite" \
        else cast(func.julianday(Vote.created_at) - 2440587.5, Integer)
    query = select(day, func.count()).where(Vote.created_at >= start).group_by(day)
    if group_ids is not None:
        query = query.where(Vote.group_id.in_(group_ids))
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    counts = {(epoch + timedelta(days=int(d))).strftime("%Y-%m-%d"): n for d, n in session.execute(query)}
    day_list = [(start + timedelta(days=i)).strftime("%Y-%m-%d") for i in range(days)]
    return [(d, int(counts.get(d, 0))) for d in day_list]


def group_labels(session: Session) -> dict[str, str]:
    """Group id (as the votes frame writes it) -> group name."""
    return {str(g.id): g.name for g in session.scalars(select(Group))}


def compute(session: Session, group_ids: list[int] | None = None) -> dict:
    """Every dashboard number for a scope (None: all groups), uncached; `seconds` says how long it took."""
    started = time.perf_counter()
    votes = member_votes(session, group_ids)
    names = group_labels(session)
    overall = agreement_of(votes, "overall")
    per_group = [agreement_of(part, names.get(key, key or "-"))
                 for key, part in votes.groupby("group", sort=True)] if not votes.empty else []
    per_group.sort(key=lambda a: (len(a.label), a.label))
    return {
        "overall": overall,
        "groups": per_group,
        "weeks": weekly_agreement(votes),
        "escalation": escalation(session, group_ids),
        "per_day": votes_per_day(session, group_ids),
        "seconds": time.perf_counter() - started,
    }


_cache: dict[tuple, tuple[float, dict]] = {}
_lock = threading.Lock()


def state_key(session: Session) -> tuple:
    """What changes whenever a vote is added: the number of votes and the highest vote id."""
    count, top = session.execute(select(func.count(Vote.id), func.max(Vote.id))).one()
    return int(count or 0), int(top or 0)


def dashboard(session: Session, group_ids: list[int] | None = None, *, ttl_s: float = CACHE_TTL_S) -> dict:
    """`compute` for a scope, reused for up to `ttl_s` seconds while no vote was added (same count and max id)."""
    key = (str(session.get_bind().url), tuple(group_ids) if group_ids is not None else None, state_key(session))
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] > now:
            return {**hit[1], "cached": True}
    result = compute(session, group_ids)
    with _lock:
        for stale in [k for k, (until, _v) in _cache.items() if until <= now]:
            del _cache[stale]
        _cache[key] = (now + ttl_s, result)
    return {**result, "cached": False}


def fmt(value: float | None, digits: int = 3) -> str:
    """A statistic for display: fixed decimals, or an em dash when undefined."""
    return "—" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"
