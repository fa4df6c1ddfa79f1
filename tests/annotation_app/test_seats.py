"""Seats: one seat, one annotator; served leases are always votable; refusals only for real reasons, each coded."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update

from annotation_app.models import Sample, Seat, User, Vote, utcnow
from annotation_app.services import auth, people, queue, reviews, seats
from annotation_app.services.votes import submit_vote
from core import migrate
from core.errors import AppError, ConflictError

from .conftest import ADJ, F, S, T, World, build_world, post_vote, write_manifest


def _user(session, world: World, name: str) -> User:
    return session.get(User, world.users[name])


def _next(world: World, name: str) -> str | None:
    with world.session() as session:
        sample = queue.next_task(session, _user(session, world, name), world.settings)
        session.commit()
        return sample.id if sample else None


def _vote(world: World, name: str, sample_id: str, adjective: int = F):
    with world.session() as session:
        result = submit_vote(session, world.settings, _user(session, world, name), sample_id=sample_id,
                             adjective_id=adjective, confidence=0.5, client_id=uuid.uuid4().hex)
        session.commit()
        return result


def _refusal(world: World, name: str, sample_id: str, adjective: int = F) -> tuple[str, str]:
    with pytest.raises(AppError) as caught:
        _vote(world, name, sample_id, adjective)
    return type(caught.value).__name__, caught.value.code


def _add_members(world: World, group: str, names: list[str]) -> None:
    with world.session() as session:
        target = people.group_by_name(session, group)
        for name in names:
            user = people.create_user(session, name, "member")
            people.assign(session, user, target)
            world.users[name] = user.id
        session.commit()


def _expire(world: World, name: str, sample_id: str) -> None:
    with world.session() as session:
        session.execute(update(Seat).where(Seat.sample_id == sample_id, Seat.holder_id == world.users[name])
                        .values(lease_until=utcnow() - timedelta(seconds=1)))
        session.commit()


def test_a_sample_has_as_many_holders_as_seats_and_the_fourth_member_gets_the_next(world):
    _add_members(world, "A", ["a4", "a5"])
    s0, s1 = world.samples[:2]
    served = {name: _next(world, name) for name in ("a1", "a2", "a3", "a4", "a5")}
    assert served == {"a1": s0, "a2": s0, "a3": s0, "a4": s1, "a5": s1}
    assert _next(world, "a1") == s0  # a reload gives back the seat one holds
    with world.session() as session:
        holders = session.execute(select(Seat.seat_no, Seat.holder_id).where(Seat.sample_id == s0)
                                  .order_by(Seat.seat_no)).all()
    assert holders == [(0, world.users["a1"]), (1, world.users["a2"]), (2, world.users["a3"])]
    for name in ("a1", "a2", "a3"):
        assert _vote(world, name, s0, {"a1": F, "a2": F, "a3": S}[name]).created
    with world.session() as session:
        sample = session.get(Sample, s0)
        assert (sample.status, sample.final_category) == ("resolved", "Fear")
        assert session.scalar(select(func.count()).select_from(Seat).where(
            Seat.sample_id == s0, Seat.closed_at.is_(None))) == 0


def test_a_served_lease_is_votable_whatever_the_others_do(world):
    _add_members(world, "A", ["a4"])
    s0 = world.samples[0]
    assert [_next(world, n) for n in ("a1", "a2", "a3")] == [s0] * 3
    # a4 tries to vote on s0 directly, without being served: every seat is held
    assert _refusal(world, "a4", s0) == ("ConflictError", "no_free_seat")
    # the three holders vote in any order; none is refused
    for name, adj in (("a3", T), ("a1", F), ("a2", S)):
        assert _vote(world, name, s0, adj).created
    with world.session() as session:
        assert session.get(Sample, s0).stage == "leader"  # 1-1-1 moves up a rung with its one leader seat
        assert session.scalar(select(func.count()).select_from(Seat).where(
            Seat.sample_id == s0, Seat.stage == "leader", Seat.closed_at.is_(None))) == 1


def test_expired_lease_taken_over_is_refused_and_free_one_accepted(world):
    _add_members(world, "A", ["a4"])
    s0 = world.samples[0]
    for name in ("a1", "a2", "a3"):
        assert _next(world, name) == s0
    _expire(world, "a1", s0)
    # lapsed but nobody took it: still a1's (renewable and votable)
    with world.session() as session:
        assert queue.renew_lease(session, _user(session, world, "a1"), s0, world.settings) > utcnow()
        session.commit()
    _expire(world, "a1", s0)
    assert _next(world, "a4") == s0  # a4 takes over a1's lapsed seat
    assert _refusal(world, "a1", s0) == ("ConflictError", "lease_expired")
    with world.session() as session, pytest.raises(ConflictError) as renewal:
        queue.renew_lease(session, _user(session, world, "a1"), s0, world.settings)
    assert renewal.value.code == "lease_expired"
    assert _vote(world, "a4", s0).created
    # a2's lease lapses while nobody wants the seat: the vote is accepted
    _expire(world, "a2", s0)
    assert _vote(world, "a2", s0).created
    assert _vote(world, "a3", s0).created
    with world.session() as session:
        voters = set(session.scalars(select(Vote.voter_id).where(Vote.sample_id == s0)))
    assert voters == {world.users[n] for n in ("a2", "a3", "a4")}


def test_refusals_have_their_own_codes(world):
    s0, s1 = world.samples[:2]
    for name in ("a1", "a2"):
        assert _next(world, name) == s0
    assert _vote(world, "a1", s0, F).created
    assert _refusal(world, "a1", s0, S) == ("ConflictError", "already_voted")
    # the leader excludes s0 on a3's report: a2's served seat is closed, their vote refused as excluded
    with world.session() as session:
        report = reviews.report_sample(session, world.settings, _user(session, world, "a3"), s0, "broken")
        session.flush()
        reviews.handle_report(session, _user(session, world, "alead"), report.id, "exclude")
        session.commit()
    assert _refusal(world, "a2", s0) == ("ConflictError", "sample_excluded")
    # a2 is moved to group B while holding s1: the seat goes back, the vote is refused as a move
    assert _next(world, "a2") == s1
    with world.session() as session:
        people.assign(session, _user(session, world, "a2"), people.group_by_name(session, "B"))
        session.commit()
        assert session.scalar(select(func.count()).select_from(Seat).where(
            Seat.holder_id == world.users["a2"], Seat.closed_at.is_(None))) == 0
    assert _refusal(world, "a2", s1) == ("PermissionDenied", "moved_group")
    assert _refusal(world, "b1", s1) == ("NotFoundError", "not_found")  # never in A: nothing to see


def test_skip_sets_a_clip_aside_and_logout_gives_seats_back(world):
    s0, s1 = world.samples[:2]
    assert _next(world, "a1") == s0
    with world.session() as session:
        assert queue.release(session, _user(session, world, "a1"), s0, skip=True) == 1
        session.commit()
    assert _next(world, "a1") == s1  # the skipped clip waits
    assert _vote(world, "a1", s1).created
    assert _next(world, "a1") == s0  # nothing else left: it comes back
    with world.session() as session:
        auth.end_sessions(session, world.users["a1"])
        session.commit()
        assert session.scalar(select(func.count()).select_from(Seat).where(
            Seat.holder_id == world.users["a1"], Seat.closed_at.is_(None))) == 0


def test_lease_and_release_through_the_api(world, client_of):
    s0 = world.samples[0]
    a1, a2 = client_of(world, "a1"), client_of(world, "a2")
    task = a1.get("/api/tasks/next").json()["task"]
    assert task["sample_id"] == s0 and task["lease_s"] == world.settings.app_lease_s
    renewed = a1.post(f"/api/tasks/{s0}/lease")
    assert renewed.status_code == 200 and renewed.json()["sample_id"] == s0
    refused = a2.post(f"/api/tasks/{s0}/lease")  # a2 holds no seat of s0
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_served"
    assert a1.post(f"/api/tasks/{s0}/release").json() == {"sample_id": s0, "released": 1}
    assert a1.post(f"/api/tasks/{s0}/release").json() == {"sample_id": s0, "released": 0}
    with world.session() as session:
        session.execute(update(Sample).where(Sample.id == s0).values(status="excluded"))
        session.commit()
    r = post_vote(a1, s0, F)
    assert r.status_code == 409 and r.json()["error"]["code"] == "sample_excluded"


def _invariant_breaches(world: World) -> list[tuple]:
    """(sample, stage, votes, live holders) where votes + live leases exceed the rung's seats."""
    now = utcnow()
    with world.session() as session:
        votes = Counter((s, st) for s, st, _ in session.execute(
            select(Vote.sample_id, Vote.stage, Vote.voter_id).where(Vote.stage != "crosscheck").distinct()))
        live = Counter((s, st) for s, st in session.execute(
            select(Seat.sample_id, Seat.stage).where(Seat.closed_at.is_(None), Seat.holder_id.is_not(None),
                                                     Seat.lease_until > now)))
    return [(s, st, votes[(s, st)], live[(s, st)]) for s, st in set(votes) | set(live)
            if votes[(s, st)] + live[(s, st)] > seats.rung_size(st, world.settings.app_members_per_sample)]


@pytest.mark.slow
def test_fifty_members_of_one_group_race_for_seats(db_url, tmp_path):
    """50 threads of one group ask for work at once, vote, repeat; leaders, exchange leader and expert join."""
    world = build_world(db_url, tmp_path, samples=0)
    members = [f"m{i:02d}" for i in range(47)]
    _add_members(world, "A", members)
    with world.session() as session:
        importer_manifest = write_manifest(tmp_path / "many", 60, size=256)
        from annotation_app.services import importer

        importer.import_manifest(session, importer_manifest)
        importer.distribute(session, 60, group_names=["A"])
        session.commit()
    names = ["a1", "a2", "a3", *members]
    served: dict[tuple[str, str], set[str]] = defaultdict(set)
    problems: list[str] = []
    breaches: list[tuple] = []
    lock = threading.Lock()
    start = threading.Barrier(len(names) + 4)  # members, three reviewers, the watcher
    members_done = threading.Event()

    def work(name: str, leader: bool) -> None:
        rng = random.Random(name)
        start.wait()
        idle = 0
        while idle < 3:
            try:
                with world.session() as session:
                    user = _user(session, world, name)
                    sample = queue.next_task(session, user, world.settings)
                    stage = sample.stage if sample else None
                    session.commit()
                if sample is None:
                    if leader and not members_done.is_set():
                        time.sleep(0.05)
                        continue
                    idle += 1
                    time.sleep(0.02)
                    continue
                idle = 0
                with lock:
                    if name in served[(sample.id, stage)]:
                        problems.append(f"{name} served {sample.id}/{stage} twice")
                    served[(sample.id, stage)].add(name)
                adjective = rng.choice([ADJ[c] for c in list(ADJ)[:3]])
                _vote(world, name, sample.id, adjective)
            except Exception as exc:  # collected and reported below
                with lock:
                    problems.append(f"{name}: {type(exc).__name__}: {exc}")
                return

    def watch() -> None:
        start.wait()
        while not members_done.is_set():
            breaches.extend(_invariant_breaches(world))
            time.sleep(0.05)

    threads = [threading.Thread(target=work, args=(n, False)) for n in names]
    threads += [threading.Thread(target=work, args=(n, True)) for n in ("alead", "blead", "expert")]
    watcher = threading.Thread(target=watch, daemon=True)
    for t in [*threads, watcher]:
        t.start()
    for t in threads[:len(names)]:
        t.join(300)
    members_done.set()
    for t in [*threads, watcher]:
        t.join(300)
    assert problems == []  # no served lease was refused, nobody got the same rung twice
    assert breaches == []
    over = {key: who for key, who in served.items()
            if len(who) > seats.rung_size(key[1], world.settings.app_members_per_sample)}
    assert over == {}
    with world.session() as session:
        open_left = session.scalar(select(func.count()).select_from(Sample).where(Sample.status == "open"))
        member_votes = session.scalar(select(func.count()).select_from(Vote).where(Vote.stage == "member"))
    assert open_left == 0 and member_votes == 60 * 3  # every sample resolved; each member rung had 3 votes
    world.factory.kw["bind"].dispose()


def test_migration_gives_open_samples_the_seats_of_their_rung(sqlite_url, tmp_path):
    """A database from before seats: votes become closed seats, live leases held seats, the rest free."""
    migrate.upgrade(sqlite_url, "0002_session_epoch")
    from core.db import make_engine

    engine = make_engine(sqlite_url)
    now, later = utcnow(), utcnow() + timedelta(hours=1)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO projects (id, name, created_at) VALUES (1, 'default', :t)"), {"t": now})
        conn.execute(text("INSERT INTO groups (id, project_id, name) VALUES (1, 1, 'A')"))
        for uid in (1, 2, 3):
            conn.execute(text("INSERT INTO users (id, username, display_name, role, language, active, created_at, "
                              "session_epoch) VALUES (:id, :n, :n, 'member', 'en', 1, :t, 0)"),
                         {"id": uid, "n": f"u{uid}", "t": now})
        for seq, (sid, status) in enumerate((("x0", "open"), ("x1", "resolved"), ("x2", "open")), start=1):
            conn.execute(text("INSERT INTO samples (id, project_id, seq, kind, group_id, media_path, source_path, "
                              "stage, status, version, imported_at) VALUES (:id, 1, :seq, 'task', 1, 'm', '', "
                              "'member', :st, 0, :t)"), {"id": sid, "seq": seq, "st": status, "t": now})
        conn.execute(text("INSERT INTO votes (id, client_id, sample_id, voter_id, stage, role, adjective_id, "
                          "category, confidence, revision, created_at) VALUES (7, 'c7', 'x0', 1, 'member', 'member', "
                          ":adj, 'Fear', 0.5, 1, :t)"), {"adj": F, "t": now})
        conn.execute(text("INSERT INTO assignments (sample_id, user_id, stage, served_at, lease_until) VALUES "
                          "('x0', 2, 'member', :t, :later), ('x0', 3, 'member', :t, :past)"),
                     {"t": now, "later": later, "past": now - timedelta(hours=1)})
    engine.dispose()
    migrate.upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT sample_id, seat_no, holder_id, vote_id, closed_at IS NOT NULL FROM seats "
                                 "ORDER BY sample_id, seat_no")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("x0", 0, 1, 7, 1), ("x0", 1, 2, None, 0), ("x0", 2, None, None, 0),
                                        ("x2", 0, None, None, 0), ("x2", 1, None, None, 0),
                                        ("x2", 2, None, None, 0)]
