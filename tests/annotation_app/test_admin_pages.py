"""The admin pages over HTTP: every action through its form (CSRF token included), its result (after the redirect,
shown once) or its translated refusal on the page, and its audit event."""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from html import unescape

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from annotation_app.app import create_app
from annotation_app.models import AuditEvent, Sample, Seat, User
from annotation_app.services import audit, people
from annotation_app.services.votes import submit_vote

from .conftest import F, write_manifest
from .test_i18n import english_words
from .test_pages import HTML, csrf_of, login

ADMIN_PAGES = ("/admin", "/admin/import", "/admin/people", "/admin/groups", "/admin/crosscheck", "/admin/export",
               "/admin/backup", "/admin/audit")


@pytest.fixture
def site(db_url, world_factory):
    world = world_factory(db_url, passwords=("admin", "a1"))
    with world.session() as session:
        session.get(User, world.users["admin"]).language = "en"
        session.commit()
    client = TestClient(create_app(world.settings, database_url=world.url), follow_redirects=False)
    login(client, "admin")
    yield client, world
    client.app.state.engine.dispose()


def post(client: TestClient, path: str, data: dict | None = None, page: str = "/admin"):
    token = csrf_of(client.get(page, headers=HTML).text)
    return client.post(path, data={**(data or {}), "csrf_token": token}, headers=HTML)


def follow(client: TestClient, response, to: str) -> str:
    """The page a successful action redirects to (303 to `to`), as the browser then shows it."""
    assert response.status_code == 303, response.text
    assert response.headers["location"] == to
    return client.get(to, headers=HTML).text


def text_of(html: str, element_id: str) -> str:
    """The text inside the element with this id (tags dropped, whitespace collapsed)."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', html, re.S)
    assert match, f"no #{element_id}"
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", match.group(2))).split())


def uid(world, name: str) -> int:
    return world.users[name]


def actions(world, action: str) -> list[dict]:
    with world.session() as session:
        return [json.loads(e.detail) for e in session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                                             .order_by(AuditEvent.id))]


def test_every_admin_page_shows_with_its_navigation_and_only_to_admins(site):
    client, _ = site
    for path in ADMIN_PAGES:
        page = client.get(path, headers=HTML)
        assert page.status_code == 200, path
        assert 'id="admin-nav"' in page.text and 'aria-current="page"' in page.text
    member = TestClient(client.app, follow_redirects=False)
    login(member, "a1")
    for path in ADMIN_PAGES:
        assert member.get(path, headers=HTML).status_code == 403, path
    assert member.post("/admin/backup", data={"csrf_token": csrf_of(member.get("/label", headers=HTML).text)},
                       headers=HTML).status_code == 403
    assert client.post("/admin/backup", headers=HTML).status_code == 403  # no CSRF token


def test_import_shows_its_report_and_refuses_paths_it_did_not_offer(site):
    client, world = site
    write_manifest(world.settings.data_dir / "clean" / "run1", 4, prefix="n")
    (world.settings.data_dir / "gold.csv").write_text("id,category\nn0,Fear\n")
    page = client.get("/admin/import", headers=HTML).text
    assert '<option value="clean/run1/clean.jsonl"' in page and '<option value="gold.csv"' in page
    outside = post(client, "/admin/import", {"manifest": "clean/run1/clean.jsonl", "gold": "../clean/clean.jsonl"})
    assert outside.status_code == 422 and text_of(outside.text, "admin-error").startswith("Choose one of the CSV")
    r = follow(client, post(client, "/admin/import", {"manifest": "clean/run1/clean.jsonl", "gold": "gold.csv"}),
               "/admin/import")
    assert text_of(r, "admin-done") == ("Rows read: 5; imported: 4 (gold: 1); skipped: 1. Manifest: "
                                        "clean/run1/clean.jsonl Skipped because Rows rejected while cleaning 1")
    assert '<option value="clean/run1/clean.jsonl" selected>' in r
    again = follow(client, post(client, "/admin/import", {"manifest": "clean/run1/clean.jsonl"}), "/admin/import")
    assert text_of(again, "skipped") == "Skipped because Rows already imported 4 rejected while cleaning 1"
    for bad in ("../clean/clean.jsonl", str(world.settings.data_dir.parent / "clean" / "clean.jsonl"), "/etc/passwd"):
        refused = post(client, "/admin/import", {"manifest": bad})
        assert refused.status_code == 422 and 'id="admin-done"' not in refused.text
        assert text_of(refused.text, "admin-error").startswith("Choose one of the manifests listed here")
    with world.session() as session:
        assert len(session.scalars(select(Sample.id)).all()) == 6 + 4
    assert [(e["imported"], e["skipped"]) for e in actions(world, "samples.imported")][-2:] == [
        (4, {"rejected": 1}), (0, {"already_imported": 4, "rejected": 1})]
    assert [e["gold"] for e in actions(world, "samples.imported")][-2:] == [1, 0]


def test_distribute_shows_what_was_dealt(site):
    client, world = site
    write_manifest(world.settings.data_dir / "clean", 6, prefix="n")
    post(client, "/admin/import", {"manifest": "clean/clean.jsonl"})
    first = follow(client, post(client, "/admin/distribute", {"batch_size": "2", "limit": "1"}), "/admin")
    assert text_of(first, "admin-done") == "Samples distributed: 1. Group Samples dealt A 1 B 0 C 0"
    r = follow(client, post(client, "/admin/distribute", {"batch_size": "2", "limit": ""}), "/admin")
    assert text_of(r, "admin-done") == "Samples distributed: 5. Group Samples dealt A 2 B 2 C 1"
    assert actions(world, "samples.distributed")[-1]["dealt"] == {"A": 2, "B": 2, "C": 1}
    assert "not distributed" not in text_of(r, "progress")
    bad = post(client, "/admin/distribute", {"batch_size": "2", "limit": "-1"})
    assert bad.status_code == 422 and 'id="admin-done"' not in bad.text
    assert text_of(bad.text, "error-limit") == "At most (empty: all): enter a whole number of at least 1."
    nothing = follow(client, post(client, "/admin/distribute", {"batch_size": "2"}), "/admin")
    assert text_of(nothing, "admin-done").startswith("Samples distributed: 0.")


def test_create_a_person_with_profile_and_see_them(site):
    client, world = site
    data = {"username": "li", "display_name": "Li Hua", "password": "long-enough-1", "role": "member",
            "language": "en", "gender": "f", "we": "50", "ms": "60", "eb": "70", "cb": "80", "lp": "90"}
    r = post(client, "/admin/users", data, "/admin/people")
    with world.session() as session:
        li = people.user_by_name(session, "li")
    page = follow(client, r, f"/admin/people/{li.id}")
    assert text_of(page, "admin-done") == "li was created."
    with world.session() as session:
        li = people.user_by_name(session, "li")
        assert (li.display_name, li.gender, li.msceit, li.leadership, li.language) == ("Li Hua", "f", 60, 90, "en")
    taken = post(client, "/admin/users", data, "/admin/people")
    assert taken.status_code == 409 and text_of(taken.text, "admin-error").startswith("This user name is taken.")
    short = post(client, "/admin/users", {**data, "username": "wu", "password": "short"}, "/admin/people")
    assert short.status_code == 422 and 'value="wu"' in short.text  # the form keeps what was typed
    full = post(client, "/admin/users", {**data, "username": "wu", "group": "B"}, "/admin/people")
    assert full.status_code == 409 and text_of(full.text, "admin-error").startswith("This move goes over")
    with world.session() as session:  # nothing of a refused creation is stored
        assert session.scalar(select(User).where(User.username == "wu")) is None


def test_moves_enforce_capacity_and_the_gender_rule_unless_a_reason_is_given(site):
    client, world = site
    with world.session() as session:
        for name, gender in [("a1", "m"), ("a2", "m"), ("a3", "f"), ("c3", "f"), ("b1", "m")]:
            session.get(User, uid(world, name)).gender = gender
        session.commit()
    page = f"/admin/people/{uid(world, 'c1')}"
    refused = post(client, f"{page}/move", {"group": "A"}, page)
    assert refused.status_code == 409
    assert text_of(refused.text, "admin-error").startswith(
        "This move goes over the group's capacity or breaks the gender rule.")
    assert "moving c1 into group A goes over the group's capacity" in unescape(refused.text)
    assert 'value="A" selected' in refused.text  # the form keeps the group chosen
    a3, c3, b1 = (f"/admin/people/{uid(world, n)}" for n in ("a3", "c3", "b1"))
    out = follow(client, post(client, f"{a3}/move", {"group": ""}, page), a3)
    assert text_of(out, "admin-done") == "a3 is in no group now."
    # A: a1 (m), a2 (m); a woman fits, a third man breaks the gender rule
    assert post(client, f"{c3}/move", {"group": "A"}, page).status_code == 303
    post(client, f"{c3}/move", {"group": "C"}, page)
    man = post(client, f"{b1}/move", {"group": "A", "reason": " "}, page)
    assert man.status_code == 409 and "breaks the gender rule" in man.text
    unknown = post(client, f"{b1}/move", {"group": "Z"}, page)
    assert unknown.status_code == 422
    assert text_of(unknown.text, "error-group") == "Group: choose one of the options offered."
    ok = follow(client, post(client, f"{b1}/move", {"group": "A", "reason": "only man free"}, page), b1)
    assert text_of(ok, "admin-done") == "b1 is now in group A."
    assert [(e["group"], e["problems"], e["reason"]) for e in actions(world, "membership.override")] == [
        ("A", ["gender_rule"], "only man free")]
    history = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d", "T", text_of(ok, "history"))
    assert history == "Group Role Joined Left B member T T A member T now"


def test_deactivated_person_cannot_log_in_and_their_seats_are_released(site):
    client, world = site
    member = TestClient(client.app, follow_redirects=False)
    login(member, "a1")
    assert member.get("/api/tasks/next").json()["task"]["sample_id"] == world.samples[0]
    page = f"/admin/people/{uid(world, 'a1')}"
    r = follow(client, post(client, f"{page}/active", {"active": "0"}, page), page)
    assert text_of(r, "admin-done") == ("a1 is deactivated and can no longer log in. Clips given back to the "
                                        "queue: 1.")
    assert text_of(r, "person-status") == "deactivated"
    with world.session() as session:
        assert session.scalars(select(Seat).where(Seat.holder_id == uid(world, "a1"))).all() == []
    assert member.get("/label", headers=HTML).headers["location"] == "/login?next=/label"
    again = TestClient(client.app, follow_redirects=False)
    form = csrf_of(again.get("/login", headers=HTML).text)
    denied = again.post("/login", data={"username": "a1", "password": "password-a1", "csrf_token": form})
    assert denied.status_code == 401 and "Wrong user name or password." in denied.text
    roster = client.get("/admin/people", headers=HTML).text
    assert re.search(r'id="person-a1">a1</a>.*?<td>deactivated</td>', roster, re.S)
    back = follow(client, post(client, f"{page}/active", {"active": "1"}, page), page)
    assert text_of(back, "admin-done") == "a1 can log in again."
    login(again, "a1")
    self_off = post(client, f"/admin/people/{uid(world, 'admin')}/active", {"active": "0"}, page)
    assert self_off.status_code == 409
    assert text_of(self_off.text, "admin-error").startswith("You cannot deactivate your own account.")
    assert [e["seats_released"] for e in actions(world, "user.deactivated")] == [1]


def test_token_shown_once_works_for_the_api_until_revoked(site):
    client, world = site
    page = f"/admin/people/{uid(world, 'a1')}"
    r = post(client, f"{page}/tokens", {"name": "script", "seen": "0"}, page)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert text_of(r.text, "admin-done") == "New API token for a1. Copy it now: it is shown only once."
    token = text_of(r.text, "new-token")
    assert token.startswith("emo_")
    api = TestClient(client.app)
    me = api.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["username"] == "a1"
    listing = client.get(page, headers=HTML).text
    assert token not in listing and "script" in text_of(listing, "tokens")
    token_id = re.search(r'id="revoke-(\d+)"', listing).group(1)
    revoked = follow(client, post(client, f"{page}/tokens/{token_id}/revoke", {}, page), page)
    assert text_of(revoked, "admin-done") == "The token is revoked; it no longer works."
    assert api.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert [e["name"] for e in actions(world, "token.revoked")] == ["script"]


def test_password_reset_and_role_change(site):
    client, world = site
    member = TestClient(client.app, follow_redirects=False)
    login(member, "a1")
    page = f"/admin/people/{uid(world, 'a1')}"
    short = post(client, f"{page}/password", {"password": "short"}, page)
    assert short.status_code == 422 and text_of(short.text, "admin-error").startswith("A password has at least 8")
    r = follow(client, post(client, f"{page}/password", {"password": "brand-new-pass"}, page), page)
    assert text_of(r, "admin-done") == "The password of a1 is reset; they were logged out everywhere."
    assert member.get("/label", headers=HTML).status_code == 303
    form = csrf_of(member.get("/login", headers=HTML).text)
    assert member.post("/login", data={"username": "a1", "password": "brand-new-pass", "csrf_token": form}) \
        .status_code == 303
    leader = post(client, f"{page}/role", {"role": "leader"}, page)
    assert leader.status_code == 409
    assert text_of(leader.text, "admin-error") == "That group already has a leader. group A already has a leader"
    assert 'value="leader" selected' in leader.text  # the refused choice is kept
    expert = follow(client, post(client, f"{page}/role", {"role": "expert"}, page), page)
    assert text_of(expert, "admin-done") == "a1 is now expert." and "no group" in text_of(expert, "person-summary")
    me = post(client, f"/admin/people/{uid(world, 'admin')}/role", {"role": "member"}, page)
    assert me.status_code == 409 and "last active admin" in me.text
    assert actions(world, "user.role_changed") == [{"old": "member", "new": "expert"}]


def _profiles(world) -> None:
    """Scores and genders that let the 12 leaders and members form 3 groups under the gender rule."""
    with world.session() as session:
        for i, name in enumerate(sorted(n for n in world.users if n not in ("admin", "expert"))):
            user = session.get(User, uid(world, name))
            user.gender = "f" if name.endswith("3") else "m"
            user.work_experience, user.msceit, user.education = 40 + i, 50 + 2 * i, 60
            user.culture, user.leadership = 50, 90 if name.endswith("lead") else 30 + i
        session.commit()


def test_form_groups_preview_then_apply(site):
    client, world = site
    form = {"preview": "1", "n_groups": "3", "size": "3", "leader_by": "lp", "gender_rule": "1"}
    missing = client.get("/admin/groups", params=form, headers=HTML)
    assert missing.status_code == 422 and text_of(missing.text, "admin-error").startswith("Some people have no")
    _profiles(world)
    preview = client.get("/admin/groups", params=form, headers=HTML)
    assert preview.status_code == 200 and "Nothing has changed yet." in text_of(preview.text, "plan")
    assert len(re.findall(r"<tr><td>[ABC]</td>", preview.text.split('id="plan-table"')[1])) == 3
    assert actions(world, "groups.formed") == []
    signature = re.search(r'name="signature" value="(\w+)"', preview.text).group(1)
    stale = post(client, "/admin/groups/apply", {**form, "signature": "0" * 16}, "/admin/groups")
    assert stale.status_code == 422 and text_of(stale.text, "admin-error").startswith("The people changed")
    assert f'name="signature" value="{signature}"' in stale.text  # the plan as it is now, to apply instead
    too_big = client.get("/admin/groups", params={**form, "size": "4"}, headers=HTML)
    assert too_big.status_code == 422 and "over the group capacity" in too_big.text
    applied = follow(client, post(client, "/admin/groups/apply", {**form, "signature": signature}, "/admin/groups"),
                     "/admin/groups")
    assert text_of(applied, "admin-done") == ("The groups are formed: 3 groups, 12 people in all. Their sizes are "
                                              "in the table below; the People page shows who is where.")
    assert 'id="plan"' not in applied
    [formed] = actions(world, "groups.formed")
    with world.session() as session:
        for group, names in formed["plan"].items():
            members = people.current_members(session, people.group_by_name(session, group).id)
            assert sorted(session.get(User, m.user_id).username for m in members) == sorted(names)
            assert sorted(session.get(User, m.user_id).gender for m in members if m.role == "member") == \
                ["f", "m", "m"]


def _resolve(world, sample_id: str, voters: tuple[str, ...]) -> None:
    with world.session() as session:
        for name in voters:
            submit_vote(session, world.settings, session.get(User, uid(world, name)), sample_id=sample_id,
                        adjective_id=F, confidence=0.8, client_id=uuid.uuid4().hex)
        session.commit()


def test_crosscheck_draw_export_backup_and_the_audit_log(site, tmp_path):
    client, world = site
    s0, s1 = world.samples[:2]
    _resolve(world, s0, ("a1", "a2", "a3"))
    _resolve(world, s1, ("a1", "a2", "a3"))
    drawn = follow(client, post(client, "/admin/crosscheck", {"name": "sA", "set_size": "2"}, "/admin/crosscheck"),
                   "/admin/crosscheck")
    assert text_of(drawn, "admin-done") == "Cross-check sets sA drawn: 1."
    assert "sA A → B 1" in text_of(drawn, "sets")
    twice = post(client, "/admin/crosscheck", {"name": "sA", "set_size": "2"}, "/admin/crosscheck")
    assert twice.status_code == 409 and text_of(twice.text, "admin-error").startswith("Cross-check sets with this")

    archive = post(client, "/admin/export", {}, "/admin/export")
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
    assert archive.headers["content-disposition"].startswith('attachment; filename="emotions-export-')
    with zipfile.ZipFile(io.BytesIO(archive.content)) as bundle:
        assert sorted(bundle.namelist()) == ["labels.csv", "labels.parquet", "votes.csv", "votes.parquet"]
        votes = pd.read_csv(bundle.open("votes.csv"))
        labels = pd.read_parquet(io.BytesIO(bundle.read("labels.parquet")))
    assert sorted(zip(votes["sample_id"], votes["voter"], strict=True)) == sorted(
        (s, v) for s in (s0, s1) for v in ("a1", "a2", "a3"))
    assert list(labels["sample_id"]) == world.samples
    assert list(labels["final_category"][:2]) == ["Fear", "Fear"] and labels["final_category"][2:].isna().all()
    assert actions(world, "export.downloaded") == [{"labels": 6, "votes": 6}]

    made = follow(client, post(client, "/admin/backup", {}, "/admin/backup"), "/admin/backup")
    path = text_of(made, "backup-file")
    backups = world.settings.data_dir / "backups"
    assert [str(p) for p in backups.iterdir() if not p.name.endswith(".json")] == [path]
    assert text_of(made, "admin-done").startswith("Backup made. Tables: ")
    assert f", votes: 6. File: {path}" in text_of(made, "admin-done")
    assert actions(world, "backup.created")[0]["votes"] == 6

    with world.session() as session:  # a busy day: more events than one page holds
        for i in range(30):
            audit.record(session, uid(world, "a1"), "user.login", "user", uid(world, "a1"), client=f"10.0.0.{i}")
        session.commit()
    log = client.get("/admin/audit", params={"actor": "admin", "action": "backup.created"}, headers=HTML).text
    assert text_of(log, "audit-count") == "Events: 1 · page 1 of 1"
    assert "backup made" in text_of(log, "audit")
    everything = client.get("/admin/audit", headers=HTML).text
    with world.session() as session:
        total = len(session.scalars(select(AuditEvent.id)).all())
    assert total > 50 and text_of(everything, "audit-count") == f"Events: {total} · page 1 of {(total + 49) // 50}"
    older = client.get("/admin/audit", params={"page": 2}, headers=HTML).text
    assert older.count("<tr><td class=\"nowrap\">") == min(total - 50, 50) and 'id="newer"' in older
    future = client.get("/admin/audit", params={"since": "2999-01-01", "until": ""}, headers=HTML).text
    assert text_of(future, "audit-count").startswith("Events: 0")
    bad = client.get("/admin/audit", params={"since": "yesterday"}, headers=HTML)
    assert bad.status_code == 422 and text_of(bad.text, "admin-error").startswith(
        "From: enter a date like 2024-05-31.")


def test_the_person_page_and_a_refusal_are_fully_chinese(site):
    client, world = site
    post(client, "/lang", {"language": "zh-Hans", "next": "/admin"})
    page = f"/admin/people/{uid(world, 'c1')}"
    refused = post(client, f"{page}/move", {"group": "A"}, page)
    assert refused.status_code == 409
    assert text_of(refused.text, "admin-error").startswith("此次调动超出小组容量或违反性别规则。")
    allowed = set(world.users) | {"A", "B", "C"}
    assert english_words(refused.text, allowed) == set()
    issued = post(client, f"{page}/tokens", {"name": "", "seen": "0"}, page)
    assert english_words(issued.text.replace(text_of(issued.text, "new-token"), ""), allowed) == set()
