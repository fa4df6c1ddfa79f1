import uuid

import pytest
from sqlalchemy import func, select

from annotation_app.models import CrossCheckSet, Sample, User, Vote
from annotation_app.services import crosscheck
from annotation_app.services.export import votes_frame
from core.errors import ConflictError, NotFoundError, PermissionDenied

from .conftest import F, N, S, World, post_vote
from .test_votes import vote


def _resolve_group_a(world: World) -> None:
    for sample, adj in zip(world.samples[:2], (F, N), strict=True):  # s0 -> Fear, s1 -> Neutral
        for name in ("a1", "a2", "a3"):
            vote(world, name, sample, adj)


def test_draw_sets_by_previous_label_and_relabel_in_the_partner_group(world, client_of):
    _resolve_group_a(world)
    with world.session() as session:
        sets = crosscheck.draw_sets(session, world.settings, "sA", set_size=100)
        session.commit()
        assert sorted((s.category, len(str(s.id)) > 0) for s in sets) == [("Fear", True), ("Neutral", True)]
        with pytest.raises(ConflictError):
            crosscheck.draw_sets(session, world.settings, "sA")
        b = {g.name: g.id for g in crosscheck.people.groups(session)}
        assert {(s.source_group_id, s.target_group_id) for s in sets} == {(b["A"], b["B"])}
    s0, s1 = world.samples[:2]
    b1 = client_of(world, "b1")
    task = b1.get("/api/tasks/next").json()["task"]
    assert task["stage"] == "crosscheck" and task["sample_id"] in (s0, s1)
    assert b1.get(f"/media/{task['sample_id']}").status_code == 200
    first = post_vote(b1, task["sample_id"], S, stage="crosscheck", client_id="cc-1")
    assert first.status_code == 201 and first.json()["stage"] == "crosscheck"
    assert post_vote(b1, task["sample_id"], S, stage="crosscheck", client_id="cc-1").status_code == 200
    assert post_vote(b1, task["sample_id"], F, stage="crosscheck").status_code == 409
    # group C did not receive the set; group A's own members do not re-label it
    assert post_vote(client_of(world, "c1"), s0, S, stage="crosscheck").status_code == 404
    assert client_of(world, "c1").get(f"/media/{s0}").status_code == 404
    second = b1.get("/api/tasks/next").json()["task"]
    assert second["stage"] == "crosscheck" and second["sample_id"] != task["sample_id"]
    with world.session() as session:
        assert session.get(Sample, s0).status == "resolved"  # the ladder is not touched
        frame = crosscheck.crosscheck_frame(session)
        assert list(frame[["stage_name", "source_group", "target_group", "voter", "category"]].iloc[0]) == [
            "sA", "A", "B", "b1", "Sadness"]
        assert set(votes_frame(session)["stage"]) == {"member", "crosscheck"}


def test_crosscheck_service_guards(world):
    _resolve_group_a(world)
    with world.session() as session:
        crosscheck.draw_sets(session, world.settings, "sA")
        session.commit()
        lead = session.get(User, world.users["blead"])
        with pytest.raises(PermissionDenied):
            crosscheck.submit(session, world.settings, lead, sample_id=world.samples[0], adjective_id=F,
                              confidence=0.5, client_id=uuid.uuid4().hex)
        a1 = session.get(User, world.users["a1"])
        with pytest.raises(NotFoundError):
            crosscheck.submit(session, world.settings, a1, sample_id=world.samples[0], adjective_id=F,
                              confidence=0.5, client_id=uuid.uuid4().hex)
        assert crosscheck.next_item(session, a1) is None
        assert session.scalar(select(func.count()).select_from(CrossCheckSet)) == 2
        assert session.scalar(select(func.count()).select_from(Vote).where(Vote.stage == "crosscheck")) == 0
