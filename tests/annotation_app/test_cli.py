import csv
import json

import pandas as pd
import pytest
from click.testing import CliRunner

from annotation_app.models import Sample
from annotation_app.services import people
from annotation_app.services.export import VOTE_COLUMNS, load_votes
from annotation_app.services.people import Person, assignment_score, plan_groups
from core.cli import cli
from core.db import make_engine, session_factory, session_scope
from core.errors import InvalidRequest

from .conftest import write_manifest


def run(*args: str):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_init_users_import_distribute_export(sqlite_url, tmp_path):
    url = ["--url", sqlite_url]
    assert "groups A, B, C" in run("app", "init", *url)
    run("app", "create-user", "boss", "--role", "admin", "--password", "secret-123", *url)
    run("app", "create-user", "li", "--role", "member", "--password", "secret-123", "--group", "A", *url)
    assert run("app", "assign", "li", "C", *url).strip() == "li is now in group C"
    assert run("app", "token", "boss", *url).strip().startswith("emo_")
    manifest = write_manifest(tmp_path / "clean", 7)
    gold = tmp_path / "gold.csv"
    with gold.open("w", newline="") as handle:
        csv.writer(handle).writerows([("id", "category"), ("s5", "fear"), ("s6", "Neutral")])
    out = run("app", "import", str(manifest), "--gold", str(gold), *url)
    assert out.strip() == "read 8 rows: imported 7 (gold 2); skipped rejected=1"
    assert "skipped already_imported=7, rejected=1" in run("app", "import", str(manifest), *url)
    assert run("app", "distribute", "--batch-size", "2", *url).strip() == "dealt A=2, B=2, C=1"
    progress = json.loads(run("app", "progress", "--json", *url))
    assert progress["groups"]["A"] == {"open:member": 2, "total": 2}
    run("app", "export", "--out", str(tmp_path / "export"), *url)
    labels = pd.read_csv(tmp_path / "export" / "labels.csv")
    assert list(labels.columns) == ["sample_id", "status", "final_category", "decided_stage"]
    assert list(labels["sample_id"]) == ["s0", "s1", "s2", "s3", "s4"]
    votes = pd.read_parquet(tmp_path / "export" / "votes.parquet")
    assert list(votes.columns) == list(VOTE_COLUMNS) and votes.empty
    assert list(load_votes(sqlite_url).columns) == list(VOTE_COLUMNS)


def test_cli_refuses_an_unmigrated_database(sqlite_url):
    result = CliRunner().invoke(cli, ["app", "progress", "--url", sqlite_url])
    assert result.exit_code != 0
    assert "emotions app init" in result.exception.one_line()


def test_assignment_score_is_eq_1():
    assert assignment_score(100, 50, 10, 20, 30) == pytest.approx(40 + 15 + 6)


def _pool(n_male: int, n_female: int) -> list[Person]:
    people_ = [Person(f"m{i}", "m", 90 - 3 * i, 10 * (i % 5)) for i in range(n_male)]
    return people_ + [Person(f"f{i}", "f", 85 - 4 * i, 50 + i) for i in range(n_female)]


def test_plan_groups_gender_rule_and_balance():
    plans = plan_groups(_pool(10, 5), 3)
    assert [p.leader.name for p in plans] == ["m0", "m1", "f0"]  # the highest p lead
    for plan in plans:
        assert sorted(m.gender for m in plan.members) == ["f", "m", "m"]
    means = [p.mean_p for p in plans]
    assert max(means) - min(means) < 6
    by_lp = plan_groups(_pool(10, 6), 3, leader_by="lp")
    assert {p.leader.name for p in by_lp} == {"f5", "f4", "f3"}  # the highest leadership scores lead
    with pytest.raises(InvalidRequest, match="gender rule"):
        plan_groups(_pool(12, 0), 3)
    assert len(plan_groups(_pool(12, 0), 3, gender_rule=False)) == 3
    with pytest.raises(InvalidRequest, match="cannot fill"):
        plan_groups(_pool(3, 2), 3)


def test_form_groups_applies_plan_and_keeps_history(sqlite_url):
    run("app", "init", "--url", sqlite_url)
    engine = make_engine(sqlite_url)
    with session_scope(session_factory(engine)) as session:
        for p in _pool(8, 4):
            user = people.create_user(session, p.name, "member", gender=p.gender, work_experience=p.p,
                                      msceit=p.p, education=p.p, culture=p.p, leadership=p.leadership)
            people.assign(session, user, people.group_by_name(session, "A"))
    out = run("app", "form-groups", "--url", sqlite_url)
    assert out.count("leader") == 3
    with session_scope(session_factory(engine)) as session:
        m0 = people.user_by_name(session, "m0")
        assert m0.role == "leader"
        history = session.query(people.Membership).filter_by(user_id=m0.id).order_by(people.Membership.id).all()
        assert [h.role for h in history] == ["member", "leader"] and history[0].ended_at is not None
        sizes = {g.name: len(people.current_members(session, g.id)) for g in people.groups(session)}
    assert sizes == {"A": 4, "B": 4, "C": 4}
    engine.dispose()


def test_import_reads_a_clean_run_folder(sqlite_url, tmp_path):
    from core.manifest import write_shard

    run_dir = tmp_path / "clean-run"
    (run_dir / "web" / "ab").mkdir(parents=True)
    (run_dir / "web" / "ab" / "abc.mp4").write_bytes(b"\0" * 64)
    rows = [{"id": "abc", "source_path": "raw/x.mp4", "status": "kept", "web_mp4": "web/ab/abc.mp4"},
            {"id": "dup", "source_path": "raw/y.mp4", "status": "duplicate", "duplicate_of": "abc"}]
    write_shard(run_dir / "manifest", "clean", 0, rows, {})
    run("app", "init", "--url", sqlite_url)
    assert "imported 1 (gold 0); skipped duplicate=1" in run("app", "import", str(run_dir), "--url", sqlite_url)
    engine = make_engine(sqlite_url)
    with session_scope(session_factory(engine)) as session:
        sample = session.get(Sample, "abc")
        assert sample.media_path == str((run_dir / "web" / "ab" / "abc.mp4").resolve())
    engine.dispose()


def test_import_skips_media_outside_the_run_folder_unless_allowed(sqlite_url, tmp_path):
    run_dir, elsewhere = tmp_path / "clean", tmp_path / "elsewhere"
    (run_dir / "web").mkdir(parents=True)
    elsewhere.mkdir()
    (run_dir / "web" / "ok.mp4").write_bytes(b"\0" * 64)
    (elsewhere / "secret.mp4").write_bytes(b"private")
    (run_dir / "web" / "link.mp4").symlink_to(elsewhere / "secret.mp4")
    hostile = {"abs": str(elsewhere / "secret.mp4"), "dotdot": "web/../../elsewhere/secret.mp4",
               "link": "web/link.mp4", "etc": "/etc/passwd"}
    rows = [{"id": "ok", "source_path": "raw/ok.mp4", "status": "kept", "web_mp4": "web/ok.mp4"}]
    rows += [{"id": k, "source_path": f"raw/{k}.mp4", "status": "kept", "web_mp4": v} for k, v in hostile.items()]
    rows.append({"id": "poster", "source_path": "raw/p.mp4", "status": "kept", "web_mp4": "web/ok.mp4",
                 "poster": "../elsewhere/secret.mp4"})
    manifest = run_dir / "clean.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    run("app", "init", "--url", sqlite_url)
    out = run("app", "import", str(manifest), "--url", sqlite_url)
    assert out.strip() == "read 6 rows: imported 1 (gold 0); skipped media_outside_root=5"
    out = run("app", "import", str(manifest), "--media-root", str(elsewhere), "--url", sqlite_url)
    assert out.strip() == "read 6 rows: imported 4 (gold 0); skipped already_imported=1, media_outside_root=1"
    engine = make_engine(sqlite_url)
    with session_scope(session_factory(engine)) as session:
        paths = {s.id: s.media_path for s in session.query(Sample)}
    engine.dispose()
    secret = str((elsewhere / "secret.mp4").resolve())
    assert paths == {"ok": str((run_dir / "web" / "ok.mp4").resolve()), "abs": secret, "dotdot": secret,
                     "link": secret, "poster": str((run_dir / "web" / "ok.mp4").resolve())}
