"""A PostgreSQL-backed crawl frontier shared by workers on several machines (SQLAlchemy Core, SKIP LOCKED).

Workers share nothing but the output store and this database: each discovers (inserting references
idempotently), then claims pending items one at a time with `FOR UPDATE SKIP LOCKED`, so no item is
handed to two workers; an item claimed by a worker that died is offered again after the lease. Content
dedupe across workers goes through a claims table keyed by sha256.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    create_engine,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import OperationalError

from core.errors import DatabaseError
from core.records import VideoRef
from crawler.sources import ref_key

if TYPE_CHECKING:
    from crawler.recipe import CrawlRecipe
    from crawler.sources import SourceContext
    from crawler.state import CrawlState

metadata = MetaData()
frontier = Table(
    "crawl_frontier", metadata,
    Column("run", String(200), primary_key=True),
    Column("key", Text, primary_key=True),
    Column("seq", BigInteger, Identity(), nullable=False),
    Column("ref", Text, nullable=False),
    Column("status", String(16), nullable=False, server_default="pending"),  # pending, claimed, done
    Column("result", String(16)),  # downloaded, failed, skipped, done
    Column("claimed_by", String(64)),
    Column("claimed_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, server_default="0"),
)
claims = Table(
    "crawl_claims", metadata,
    Column("run", String(200), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("value", Text, primary_key=True),
    Column("owner", Text, nullable=False),
)


def engine_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgresql:// URLs."""
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


class Frontier:
    """The shared queue of one run (rows are namespaced by `run`, so one database serves many crawls)."""

    def __init__(self, url: str, run: str, worker: str, lease_s: float = 600.0) -> None:
        self.engine = create_engine(engine_url(url), pool_pre_ping=True, pool_size=8)
        self.run, self.worker, self.lease = run, worker, timedelta(seconds=lease_s)
        try:
            with self.engine.begin() as conn:  # one creator at a time: DDL races fail otherwise
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(b"crawl_frontier")})
                metadata.create_all(conn, checkfirst=True)
        except OperationalError as exc:
            first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise DatabaseError(f"crawl frontier database unreachable: {first}",
                                remedy="check --frontier / frontier_url and that PostgreSQL is running") from None

    def close(self) -> None:
        self.engine.dispose()

    def add(self, refs: list[VideoRef]) -> int:
        """Insert references not yet known to the run; returns how many were new."""
        if not refs:
            return 0
        rows = [{"run": self.run, "key": ref_key(r), "ref": r.model_dump_json()} for r in refs]
        stmt = insert(frontier).values(rows).on_conflict_do_nothing().returning(frontier.c.key)
        with self.engine.begin() as conn:
            return len(conn.execute(stmt).all())

    def claim(self) -> VideoRef | None:
        """Take the oldest pending item (or one whose lease expired) for this worker; None when none is left."""
        f = frontier.c
        expired = and_(f.status == "claimed", f.claimed_at < func.now() - self.lease)
        pick = (select(f.run, f.key).where(f.run == self.run, or_(f.status == "pending", expired))
                .order_by(f.seq).limit(1).with_for_update(skip_locked=True).cte("pick"))
        stmt = (update(frontier)
                .where(f.run == pick.c.run, f.key == pick.c.key)
                .values(status="claimed", claimed_by=self.worker, claimed_at=func.now(), attempts=f.attempts + 1)
                .returning(f.ref))
        with self.engine.begin() as conn:
            row = conn.execute(stmt).first()
        return VideoRef.model_validate_json(row[0]) if row else None

    def finish(self, key: str, result: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(frontier).where(frontier.c.run == self.run, frontier.c.key == key)
                         .values(status="done", result=result))

    def release(self) -> int:
        """Hand this worker's unfinished claims back (on a clean stop)."""
        f = frontier.c
        with self.engine.begin() as conn:
            result = conn.execute(update(frontier).where(f.run == self.run, f.claimed_by == self.worker,
                                                         f.status == "claimed").values(status="pending"))
            return result.rowcount or 0

    def claim_key(self, kind: str, value: str, owner: str) -> str | None:
        """Reserve `value` (e.g. a sha256) for `owner`; returns the earlier owner when someone had it."""
        stmt = (insert(claims).values(run=self.run, kind=kind, value=value, owner=owner)
                .on_conflict_do_nothing().returning(claims.c.owner))
        with self.engine.begin() as conn:
            if conn.execute(stmt).first() is not None:
                return None
            holder = conn.execute(select(claims.c.owner).where(
                claims.c.run == self.run, claims.c.kind == kind, claims.c.value == value)).scalar_one()
        return None if holder == owner else holder

    def counts(self) -> dict[str, int]:
        """Items by status (pending/claimed) and by result for done ones."""
        f = frontier.c
        label = func.coalesce(f.result, f.status)
        with self.engine.connect() as conn:
            rows = conn.execute(select(label, func.count()).where(f.run == self.run).group_by(label)).all()
        return {str(k): int(v) for k, v in rows}


class FrontierQueue:
    """The runner's work queue backed by a Frontier: discover into it, then claim until it is empty."""

    def __init__(self, recipe: CrawlRecipe, ctx: SourceContext, state: CrawlState) -> None:
        from crawler.sources import get_source

        assert recipe.frontier_url is not None
        self.source = get_source(recipe.source)
        self.ctx = ctx
        self.frontier = Frontier(recipe.frontier_url, run=recipe.out.resolve().name or "crawl",
                                 worker=recipe.worker_id, lease_s=recipe.lease_s)

    def refs(self) -> Iterator[VideoRef]:
        batch: list[VideoRef] = []
        for ref in self.source.discover(self.ctx):
            batch.append(ref)
            if len(batch) >= 100:
                self.frontier.add(batch)
                batch = []
        self.frontier.add(batch)
        while (ref := self.frontier.claim()) is not None:
            yield ref

    def finish(self, ref: VideoRef, status: str) -> None:
        self.frontier.finish(ref_key(ref), status)

    def claim_key(self, kind: str, value: str, owner: str) -> str | None:
        return self.frontier.claim_key(kind, value, owner)

    def close(self) -> None:
        self.frontier.release()
        self.frontier.close()
