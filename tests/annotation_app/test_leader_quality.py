"""Leader page and quality dashboard: member stats and drift, the disagreement view's visibility, reports per
sample, progress and the finish estimate, and the dashboard's agreement equal to `emotions qa kappa`."""

from __future__ import annotations

import json
import math
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from annotation_app.models import Group, Report, Sample, User, Vote
from annotation_app.services import importer, leader_board, member_stats, people, progress, quality, queue, reviews
from annotation_app.services.votes import correct_vote, submit_vote
from core.settings import get_settings

from .conftest import E, F, N, R, S, T, World, write_manifest

HTML = {"Accept": "text/html"}


def vote(world: World, name: str, sample: str, adjective: int, *, stage: str = "member", confidence: float = 0.5,
         watch_s: float | None = None) -> Vote:
    with world.session() as session:
        result = submit_vote(session, world.settings, session.get(User, world.users[name]), sample_id=sample,
                             adjective_id=adjective, confidence=confidence, client_id=uuid.uuid4().hex,
                             watch_s=watch_s, stage=stage)
        session.commit()
        return result.vote


# --- drift ---------------------------------------------------------------------------------------------------

def test_drift_flags_a_significant_drop_of_at_least_ten_points():
    history = [True] * 80 + [False] * 20  # 0.80 over 100 votes
    found = member_stats.drift(history + [True] * 30 + [False] * 20)  # last 50: 0.60
    # pooled p = 110/150; z = 0.2 / sqrt(p (1 - p) (1/100 + 1/50)) = 2.61116
    assert (found.history, found.recent, found.flagged) == (0.8, 0.6, True)
    assert found.z == pytest.approx(2.611165, abs=1e-6)


def test_drift_needs_the_margin_the_test_and_enough_votes():
    small_drop = member_stats.drift([True] * 80 + [False] * 20 + [True] * 36 + [False] * 14)  # 0.80 -> 0.72
    assert (small_drop.recent, small_drop.flagged) == (0.72, False)
    assert small_drop.z == pytest.approx(0.08 / math.sqrt(116 / 150 * 34 / 150 * 0.03), abs=1e-9)
    # a 10-point drop on the shortest history is not significant: z = 0.1 / sqrt(0.75 * 0.25 * 0.04) = 1.1547
    not_significant = member_stats.drift([True] * 40 + [False] * 10 + [True] * 35 + [False] * 15)
    assert not_significant.z == pytest.approx(1.154701, abs=1e-6) and not not_significant.flagged
    # 99 votes: too few for a history of 50 besides the last 50
    too_few = member_stats.drift([True] * 49 + [False] * 50)
    assert (too_few.history, too_few.recent, too_few.flagged) == (None, 0.0, False)
    # a long, perfect history and a 12-point drop: flagged at the margin's far side
    long = member_stats.drift([True] * 400 + [True] * 44 + [False] * 6)
    assert (long.history, long.recent, long.flagged) == (1.0, 0.88, True)


# --- member stats ------------------------------------------------------------------------------------------------

@pytest.fixture
def voted(db_url, world_factory) -> World:
    """Group A has s0, s1, s6, s7 (12 samples in batches of 2). s0 F-F-N -> Fear, s1 N-N-N -> Neutral,
    s6 F-N-S -> leader rung, s7 T, T corrected to F, F -> Fear."""
    world = world_factory(db_url, samples=12)
    s = world.samples
    plan = {"a1": [(s[0], F, 0.2, 2.0), (s[1], N, 0.4, 4.0), (s[6], F, 0.6, 9.0), (s[7], T, 0.8, 1.0)],
            "a2": [(s[0], F, 0.5, None), (s[1], N, 0.5, None), (s[6], N, 0.5, None), (s[7], T, 0.5, None)],
            "a3": [(s[0], N, 0.7, 5.0), (s[1], N, 0.7, 6.0), (s[6], S, 0.7, 7.0)]}
    for name, rows in plan.items():
        for sample, adjective, confidence, watch in rows:
            vote(world, name, sample, adjective, confidence=confidence, watch_s=watch)
    with world.session() as session:
        a2 = session.get(User, world.users["a2"])
        old = session.scalar(select(Vote).where(Vote.voter_id == a2.id, Vote.sample_id == s[7]))
        correct_vote(session, world.settings, a2, vote_id=old.id, adjective_id=F, confidence=0.9,
                     client_id=uuid.uuid4().hex)
        session.commit()
    vote(world, "a3", s[7], F, confidence=0.7, watch_s=8.0)
    return world


def test_member_stats_exact(voted):
    with voted.session() as session:
        group_a = session.get(Sample, voted.samples[0]).group_id
        stats = {m.username: m for m in member_stats.member_stats(session, group_a)}
        assert session.get(Sample, voted.samples[7]).final_category == "Fear"
    a1, a2, a3 = stats["a1"], stats["a2"], stats["a3"]
    assert (a1.votes, a1.resolved_votes, a1.agreement) == (4, 3, 2 / 3)  # s7: Tension against Fear
    assert (a1.median_watch_s, a1.mean_confidence) == (3.0, pytest.approx(0.5))
    assert (a2.votes, a2.resolved_votes, a2.agreement) == (4, 3, 1.0)  # the correction counts, not Tension
    assert (a2.median_watch_s, a2.mean_confidence) == (None, pytest.approx(0.6))  # 0.5, 0.5, 0.5, 0.9
    assert (a3.votes, a3.resolved_votes, a3.agreement) == (4, 3, 2 / 3)
    assert (a3.median_watch_s, a3.mean_confidence) == (6.5, pytest.approx(0.7))
    assert not any(m.drift.flagged for m in stats.values()) and a1.drift.history is None


def test_a_drifting_member_is_flagged_on_the_leader_page(sqlite_url, world_factory, client_of):
    """a1 agreed with the result on 80 of their first 100 resolved samples and on 30 of the last 50."""
    world = world_factory(sqlite_url, samples=0)
    with world.session() as session:
        group_a = _group_of(session, session.get(User, world.users["alead"]))
        group = session.get(Group, group_a)
        for i in range(150):
            agreed = i < 80 or 100 <= i < 130
            session.add(Sample(id=f"d{i:03d}", project_id=group.project_id, seq=i, group_id=group_a, media_path="x",
                               status="resolved", final_category="Fear", decided_stage="member"))
            session.add(Vote(client_id=uuid.uuid4().hex, sample_id=f"d{i:03d}", voter_id=world.users["a1"],
                             stage="member", role="member", group_id=group_a, adjective_id=F if agreed else N,
                             category="Fear" if agreed else "Neutral", confidence=0.5, watch_s=float(i % 7)))
        session.commit()
        a1 = next(m for m in member_stats.member_stats(session, group_a) if m.username == "a1")
    assert (a1.votes, a1.resolved_votes, a1.agreement, a1.median_watch_s) == (150, 150, 110 / 150, 3.0)
    assert (a1.drift.history, a1.drift.recent, a1.drift.flagged) == (0.8, 0.6, True)
    page = client_of(world, "alead").get("/leader", headers=HTML).text
    assert page.count('class="drifting"') == 1 and '<tr data-user="a1" class="drifting">' in page


# --- disagreement view -------------------------------------------------------------------------------------------

def test_disagreement_patterns_show_only_after_the_leader_voted(voted):
    s6 = voted.samples[6]
    with voted.session() as session:
        partner_group = queue.partner_group_id(session, session.get(Sample, s6).group_id, voted.settings)
        partner = next(u for u in session.scalars(select(User).where(User.role == "leader"))
                       if _group_of(session, u) == partner_group)
        alead = session.get(User, voted.users["alead"])
        assert [(d.sample_id, d.stage, d.own_group, d.votes) for d in
                leader_board.disagreements(session, voted.settings, alead)] == [(s6, "leader", True, None)]
        assert leader_board.disagreements(session, voted.settings, partner) == []
    vote(voted, "alead", s6, T, stage="leader")  # F, N, S, T: 1-1-1-1 goes to the exchange rung
    with voted.session() as session:
        alead, partner = session.get(User, voted.users["alead"]), session.get(User, partner.id)
        mine = leader_board.disagreements(session, voted.settings, alead)
        assert [(d.stage, d.pattern, d.votes) for d in mine] == [
            ("exchange", "1-1-1-1", [("Fear", 1), ("Neutral", 1), ("Sadness", 1), ("Tension", 1)])]
        theirs = leader_board.disagreements(session, voted.settings, partner)
        assert [(d.sample_id, d.own_group, d.votes, d.pattern) for d in theirs] == [(s6, False, None, None)]
        partner_name = partner.username
    vote(voted, partner_name, s6, F, stage="exchange")  # 2-1-1-1: resolved, out of the view
    with voted.session() as session:
        assert leader_board.disagreements(session, voted.settings, session.get(User, voted.users["alead"])) == []


def _group_of(session, user: User) -> int | None:
    from annotation_app.services import people

    membership = people.current_membership(session, user.id)
    return membership.group_id if membership else None


# --- reports ---------------------------------------------------------------------------------------------------

def test_reports_are_one_row_per_sample_and_exclude_closes_all(db_url, world_factory, client_of):
    world = world_factory(db_url, samples=6)
    s0, s1 = world.samples[0], world.samples[1]
    with world.session() as session:
        a1, a2 = session.get(User, world.users["a1"]), session.get(User, world.users["a2"])
        for i in range(60):
            reviews.report_sample(session, world.settings, a1, s0, "broken", f"note {i % 2}")
        reviews.report_sample(session, world.settings, a2, s0, "no_audio", "")
        reviews.report_sample(session, world.settings, a1, s1, "other", "fine?")
        reviews.report_sample(session, world.settings, a2, s1, "other", "")
        session.commit()
        open_on_s0 = session.scalars(select(Report.user_id).where(Report.sample_id == s0,
                                                                   Report.handled_at.is_(None))).all()
        assert sorted(open_on_s0) == sorted([world.users["a1"], world.users["a2"]])  # one open report per person
        group_a = session.get(Sample, s0).group_id
        rows = leader_board.reported_samples(session, group_a)
    assert [(r.sample_id, r.reasons, r.notes, r.reporters) for r in rows] == [
        (s0, ["broken", "no_audio"], ["note 0\nnote 1"], ["a1", "a2"]), (s1, ["other"], ["fine?"], ["a1", "a2"])]
    client = client_of(world, "alead")
    page = client.get("/leader", headers=HTML).text
    assert page.count('<article class="report"') == 2 and f'<video src="/media/{s0}"' in page
    assert page.count('class="reporters">') == 2
    assert client.post(f"/leader/samples/{s0}/reports", data={"action": "exclude"}, headers=HTML,
                       follow_redirects=False).status_code == 303
    assert client.post(f"/leader/samples/{s1}/reports", data={"action": "dismiss"}, headers=HTML,
                       follow_redirects=False).status_code == 303
    with world.session() as session:
        assert session.scalar(select(Report).where(Report.handled_at.is_(None))) is None
        assert [session.get(Sample, s).status for s in (s0, s1)] == ["excluded", "open"]
        actions = sorted(session.scalars(select(Report.action).where(Report.sample_id == s0)))
        assert actions == ["exclude", "exclude"]
    assert client.post(f"/leader/samples/{s0}/reports", data={"action": "exclude"}, headers=HTML).status_code == 404
    b_client = client_of(world, "blead")
    with world.session() as session:
        reviews.report_sample(session, world.settings, session.get(User, world.users["a3"]), s1, "broken", "")
        session.commit()
    assert b_client.post(f"/leader/samples/{s1}/reports", data={"action": "exclude"}, headers=HTML).status_code == 403


# --- progress and the finish estimate ---------------------------------------------------------------------------

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def _stamp(world: World, stamps: list[timedelta]) -> None:
    """Date the votes (oldest id first) `NOW - stamp`."""
    with world.session() as session:
        ids = list(session.scalars(select(Vote.id).order_by(Vote.id)))
        for vote_id, ago in zip(ids, stamps, strict=True):
            session.execute(update(Vote).where(Vote.id == vote_id).values(created_at=NOW - ago))
        session.commit()


def test_finish_estimate_exact(db_url, world_factory, tmp_path, client_of):
    world = world_factory(db_url, samples=6)  # A: s0, s1; B: s2, s3; C: s4, s5; 18 member seats
    with world.session() as session:
        importer.import_manifest(session, write_manifest(tmp_path / "more", 2, prefix="u"))  # not dealt
        session.commit()
    s0, s1 = world.samples[0], world.samples[1]
    for name in ("a1", "a2", "a3"):
        vote(world, name, s0, F)  # resolved
    vote(world, "a1", s1, N)
    _stamp(world, [timedelta(days=3), timedelta(days=2), timedelta(days=1), timedelta(hours=1)])
    mps = world.settings.app_members_per_sample
    with world.session() as session:
        group_a = session.get(Sample, s0).group_id
        # 14 open seats + 2 undealt samples x 3 = 20 votes; first vote 3 days ago: 4 votes / 3 days
        overall = progress.scope_progress(session, None, mps, NOW)
        assert (overall.done, overall.total, overall.votes_left) == (1, 8, 20)
        assert overall.rate_per_day == pytest.approx(4 / 3) and overall.days_left == pytest.approx(15.0)
        assert overall.finish(NOW) == datetime(2026, 1, 25, 12, 0, tzinfo=UTC)
        group = progress.scope_progress(session, [group_a], mps, NOW)
        assert (group.done, group.total, group.votes_left, group.days_left) == (1, 2, 2, pytest.approx(1.5))
        assert progress.all_progress(session, mps, NOW)[1][group_a] == group
        a1 = progress.member_progress(session, session.get(User, world.users["a1"]), NOW)
        assert (a1.done, a1.total, a1.votes_left, a1.days_left) == (2, 2, 0, 0.0)
        a2 = progress.member_progress(session, session.get(User, world.users["a2"]), NOW)
        # one vote, 2 days ago: a window of 2 days, 0.5 votes a day, 1 sample left
        assert (a2.done, a2.total, a2.rate_per_day, a2.days_left) == (1, 2, 0.5, 2.0)
        b1 = progress.member_progress(session, session.get(User, world.users["b1"]), NOW)
        assert (b1.done, b1.total, b1.days_left) == (0, 2, None)
        # six members for three seats per sample: b1 can expect half of the group's 2 samples
        group_b = people.group_by_name(session, "B")
        for name in ("b4", "b5", "b6"):
            people.assign(session, people.create_user(session, name, "member"), group_b)
        b1 = progress.member_progress(session, session.get(User, world.users["b1"]), NOW, mps)
        assert (b1.done, b1.total, b1.votes_left) == (0, 1, 1)
        session.rollback()
    # older history: only the last 7 days count, over 7 days
    _stamp(world, [timedelta(days=10), timedelta(days=6), timedelta(days=2), timedelta(hours=1)])
    with world.session() as session:
        later = progress.scope_progress(session, None, mps, NOW)
        assert later.rate_per_day == pytest.approx(3 / 7) and later.days_left == pytest.approx(20 * 7 / 3)
    # the labelling page's header: a2 has done 1 of 2 (zh-Hans: "N / M"); the JavaScript counts on from N
    page = client_of(world, "a2").get("/label", headers=HTML).text
    assert '<span id="nav-progress-done">1</span> / 2 · ' in page


def test_svg_charts_scale_to_their_data():
    from annotation_app.services import charts

    bars = charts.bar_chart([("2026-01-01", 5), ("2026-01-02", 10), ("2026-01-03", 0)], "c", "votes")
    heights = [float(h) for h in re.findall(r'height="([\d.]+)" class="bar"', bars)]
    assert heights == [76.0, 152.0, 0.0]  # 152 px of plot for a top of 10
    line = charts.line_chart([("W1", 0.4), ("W2", None), ("W3", 1.4)], "k", "kappa", low=-0.2, high=1.0)
    assert line.count("<circle") == 2 and "<polyline" not in line  # a gap breaks the line; 1.4 is clipped
    assert 'cy="12.0"' in line and ">-0.2<" in line and ">0.4<" in line


# --- dashboard = emotions qa kappa --------------------------------------------------------------------------------

def _qa_kappa(world: World, monkeypatch, *extra: str) -> dict:
    from qa.cli import qa

    monkeypatch.setenv("EMOTIONS_DATABASE_URL", world.url)
    get_settings.cache_clear()
    result = CliRunner().invoke(qa, ["kappa", "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_dashboard_agreement_equals_qa_kappa(voted, monkeypatch, client_of):
    world = voted
    b, c = world.samples[2], world.samples[4]
    for sample, picks in ((b, (E, E, R)), (world.samples[3], (R, R, R)), (world.samples[8], (S, T, S))):
        for name, adjective in zip(("b1", "b2", "b3"), picks, strict=True):
            vote(world, name, sample, adjective)
    for name, adjective in (("c1", F), ("c2", F)):
        vote(world, name, c, adjective)
    cli = _qa_kappa(world, monkeypatch, "--by", "group")
    with world.session() as session:
        numbers = quality.compute(session)
        names = quality.group_labels(session)
    assert numbers["overall"].kappa == cli["fleiss_kappa"] and numbers["overall"].alpha == cli["krippendorff_alpha"]
    assert (numbers["overall"].items, numbers["overall"].ratings) == (cli["n_items"], cli["n_ratings"]) == (8, 23)
    assert {a.label: (a.kappa, a.alpha) for a in numbers["groups"]} == {
        name: (part["fleiss_kappa"], part["krippendorff_alpha"]) for name, part in cli["by_group"].items()}
    assert set(names.values()) >= set(cli["by_group"]) == {"A", "B", "C"}
    escalation = {row["rung"]: (row["completed"], row["escalated"]) for row in numbers["escalation"]}
    assert escalation == {"member": (7, 1), "leader": (0, 0), "exchange": (0, 0)}  # s6 went up
    assert sum(n for _day, n in numbers["per_day"]) == 24  # 23 counted + a2's first revision of s7
    page = client_of(world, "admin").get("/dashboard", headers=HTML)
    assert f'id="kappa-overall">{cli["fleiss_kappa"]:.3f}<' in page.text
    assert 'id="chart-votes-per-day"' in page.text and 'id="chart-kappa-per-week"' in page.text
    leader_page = client_of(world, "blead").get("/dashboard", headers=HTML).text
    assert f'id="kappa-overall">{cli["by_group"]["B"]["fleiss_kappa"]:.3f}<' in leader_page
    assert client_of(world, "a1").get("/dashboard", headers=HTML).status_code == 403


def test_dashboard_cache_is_keyed_by_the_votes(voted):
    with voted.session() as session:
        first = quality.dashboard(session, ttl_s=60)
        again = quality.dashboard(session, ttl_s=60)
        assert (first["cached"], again["cached"]) == (False, True)
    vote(voted, "b1", voted.samples[2], E)
    with voted.session() as session:
        assert quality.dashboard(session, ttl_s=60)["cached"] is False


def test_weekly_agreement_puts_each_sample_in_the_week_of_its_last_vote():
    import pandas as pd

    from qa.agreement import agreement

    monday = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # ISO week 2026-W49
    rows = [("x", 1, "Fear", monday - timedelta(days=1)), ("x", 2, "Fear", monday - timedelta(days=1)),
            ("y", 1, "Fear", monday - timedelta(days=2)), ("y", 2, "Neutral", monday + timedelta(hours=1)),
            ("z", 1, "Sadness", monday), ("z", 2, "Sadness", monday + timedelta(days=6, hours=14))]
    votes = pd.DataFrame(rows, columns=["item", "rater", "category", "created_at"])
    weeks = quality.weekly_agreement(votes)
    assert [(w.label, w.items, w.ratings) for w in weeks] == [("2026-W48", 1, 2), ("2026-W49", 2, 4)]
    w49 = agreement(votes[votes["item"].isin(["y", "z"])])
    assert (weeks[1].kappa, weeks[1].alpha) == (w49["fleiss_kappa"], w49["krippendorff_alpha"])
    assert weeks[0].kappa is None  # one sample, all agreeing: Fleiss' kappa is undefined (0/0)
