"""Services behind the admin pages: offered manifests, group rules on moves, accounts, audit search, export
archive, backups."""

from __future__ import annotations

import json
import zipfile
from datetime import timedelta

import pandas as pd
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from annotation_app.models import Seat, User, utcnow
from annotation_app.services import accounts, audit, auth, backup, export, importer, people, queue
from core.cli import cli
from core.errors import ConflictError, InvalidRequest
from core.manifest import write_shard

from .conftest import write_manifest


def _user(session, name: str) -> User:
    return people.user_by_name(session, name)


def test_offered_manifests_are_files_and_shard_folders_inside_the_data_folder(tmp_path):
    data = tmp_path / "data"
    write_manifest(data / "clean" / "run1", 2)
    write_shard(data / "clean" / "run2" / "manifest", "clean", 0, [{"id": "x"}], {"rows": 1})
    (data / "clean" / "run2" / "manifest" / "clean-00001.jsonl").write_text("{}\n")  # no stats: incomplete
    write_manifest(data / "a" / "b" / "c" / "d" / "e", 1)  # deeper than the search goes
    write_manifest(data / ".hidden", 1)
    write_manifest(data / "backups", 1)
    (data / "clean" / "link").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    write_manifest(tmp_path / "elsewhere", 1)
    (data / "clean" / "linked.jsonl").symlink_to(tmp_path / "elsewhere" / "clean.jsonl")
    (data / "clean" / "gold.csv").write_text("id,category\n")
    (data / "backups" / "old.csv").write_text("id,category\n")
    assert importer.offered_manifests(data) == ["clean/run1/clean.jsonl", "clean/run2/manifest"]
    assert importer.offered_gold_files(data) == ["clean/gold.csv"]
    assert importer.offered_manifests(tmp_path / "missing") == []
    assert importer.offered_manifest(data, "clean/run1/clean.jsonl") == (data / "clean/run1/clean.jsonl").resolve()
    for bad in ("../elsewhere/clean.jsonl", str(tmp_path / "elsewhere" / "clean.jsonl"), "/etc/passwd",
                "clean/run1/../run1/clean.jsonl", "clean/link/clean.jsonl", ""):
        with pytest.raises(InvalidRequest) as refused:
            importer.offered_manifest(data, bad)
        assert refused.value.code == "manifest_not_offered"


def test_import_offered_reads_the_manifest_and_refuses_a_file_that_is_not_json(world):
    data = world.settings.data_dir
    write_manifest(data / "clean" / "run1", 3, prefix="n")
    (data / "broken.jsonl").write_text("not json\n")
    with world.session() as session:
        report = importer.import_offered(session, data, "clean/run1/clean.jsonl", actor_id=world.users["admin"])
        assert (report.rows, report.imported, report.skipped) == (4, 3, {"rejected": 1})
        with pytest.raises(InvalidRequest) as refused:
            importer.import_offered(session, data, "broken.jsonl")
        assert refused.value.code == "manifest_unreadable"
        (data / "gold.csv").write_text("id,category\ng0,Fear\ng1,joy-ish\n")
        write_manifest(data / "gold", 2, prefix="g")
        with pytest.raises(InvalidRequest) as bad_gold:
            importer.import_offered(session, data, "gold/clean.jsonl", gold_choice="gold.csv")
        assert bad_gold.value.code == "gold_unreadable"
        with pytest.raises(InvalidRequest) as elsewhere:
            importer.import_offered(session, data, "gold/clean.jsonl", gold_choice="../gold.csv")
        assert elsewhere.value.code == "gold_not_offered"
        (data / "gold.csv").write_text("id,category\ng0,Fear\ng1,sadness\n")
        report = importer.import_offered(session, data, "gold/clean.jsonl", gold_choice="gold.csv")
        assert (report.imported, report.gold) == (2, 2)


@pytest.mark.parametrize(("genders", "mover", "capacity", "expected"), [
    (["m", "m"], "f", 3, []),
    (["m", "m"], "m", 3, ["gender_rule"]),
    (["m", "f"], "f", 3, ["gender_rule"]),
    (["m", "m", "f"], "m", 3, ["over_capacity", "gender_rule"]),
    (["m", "m", "f"], "f", 4, ["gender_rule"]),
    (["m", "m", "f"], "m", 4, []),
    ([None, None], None, 3, []),
    ([None, None, None], None, 3, ["over_capacity"]),
])
def test_move_problems(sqlite_url, world_factory, genders, mover, capacity, expected):
    world = world_factory(sqlite_url, samples=0)
    with world.session() as session:
        group = people.group_by_name(session, "A")
        for member in ("a1", "a2", "a3"):
            people.assign(session, _user(session, member), None)
        for i, gender in enumerate(genders):
            people.assign(session, people.create_user(session, f"x{i}", "member", gender=gender), group)
        newcomer = people.create_user(session, "new", "member", gender=mover)
        assert people.move_problems(session, newcomer, group, capacity=capacity, gender_rule=True) == expected
        assert people.move_problems(session, newcomer, group, capacity=capacity, gender_rule=False) == \
            [p for p in expected if p != "gender_rule"]


def test_a_move_breaking_a_rule_needs_a_reason_that_is_logged(world):
    with world.session() as session:
        c1, group_a = _user(session, "c1"), people.group_by_name(session, "A")
        with pytest.raises(ConflictError) as refused:
            people.move(session, c1, group_a, capacity=3, gender_rule=True, actor_id=world.users["admin"])
        assert refused.value.code == "move_needs_reason"
        assert people.current_membership(session, c1.id).group_id == people.group_by_name(session, "C").id
        people.move(session, c1, group_a, capacity=3, gender_rule=True, reason="  covers for a1  ",
                    actor_id=world.users["admin"])
        assert people.current_membership(session, c1.id).group_id == group_a.id
        events = audit.events(session, action="membership.override")
        assert [json.loads(e.detail) for e in events] == [
            {"group": "A", "problems": ["over_capacity"], "reason": "covers for a1"}]
        assert [(h.group, h.role, h.ended_at is None) for h in accounts.history(session, c1.id)] == [
            ("C", "member", False), ("A", "member", True)]
        # staying in one's own group breaks nothing, however full it is
        people.move(session, c1, group_a, capacity=1, gender_rule=True)


def test_a_swap_plan_is_checked_on_the_groups_it_leaves_and_refused_as_a_whole(world):
    """Two people exchanged between full groups break nothing (no moment in between counts); a plan that leaves
    a group over capacity or against the gender rule is refused whole without a reason, logged with one."""
    with world.session() as session:
        genders = {"a1": "m", "a2": "m", "a3": "f", "b1": "m", "b2": "m", "b3": "f"}
        for name, gender in genders.items():
            _user(session, name).gender = gender
        group_a, group_b = people.group_by_name(session, "A"), people.group_by_name(session, "B")
        a1, b1, a3 = _user(session, "a1"), _user(session, "b1"), _user(session, "a3")

        def group_of(user):
            return people.current_membership(session, user.id).group_id

        assert people.move_many(session, [(a1, group_b), (b1, group_a)], capacity=3, gender_rule=True) == {}
        assert (group_of(a1), group_of(b1)) == (group_b.id, group_a.id)
        with pytest.raises(ConflictError) as refused:  # a3 (f) for b1 (m, now in A): A gets three men
            people.move_many(session, [(a3, group_b), (b1, group_b)], capacity=3, gender_rule=True)
        assert refused.value.code == "move_needs_reason" and "group B goes over" in refused.value.message
        assert (group_of(a3), group_of(b1)) == (group_a.id, group_a.id)  # nothing moved
        found = people.move_many(session, [(a3, group_b)], capacity=3, gender_rule=True, reason="pilot swap",
                                 actor_id=world.users["admin"])
        assert found == {"B": ["over_capacity", "gender_rule"]} and group_of(a3) == group_b.id
        assert [json.loads(e.detail) for e in audit.events(session, action="membership.override")] == [
            {"problems": ["over_capacity", "gender_rule"], "reason": "pilot swap"}]


def test_deactivation_releases_seats_and_keeps_the_last_admin(world):
    with world.session() as session:
        a1, admin = _user(session, "a1"), _user(session, "admin")
        assert queue.next_task(session, a1, world.settings) is not None
        epoch = a1.session_epoch
        assert accounts.set_active(session, a1, False, actor_id=admin.id) == 1
        assert not a1.active and a1.session_epoch == epoch + 1
        assert session.scalars(select(Seat).where(Seat.holder_id == a1.id)).all() == []
        assert accounts.set_active(session, a1, True, actor_id=admin.id) == 0 and a1.active
        with pytest.raises(ConflictError) as own:
            accounts.set_active(session, admin, False, actor_id=admin.id)
        assert own.value.code == "own_account"
        with pytest.raises(ConflictError) as last:
            accounts.change_role(session, admin, "member", capacity=3, gender_rule=True, actor_id=None)
        assert last.value.code == "last_admin"
        assert [e.action for e in audit.events(session, entity_id=a1.id)][-2:] == ["user.deactivated",
                                                                                   "user.reactivated"]


def test_role_changes_follow_the_group_rules(world):
    with world.session() as session:
        alead, a1, expert = _user(session, "alead"), _user(session, "a1"), _user(session, "expert")
        with pytest.raises(ConflictError) as taken:
            accounts.change_role(session, a1, "leader", capacity=3, gender_rule=True)
        assert taken.value.code == "group_has_leader"
        session.rollback()
        alead = _user(session, "alead")
        with pytest.raises(ConflictError):  # A holds 3 members: one more is over capacity
            accounts.change_role(session, alead, "member", capacity=3, gender_rule=True)
        session.rollback()
        alead = _user(session, "alead")
        accounts.change_role(session, alead, "member", capacity=3, gender_rule=True, reason="pilot")
        assert people.current_membership(session, alead.id).role == "member"
        accounts.change_role(session, alead, "expert", capacity=3, gender_rule=True)
        assert people.current_membership(session, alead.id) is None and alead.role == "expert"
        accounts.reset_password(session, expert, "new-password-1")
        assert auth.verify_password(expert.password_hash, "new-password-1")
        with pytest.raises(InvalidRequest):
            accounts.reset_password(session, expert, "short")


def test_tokens_are_listed_without_values_and_revoked(world):
    with world.session() as session:
        a1 = _user(session, "a1")
        value = accounts.issue_token(session, a1, "script")
        assert auth.user_for_token(session, value).id == a1.id
        [row] = accounts.tokens(session, a1.id)
        assert (row.name, row.revoked_at) == ("script", None)
        accounts.revoke_token(session, a1, row.id)
        accounts.revoke_token(session, a1, row.id)  # twice: one event
        with pytest.raises(Exception, match="invalid or revoked"):
            auth.user_for_token(session, value)
        assert len(audit.events(session, action="token.revoked")) == 1


def test_audit_search_filters_and_pages(world):
    with world.session() as session:
        admin = world.users["admin"]
        for i in range(7):
            audit.record(session, admin, "test.event", "user", i)
        everything = len(audit.events(session))
        rows, total = audit.search(session, audit.Filters(actor="admin", action="test.event"), page=2, per_page=3)
        assert total == 7 and [r.entity_id for r in rows] == ["3", "2", "1"]
        assert rows[0].actor == "admin"
        assert rows[0].person == next(name for name, user_id in world.users.items() if user_id == 3)
        today = utcnow().date()
        assert audit.search(session, audit.Filters(since=today, until=today))[1] == everything
        assert audit.search(session, audit.Filters(since=today + timedelta(days=1)))[1] == 0
        assert audit.search(session, audit.Filters(until=today - timedelta(days=1)))[1] == 0
        assert audit.search(session, audit.Filters(entity="project"))[1] == len(audit.events(session, entity="project"))
        assert "test.event" in audit.choices(session)["action"] and audit.choices(session)["actor"] == ["admin"]


def test_export_archive_holds_csv_and_parquet(world, tmp_path):
    with world.session() as session:
        path = export.export_archive(session, tmp_path / "work", actor_id=world.users["admin"])
        session.commit()
        with zipfile.ZipFile(path) as bundle:
            assert sorted(bundle.namelist()) == ["labels.csv", "labels.parquet", "votes.csv", "votes.parquet"]
            bundle.extractall(tmp_path / "out")
        labels = pd.read_parquet(tmp_path / "out" / "labels.parquet")
        assert list(labels["sample_id"]) == world.samples
        assert len(pd.read_csv(tmp_path / "out" / "labels.csv")) == 6
        assert json.loads(audit.events(session, action="export.downloaded")[0].detail) == {"labels": 6, "votes": 0}


def test_backup_now_writes_into_the_backups_folder(world):
    made, sidecar = backup.backup_now(world.url, world.settings.data_dir)
    assert made.parent == world.settings.data_dir / "backups" and made.is_file()
    [listed] = backup.backups_in(world.settings.data_dir)
    assert listed["file"] == made.name and listed["rows"] == sum(sidecar["tables"].values())
    assert listed["votes"] == 0


def test_cli_assign_needs_a_reason_to_break_a_rule(sqlite_url):
    runner = CliRunner()
    url = ["--url", sqlite_url]

    def run(*args: str):
        return runner.invoke(cli, ["app", *args, *url])

    assert run("init").exit_code == 0
    for name in ("m1", "m2", "m3", "m4"):
        assert run("create-user", name, "--role", "member", "--password", "secret-123").exit_code == 0
    for name in ("m1", "m2", "m3"):
        assert run("assign", name, "A").exit_code == 0
    refused = run("assign", "m4", "A")
    assert refused.exit_code != 0 and "goes over the group's capacity" in str(refused.exception or refused.output)
    done = run("assign", "m4", "A", "--reason", "pilot")
    assert done.exit_code == 0 and done.output.strip() == "m4 is now in group A"
