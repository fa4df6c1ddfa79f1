"""The app and QA run one implementation of each shared rule: same inputs, same groups, partners and sets."""

from __future__ import annotations

import json
import random

import pandas as pd
import pytest
from sqlalchemy import select

from annotation_app.models import CrossCheckItem, CrossCheckSet, Sample
from annotation_app.services import crosscheck, people
from annotation_app.services.export import votes_frame
from core.cli import main
from core.db import make_engine, session_factory, session_scope
from qa.crosscheck import exchange_mapping, plan_crosscheck
from qa.sources import from_app_table, labels_from_votes
from tests.annotation_app.conftest import E, F, N, S, T, build_world
from tests.annotation_app.test_votes import vote


def _people(n_male: int = 10, n_female: int = 5, seed: int = 3) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = [{"person": f"{g}{i:02d}", "gender": g, **{k: rng.randint(20, 100) for k in ("we", "ms", "eb", "cb", "lp")}}
            for g, n in (("m", n_male), ("f", n_female)) for i in range(n)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("options", [[], ["--leader-by", "lp"], ["--no-gender-rule"]])
def test_form_groups_and_qa_allocate_make_the_same_groups(sqlite_url, tmp_path, capsys, options):
    crowd = _people()
    assert main(["app", "init", "--url", sqlite_url]) == 0
    engine = make_engine(sqlite_url)
    with session_scope(session_factory(engine)) as session:
        for row in crowd.itertuples(index=False):
            people.create_user(session, row.person, "member", gender=row.gender, work_experience=row.we,
                               msceit=row.ms, education=row.eb, culture=row.cb, leadership=row.lp)
    assert main(["app", "form-groups", "--url", sqlite_url, *options]) == 0
    with session_scope(session_factory(engine)) as session:
        name_of = {u.id: u.username for u in session.scalars(select(people.User))}
        app_groups = {g.name: (name_of[people.leader_of(session, g.id)],
                               sorted(name_of[m.user_id] for m in people.current_members(session, g.id, "member")))
                      for g in people.groups(session)}
    engine.dispose()
    capsys.readouterr()

    path = tmp_path / "people.csv"
    crowd.to_csv(path, index=False)
    assert main(["qa", "allocate", "--from-csv", str(path), "--json", *options]) == 0
    result = json.loads(capsys.readouterr().out)
    qa_groups = {name: (g["leader"], sorted(g["members"])) for name, g in result["groups"].items()}
    assert app_groups == qa_groups
    assert len(qa_groups) == 3 and all(len(members) == 3 for _, members in qa_groups.values())


def test_app_and_qa_read_exchange_partners_alike():
    names = ["A", "B", "C"]
    assert people.partner_map(names, "A:C,B:A,C:B") == exchange_mapping(names, "A:C,B:A,C:B") == {
        "A": "C", "B": "A", "C": "B"}
    assert people.partner_map(names) == exchange_mapping(names) == {"A": "B", "B": "C", "C": "A"}
    with pytest.deprecated_call(match="write 'A:B'"):
        assert people.partner_map(names, "A=C,B=A,C=B") == {"A": "C", "B": "A", "C": "B"}
    with pytest.deprecated_call(match="write 'A:B'"):
        assert exchange_mapping(names, "A=C,B=A,C=B") == {"A": "C", "B": "A", "C": "B"}


# per group of 12 samples: 4 Fear, 4 Neutral, 2 Sadness decided by the members, 2 with no majority ("more")
PATTERNS = [(F, F, F), (F, F, S), (N, N, N), (N, N, E), (S, S, T), (F, N, S)]


def _voted_world(url, tmp_path):
    world = build_world(url, tmp_path, samples=36)
    with world.session() as session:
        group_of = {g.id: g.name.lower() for g in people.groups(session)}
        groups = {s.id: group_of[s.group_id] for s in session.scalars(select(Sample))}
    for i, sample in enumerate(world.samples):
        members = [f"{groups[sample]}{k}" for k in (1, 2, 3)]
        for name, adjective in zip(members, PATTERNS[(i // 6 + i) % 6], strict=True):
            vote(world, name, sample, adjective)
    return world


def _app_sets(world, name: str) -> set:
    with world.session() as session:
        names = {g.id: g.name for g in people.groups(session)}
        return {(names[s.source_group_id], names[s.target_group_id], s.category,
                 frozenset(session.scalars(select(CrossCheckItem.sample_id).where(CrossCheckItem.set_id == s.id))))
                for s in session.scalars(select(CrossCheckSet).where(CrossCheckSet.name == name))}


def _plan_sets(plan: pd.DataFrame, stage: str) -> set:
    rows = plan[plan["stage"] == stage].groupby("set_id")
    return {(g["origin_group"].iloc[0], g["group"].iloc[0], g["set_category"].iloc[0], frozenset(g["item"]))
            for _, g in rows}


def test_crosscheck_draw_and_qa_plan_draw_the_same_sets(sqlite_url, tmp_path, monkeypatch, capsys):
    world = _voted_world(sqlite_url, tmp_path)
    with world.session() as session:  # what `emotions app crosscheck-draw sA --set-size 2 --seed 5` runs
        crosscheck.draw_sets(session, world.settings, "sA", set_size=2, seed=5)
        session.commit()
    monkeypatch.setenv("EMOTIONS_DATABASE_URL", sqlite_url)  # QA reads the previous labels from the app's votes
    written = tmp_path / "plan.csv"
    assert main(["qa", "plan-crosscheck", "--stages", "sA", "--set-size", "2", "--seed", "5",
                 "--write", str(written), "--json"]) == 0
    capsys.readouterr()
    app = _app_sets(world, "sA")
    assert app == _plan_sets(pd.read_csv(written, dtype=str), "sA")
    # per group: Neutral 4 samples for 3 sets of 2 -> 2, 1, 1; one Fear and one Sadness set; "more" never drawn
    assert sorted(len(items) for origin, _, cat, items in app if origin == "A" and cat == "Neutral") == [1, 1, 2]
    assert sorted(cat for origin, _, cat, _ in app if origin == "A") == ["Fear", "Neutral", "Neutral", "Neutral",
                                                                       "Sadness"]
    assert {(origin, target) for origin, target, _, _ in app} == {("A", "B"), ("B", "C"), ("C", "A")}
    world.factory.kw["bind"].dispose()


def test_app_stages_drawn_one_by_one_match_a_two_stage_qa_plan(sqlite_url, tmp_path):
    world = _voted_world(sqlite_url, tmp_path)
    layout = {"Neutral": 1, "Fear": 1}  # 4 of each per group: enough for 2 stages of one set of 2
    with world.session() as session:
        for stage in ("sA", "sB"):
            crosscheck.draw_sets(session, world.settings, stage, set_size=2, plan=layout, seed=11)
        session.commit()
        labels = labels_from_votes(from_app_table(votes_frame(session)))
    plan, warnings = plan_crosscheck(labels, set_size=2, layout=layout, stages=("sA", "sB"), seed=11)
    assert warnings == []
    for stage in ("sA", "sB"):
        assert _app_sets(world, stage) == _plan_sets(plan, stage)
        assert len(_app_sets(world, stage)) == 6
    world.factory.kw["bind"].dispose()
