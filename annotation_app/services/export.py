"""Taking results out: tidy vote and label tables (pandas), CSV + Parquet export, and progress counts.

`votes_frame(session)` is the entry point for other stages (QA): one row per stored vote with columns
sample_id, voter, role, group, stage, adjective_id, category, confidence, created_at, watch_s.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from annotation_app.models import Group, Sample, User, Vote
from annotation_app.services.audit_queue import audit_frame
from core.db import make_engine, session_factory, session_scope

if TYPE_CHECKING:
    import pandas as pd

VOTE_COLUMNS = ("sample_id", "voter", "role", "group", "stage", "adjective_id", "category", "confidence",
                "created_at", "watch_s")
LABEL_COLUMNS = ("sample_id", "status", "final_category", "decided_stage")


def votes_frame(session: Session, *, all_revisions: bool = False) -> pd.DataFrame:
    """Every vote (all stages) as a tidy table, oldest first; a corrected vote appears as its newest revision.

    voter: user name; role: the voter's role in that vote (member, leader, expert); group: the voter's
    group when voting ('' for experts); stage: member, leader, exchange or expert; created_at: UTC;
    watch_s: seconds of the clip the voter watched (None when the client did not say).
    `all_revisions=True` keeps superseded revisions too.
    """
    import pandas as pd

    voter_group = aliased(Group)
    newer = aliased(Vote)
    query = (select(Vote.sample_id, User.username, Vote.role, voter_group.name, Vote.stage, Vote.adjective_id,
                    Vote.category, Vote.confidence, Vote.created_at, Vote.watch_s)
             .join(User, User.id == Vote.voter_id)
             .outerjoin(voter_group, voter_group.id == Vote.group_id)
             .order_by(Vote.id))
    if not all_revisions:
        query = query.where(~exists().where(newer.sample_id == Vote.sample_id, newer.voter_id == Vote.voter_id,
                                            newer.stage == Vote.stage, newer.revision > Vote.revision))
    rows = session.execute(query).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(VOTE_COLUMNS))
    frame["group"] = frame["group"].fillna("").astype(str)
    frame["adjective_id"] = frame["adjective_id"].astype("int64")
    frame["confidence"] = frame["confidence"].astype("float64")
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    frame["watch_s"] = frame["watch_s"].astype("float64")
    return frame


def labels_frame(session: Session) -> pd.DataFrame:
    """One row per task sample: status (open, resolved, excluded), final_category and decided_stage."""
    import pandas as pd

    rows = session.execute(select(Sample.id, Sample.status, Sample.final_category, Sample.decided_stage)
                           .where(Sample.kind == "task").order_by(Sample.seq)).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=list(LABEL_COLUMNS))
    return frame.astype({"final_category": "string", "decided_stage": "string"})


def load_votes(database_url: str) -> pd.DataFrame:
    """`votes_frame` for a database URL (opens and closes its own connection)."""
    engine = make_engine(database_url)
    try:
        with session_scope(session_factory(engine)) as session:
            return votes_frame(session)
    finally:
        engine.dispose()


def export(session: Session, out_dir: Path | str) -> dict[str, Path]:
    """Write votes, labels and audit (decided audit reviews) as CSV and Parquet into `out_dir`; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, frame in (("votes", votes_frame(session)), ("labels", labels_frame(session)),
                        ("audit", audit_frame(session))):
        csv_frame = frame
        for column in ("created_at", "decided_at"):
            if column in frame.columns:
                csv_frame = csv_frame.copy()
                csv_frame[column] = csv_frame[column].map(lambda t: t.isoformat())
        for suffix, write in ((".csv", lambda f, p: f.to_csv(p, index=False)),
                              (".parquet", lambda f, p: f.to_parquet(p, index=False))):
            path = out / f"{name}{suffix}"
            tmp = path.with_name(f".{path.name}.part")
            write(csv_frame if suffix == ".csv" else frame, tmp)
            tmp.replace(path)
            written[path.name] = path
    return written


def progress(session: Session) -> dict:
    """Counts for dashboards: samples by group and state, and votes per person."""
    by_group: dict[str, dict[str, int]] = {}
    group_names = {g.id: g.name for g in session.scalars(select(Group))}
    for group_id, status, stage, count in session.execute(
        select(Sample.group_id, Sample.status, Sample.stage, func.count())
        .where(Sample.kind == "task").group_by(Sample.group_id, Sample.status, Sample.stage)
    ):
        name = group_names.get(group_id, "-") if group_id is not None else "undistributed"
        key = status if status != "open" else f"open:{stage}"
        slot = by_group.setdefault(name, {})
        slot[key] = slot.get(key, 0) + count
        slot["total"] = slot.get("total", 0) + count
    per_person = {name: n for name, n in session.execute(
        select(User.username, func.count(Vote.id)).join(Vote, Vote.voter_id == User.id).group_by(User.username))}
    return {"groups": dict(sorted(by_group.items())), "votes_per_person": dict(sorted(per_person.items()))}
