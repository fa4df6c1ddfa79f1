import threading
import uuid

import pytest
from sqlalchemy import func, select

from annotation_app.models import AuditEvent, Resolution, Sample, User, Vote
from annotation_app.services import audit, people, queue
from annotation_app.services.votes import submit_vote
from core.errors import ConflictError, NotFoundError, PermissionDenied

from .conftest import E, F, N, R, S, T, World, build_world


def vote(world: World, username: str, sample: str, adjective: int, confidence: float = 0.7,
         client_id: str | None = None, stage: str | None = None):
    with world.session() as session:
        user = session.get(User, world.users[username])
        result = submit_vote(session, world.settings, user, sample_id=sample, adjective_id=adjective,
                             confidence=confidence, client_id=client_id or uuid.uuid4().hex, stage=stage,
                             watch_s=3.5)
        session.commit()
        return result


def state(world: World, sample: str) -> tuple[str, str, str | None, str | None]:
    with world.session() as session:
        s = session.get(Sample, sample)
        return s.status, s.stage, s.final_category, s.decided_stage


def test_majority_of_members_resolves_at_stage_one(world):
    s0 = world.samples[0]  # group A
    assert vote(world, "a1", s0, F).decision is None
    assert vote(world, "a2", s0, S).decision is None
    result = vote(world, "a3", s0, F)
    assert result.decision.resolved and result.decision.pattern == "2-1"
    assert state(world, s0) == ("resolved", "member", "Fear", "member")
    with world.session() as session:
        res = session.get(Resolution, s0)
        assert (res.final_category, res.decided_stage, res.pattern, res.vote_id) == (
            "Fear", "member", "2-1", result.vote.id)


def test_full_ladder_leader_exchange_expert(world):
    s0, s1 = world.samples[:2]  # group A; partner of A is B
    for name, adj in (("a1", F), ("a2", S), ("a3", T)):
        vote(world, name, s0, adj)
        vote(world, name, s1, adj)
    assert state(world, s0)[:2] == ("open", "leader")
    # the leader agrees with one member: 2-1-1 resolves at the leader stage
    assert vote(world, "alead", s0, S).decision.pattern == "2-1-1"
    assert state(world, s0) == ("resolved", "leader", "Sadness", "leader")
    # a fourth category goes to the leader of group B
    assert vote(world, "alead", s1, N).decision.next_stage == "exchange"
    with pytest.raises(NotFoundError):
        vote(world, "clead", s1, N)  # C is not A's exchange partner
    with pytest.raises(PermissionDenied):
        vote(world, "alead", s1, N, stage="exchange")
    assert vote(world, "blead", s1, R).decision.next_stage == "expert"
    assert state(world, s1)[:2] == ("open", "expert")
    result = vote(world, "expert", s1, E)
    assert result.decision.pattern == "1-1-1-1-1-1"
    assert state(world, s1) == ("resolved", "expert", "Excitation", "expert")
    with world.session() as session:
        actions = [e.action for e in audit.events(session, entity="sample", entity_id=s1)]
    assert actions == ["vote.created"] * 3 + ["sample.escalated", "vote.created", "sample.escalated",
                                                "vote.created", "sample.escalated", "vote.created",
                                                "sample.resolved"]


def test_exchange_vote_resolves_2_1_1_1(world):
    s2 = world.samples[2]  # group B; partner of B is C
    for name, adj in (("b1", F), ("b2", S), ("b3", T), ("blead", N)):
        vote(world, name, s2, adj)
    result = vote(world, "clead", s2, T)
    assert result.decision.pattern == "2-1-1-1"
    assert state(world, s2) == ("resolved", "exchange", "Tension", "exchange")
    with world.session() as session:
        v = session.scalar(select(Vote).where(Vote.sample_id == s2, Vote.stage == "exchange"))
        assert (v.role, v.group_id) == ("leader", session.scalar(
            select(people.Group.id).where(people.Group.name == "C")))


def test_idempotent_resubmission_and_409_on_a_different_second_vote(world):
    s0 = world.samples[0]
    first = vote(world, "a1", s0, F, 0.8, client_id="c-1")
    again = vote(world, "a1", s0, F, 0.8, client_id="c-1")
    assert first.created and not again.created and again.vote.id == first.vote.id
    # the same vote under a new submission id (double click in two tabs) is still one vote
    assert vote(world, "a1", s0, F, 0.8).vote.id == first.vote.id
    with pytest.raises(ConflictError, match="already voted"):
        vote(world, "a1", s0, S, 0.8)
    with pytest.raises(ConflictError, match="already used"):
        vote(world, "a1", s0, S, 0.8, client_id="c-1")
    with pytest.raises(ConflictError, match="already used"):
        vote(world, "a1", world.samples[1], F, 0.8, client_id="c-1")
    with world.session() as session:
        assert session.scalar(select(func.count()).select_from(Vote)) == 1


def test_outside_group_is_not_found_and_wrong_role_is_forbidden(world):
    s0 = world.samples[0]  # group A
    with pytest.raises(NotFoundError):
        vote(world, "b1", s0, F)
    with pytest.raises(NotFoundError):
        vote(world, "a1", "no-such-sample", F)
    with pytest.raises(PermissionDenied):
        vote(world, "alead", s0, F, stage="member")  # the leader does not vote at the member stage
    with pytest.raises(PermissionDenied):
        vote(world, "expert", s0, F, stage="member")
    with pytest.raises(ConflictError, match="not open"):
        vote(world, "alead", s0, F)  # the leader stage is not open yet
    with pytest.raises(NotFoundError):
        vote(world, "blead", s0, F)  # the exchange leader sees the sample only from the exchange stage on


def test_closed_stage_and_resolved_sample_conflict(world):
    s0 = world.samples[0]
    for name, adj in (("a1", F), ("a2", F), ("a3", F)):
        vote(world, name, s0, adj)
    with pytest.raises(ConflictError, match="already resolved"):
        vote(world, "alead", s0, F)


def test_queue_serves_leased_task_again_and_skips_voted(world):
    with world.session() as session:
        a1 = session.get(User, world.users["a1"])
        first = queue.next_task(session, a1, world.settings)
        session.commit()
        assert first.id == world.samples[0]
        assert queue.next_task(session, a1, world.settings).id == first.id  # reload: same task
        session.commit()
    vote(world, "a1", world.samples[0], F)
    with world.session() as session:
        a1 = session.get(User, world.users["a1"])
        assert queue.next_task(session, a1, world.settings).id == world.samples[1]
        b1 = session.get(User, world.users["b1"])
        assert queue.next_task(session, b1, world.settings).id == world.samples[2]
        lead = session.get(User, world.users["alead"])
        assert queue.next_task(session, lead, world.settings) is None  # nothing escalated yet


def test_fourth_member_gets_no_seat_while_three_leases_are_live(world):
    s0 = world.samples[0]
    with world.session() as session:
        extra = people.create_user(session, "a4", "member")
        people.assign(session, extra, people.group_by_name(session, "A"))
        session.commit()
        world.users["a4"] = extra.id
        for name in ("a1", "a2", "a3"):
            assert queue.next_task(session, session.get(User, world.users[name]), world.settings).id == s0
        assert queue.next_task(session, session.get(User, extra.id), world.settings).id == world.samples[1]
        session.commit()


def test_concurrent_third_votes_resolve_once(db_url, tmp_path):
    world = build_world(db_url, tmp_path, samples=6)
    with world.session() as session:
        group = people.group_by_name(session, "A")
        for name in ("a4", "a5"):
            user = people.create_user(session, name, "member")
            people.assign(session, user, group)
            world.users[name] = user.id
        session.commit()
    targets = world.samples[:2]
    for s in targets:
        vote(world, "a1", s, F)
        vote(world, "a2", s, S)
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def racer(name: str, sample: str, adj: int) -> None:
        barrier.wait()
        try:
            vote(world, name, sample, adj)
            outcomes.append("ok")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=racer, args=(n, s, adj))
               for s in targets for n, adj in (("a3", F), ("a4", S), ("a5", F))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 4 + ["ok"] * 2
    with world.session() as session:
        for s in targets:
            assert session.scalar(select(func.count()).select_from(Vote).where(Vote.sample_id == s)) == 3
            assert session.scalar(select(func.count()).select_from(Resolution)
                                  .where(Resolution.sample_id == s)) == 1
            resolved = session.scalars(select(AuditEvent).where(AuditEvent.entity_id == s,
                                                                AuditEvent.action == "sample.resolved")).all()
            assert len(resolved) == 1
    world.factory.kw["bind"].dispose()


def test_audit_log_is_append_only(world):
    vote(world, "a1", world.samples[0], F)
    with world.session() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "vote.created"))
        event.action = "tampered"
        with pytest.raises(RuntimeError, match="append-only"):
            session.flush()
        session.rollback()
        session.delete(session.get(AuditEvent, event.id))
        with pytest.raises(RuntimeError, match="append-only"):
            session.flush()


def test_correction_is_a_new_revision_and_counts_instead(world):
    from annotation_app.services.export import votes_frame
    from annotation_app.services.votes import correct_vote

    s0 = world.samples[0]
    first = vote(world, "a1", s0, F)
    with world.session() as session:
        a1 = session.get(User, world.users["a1"])
        fixed = correct_vote(session, world.settings, a1, vote_id=first.vote.id, adjective_id=S, confidence=0.9,
                             client_id="fix-1", reason="misclick")
        session.commit()
        again = correct_vote(session, world.settings, a1, vote_id=first.vote.id, adjective_id=S, confidence=0.9,
                             client_id="fix-1")
        assert fixed.vote.revision == 2 and not again.created and again.vote.id == fixed.vote.id
        with pytest.raises(NotFoundError):
            correct_vote(session, world.settings, session.get(User, world.users["a2"]), vote_id=first.vote.id,
                         adjective_id=S, confidence=0.9, client_id="fix-2")
    vote(world, "a2", s0, S)
    result = vote(world, "a3", s0, T)
    assert result.decision.resolved and result.decision.category == "Sadness"  # a1's corrected vote counts
    with world.session() as session:
        a1 = session.get(User, world.users["a1"])
        with pytest.raises(ConflictError, match="closed"):
            correct_vote(session, world.settings, a1, vote_id=fixed.vote.id, adjective_id=F, confidence=0.9,
                         client_id="fix-3")
        session.rollback()
        assert len(votes_frame(session)) == 3 and len(votes_frame(session, all_revisions=True)) == 4
        assert [e.action for e in audit.events(session, action="vote.corrected")] == ["vote.corrected"]


def test_a_swap_keeps_submitted_votes_and_frees_the_seat(world):
    s0 = world.samples[0]
    kept = vote(world, "a1", s0, F)
    with world.session() as session:
        a1 = session.get(User, world.users["a1"])
        people.assign(session, a1, people.group_by_name(session, "B"))  # swapped to group B
        newcomer = people.create_user(session, "a9", "member")
        people.assign(session, newcomer, people.group_by_name(session, "A"))
        session.commit()
        world.users["a9"] = newcomer.id
        assert queue.next_task(session, newcomer, world.settings).id == s0
        session.commit()
    vote(world, "a9", s0, F)
    result = vote(world, "a2", s0, S)
    assert result.decision.resolved and result.decision.category == "Fear"  # a1's earlier vote still counts
    with world.session() as session:
        assert session.get(Vote, kept.vote.id).voter_id == world.users["a1"]
        a1 = session.get(User, world.users["a1"])
        with pytest.raises(NotFoundError):
            queue.check_visible(session, a1, world.samples[1], world.settings)  # old group's samples are gone


def test_strict_rule_setting_sends_2_1_1_up_the_ladder(sqlite_url, world_factory):
    world = world_factory(sqlite_url, app_vote_rule="strict")
    s0 = world.samples[0]
    for name, adj in (("a1", F), ("a2", S), ("a3", T)):
        vote(world, name, s0, adj)
    assert vote(world, "alead", s0, S).decision.next_stage == "exchange"  # 2 of 4 is no strict majority
    assert vote(world, "blead", s0, S).decision.category == "Sadness"     # 3 of 5 is
    assert state(world, s0) == ("resolved", "exchange", "Sadness", "exchange")


def test_the_database_itself_refuses_to_change_the_audit_log(world):
    """Not only the ORM hook: a plain UPDATE or DELETE on the table fails in SQLite and PostgreSQL."""
    from sqlalchemy import text

    vote(world, "a1", world.samples[0], F)
    engine = world.factory.kw["bind"]
    for statement in ("UPDATE audit_events SET action = 'tampered'", "DELETE FROM audit_events"):
        with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    with world.session() as session:
        assert session.scalar(select(AuditEvent.action).where(AuditEvent.action == "vote.created")) == "vote.created"


def test_sixty_reports_from_one_member_leave_one_open_report(world):
    from annotation_app.models import Report
    from annotation_app.services import reviews

    s0 = world.samples[0]
    with world.session() as session:
        a1 = session.get(User, world.users["a1"])
        ids = {reviews.report_sample(session, world.settings, a1, s0, "broken", f"note {i % 3}").id
               for i in range(60)}
        session.commit()
        reports = list(session.scalars(select(Report).where(Report.sample_id == s0)))
    assert len(ids) == 1 and len(reports) == 1
    assert (reports[0].reason, reports[0].note) == ("broken", "note 0\nnote 1\nnote 2")
