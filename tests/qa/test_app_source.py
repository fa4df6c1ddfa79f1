"""QA reads cross-check re-labels straight from the app database when no CSV is given."""

import json

from annotation_app.services import auth, crosscheck
from core.cli import main
from tests.annotation_app.conftest import F, N, S, build_world, post_vote
from tests.annotation_app.test_votes import vote


def test_consistency_from_the_app_database(sqlite_url, tmp_path, monkeypatch, capsys):
    from fastapi.testclient import TestClient

    from annotation_app.app import create_app
    from annotation_app.models import User

    world = build_world(sqlite_url, tmp_path, samples=2)
    for sample, adj in zip(world.samples[:2], (F, N), strict=True):  # group A resolves s0 Fear, s1 Neutral
        for name in ("a1", "a2", "a3"):
            vote(world, name, sample, adj)
    with world.session() as session:
        crosscheck.draw_sets(session, world.settings, "sA", set_size=100)
        tokens = {n: auth.create_token(session, session.get(User, world.users[n])) for n in ("b1", "b2", "b3")}
        session.commit()
    client = TestClient(create_app(world.settings, database_url=sqlite_url))
    # b1 and b2 agree with group A on both samples, b3 disagrees on both
    for name, picks in (("b1", (F, N)), ("b2", (F, N)), ("b3", (S, S))):
        client.headers["Authorization"] = f"Bearer {tokens[name]}"
        for sample, adj in zip(world.samples[:2], picks, strict=True):
            response = post_vote(client, sample, adj, stage="crosscheck")
            assert response.status_code == 201, response.text
    client.app.state.engine.dispose()

    monkeypatch.setenv("EMOTIONS_DATABASE_URL", sqlite_url)
    assert main(["qa", "consistency", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["stage"] == "sA" and list(result["groups"]) == ["B"]  # the re-labelling group
    group = result["groups"]["B"]
    assert group["S_a"] == 4 / 6  # 4 of the 6 re-labels agree with group A's labels
    assert group["S_r"] == 70.0 and group["n_sets"] == 2 and group["n_items"] == 2
    assert {name: cr["overall"] for name, cr in result["consistency_ratios"].items()} == {
        "b1": 1.0, "b2": 1.0, "b3": 0.0}


def test_no_relabels_in_the_app_is_one_clear_line(sqlite_url, tmp_path, monkeypatch, capsys):
    build_world(sqlite_url, tmp_path, samples=0)
    monkeypatch.setenv("EMOTIONS_DATABASE_URL", sqlite_url)
    assert main(["qa", "consistency"]) != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: app cross-check table: no re-labels yet")
