
from sqlalchemy import func, select

from annotation_app.models import AuditEvent, Vote
from annotation_app.services import importer

from .conftest import E, F, N, R, S, T, post_vote, write_manifest


def test_login_csrf_rate_limit_and_error_shape(world_factory, db_url, client_of):
    world = world_factory(db_url, passwords=("a1",))
    client = client_of(world)
    anonymous = client.get("/api/me")
    assert anonymous.status_code == 401
    assert anonymous.json() == {"error": {"code": "unauthenticated", "message": "log in first", "remedy": None}}
    cookie = anonymous.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    creds = {"username": "a1", "password": "password-a1"}
    no_csrf = client.post("/api/login", json=creds)
    assert no_csrf.status_code == 403 and no_csrf.json()["error"]["code"] == "forbidden"
    csrf = client.get("/api/csrf").json()["csrf_token"]
    ok = client.post("/api/login", json=creds, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.json()["username"] == "a1" and ok.json()["group"] == "A"
    new_csrf = ok.json()["csrf_token"]
    assert new_csrf != csrf
    # a cookie-authenticated vote needs the session's CSRF token
    assert post_vote(client, world.samples[0], F).status_code == 403
    client.headers["X-CSRF-Token"] = new_csrf
    assert post_vote(client, world.samples[0], F).status_code == 201
    # five failures lock the name out, even for the right password
    other = client_of(world)
    token = other.get("/api/csrf").json()["csrf_token"]
    for _ in range(5):
        bad = other.post("/api/login", json={**creds, "password": "wrong-pass"}, headers={"X-CSRF-Token": token})
        assert bad.status_code == 401
    locked = other.post("/api/login", json=creds, headers={"X-CSRF-Token": token})
    assert locked.status_code == 429 and locked.json()["error"]["code"] == "rate_limited"


def test_votes_through_the_api(world, client_of):
    s0, s2 = world.samples[0], world.samples[2]
    a1 = client_of(world, "a1")
    first = post_vote(a1, s0, F, 0.8, "sub-1")
    assert first.status_code == 201 and first.json()["created"] is True
    replay = post_vote(a1, s0, F, 0.8, "sub-1")
    assert replay.status_code == 200 and replay.json()["vote_id"] == first.json()["vote_id"]
    different = post_vote(a1, s0, S, 0.8)
    assert different.status_code == 409 and different.json()["error"]["code"] == "already_voted"
    assert post_vote(a1, s2, F).status_code == 404  # group B's sample
    assert post_vote(a1, s0, 999).status_code == 422
    assert post_vote(a1, s0, F, 1.5).status_code == 422
    assert a1.post("/api/votes", content="{", headers={"content-type": "application/json"}).status_code == 422
    with world.session() as session:
        assert session.scalar(select(func.count()).select_from(Vote)) == 1


def test_ladder_and_vote_visibility_through_the_api(world, client_of):
    s0 = world.samples[0]
    clients = {name: client_of(world, name) for name in ("a1", "a2", "a3", "alead", "blead", "expert")}
    for name, adj in (("a1", F), ("a2", S), ("a3", T)):
        task = clients[name].get("/api/tasks/next").json()["task"]
        assert task["sample_id"] == s0 and task["stage"] == "member"
        assert post_vote(clients[name], s0, adj, stage="member").status_code == 201
    assert clients["a1"].get(f"/api/samples/{s0}").json()["votes"] is None  # blind
    lead_task = clients["alead"].get("/api/tasks/next").json()["task"]
    assert lead_task == {"sample_id": s0, "stage": "leader", "media_url": f"/media/{s0}", "duration_s": 5.0,
                         "lease_s": world.settings.app_lease_s}
    assert clients["alead"].get(f"/api/samples/{s0}").json()["votes"] is None  # blind before voting
    assert post_vote(clients["alead"], s0, N).status_code == 201
    assert len(clients["alead"].get(f"/api/samples/{s0}").json()["votes"]) == 4
    assert clients["blead"].get("/api/tasks/next").json()["task"]["stage"] == "exchange"
    assert post_vote(clients["blead"], s0, R).status_code == 201
    detail = clients["expert"].get(f"/api/samples/{s0}").json()
    assert [v["stage"] for v in detail["votes"]] == ["member"] * 3 + ["leader", "exchange"]
    assert {v["confidence"] for v in detail["votes"]} == {0.7}
    assert clients["expert"].get("/api/tasks/next").json()["task"]["sample_id"] == s0
    assert post_vote(clients["expert"], s0, E).status_code == 201
    final = clients["expert"].get(f"/api/samples/{s0}").json()
    assert (final["status"], final["final_category"], final["decided_stage"]) == ("resolved", "Excitation", "expert")
    # MOS: the expert rates the resolved pair, once
    mos = clients["expert"].get("/api/mos/next").json()
    assert mos == {"sample_id": s0, "media_url": f"/media/{s0}", "label": "Excitation"}
    assert clients["expert"].post("/api/mos", json={"sample_id": s0, "score": 4}).status_code == 201
    assert clients["expert"].get("/api/mos/next").json() is None
    assert clients["a1"].post("/api/mos", json={"sample_id": s0, "score": 4}).status_code == 403


def test_media_access_control_and_byte_ranges(world, client_of):
    s0, s2 = world.samples[0], world.samples[2]
    a1 = client_of(world, "a1")
    whole = a1.get(f"/media/{s0}")
    assert whole.status_code == 200 and len(whole.content) == 4096
    assert whole.headers["accept-ranges"] == "bytes" and whole.headers["content-type"] == "video/mp4"
    part = a1.get(f"/media/{s0}", headers={"Range": "bytes=256-511"})
    assert part.status_code == 206 and part.content == bytes(range(256))
    assert part.headers["content-range"] == "bytes 256-511/4096"
    assert a1.get(f"/media/{s2}").status_code == 404  # other group
    assert a1.get("/media/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert client_of(world).get(f"/media/{s0}").status_code == 401
    assert client_of(world, "expert").get(f"/media/{s2}").status_code == 200
    assert client_of(world, "blead").get(f"/media/{s0}").status_code == 404  # not exchanged (yet)


def test_reports_and_exclusion(world, client_of):
    s0 = world.samples[0]
    a1, alead, blead = client_of(world, "a1"), client_of(world, "alead"), client_of(world, "blead")
    assert a1.get("/api/tasks/next").json()["task"]["sample_id"] == s0
    rid = a1.post(f"/api/samples/{s0}/report", json={"reason": "broken", "note": "<b>black</b>"}).json()["report_id"]
    assert a1.get("/api/tasks/next").json()["task"]["sample_id"] == world.samples[1]
    board = alead.get("/api/leader/dashboard").json()
    assert board["reports"] == [{"id": rid, "sample_id": s0, "reason": "broken", "note": "<b>black</b>", "by": "a1"}]
    assert [m["username"] for m in board["members"]] == ["a1", "a2", "a3"]
    assert blead.post(f"/api/reports/{rid}", json={"action": "exclude"}).status_code == 403
    assert alead.post(f"/api/reports/{rid}", json={"action": "exclude"}).json()["action"] == "exclude"
    assert alead.get(f"/api/samples/{s0}").json()["status"] == "excluded"
    assert post_vote(client_of(world, "a2"), s0, F).status_code == 409
    assert a1.get("/api/leader/dashboard").status_code == 403


def test_qualification_gates_members(world, client_of, tmp_path):
    manifest = write_manifest(tmp_path / "gold", 10, prefix="g")
    with world.session() as session:
        report = importer.import_manifest(session, manifest, gold={f"g{i}": "Fear" for i in range(10)})
        session.commit()
    assert (report.imported, report.gold, report.skipped) == (10, 10, {"rejected": 1})
    a1 = client_of(world, "a1")
    blocked = a1.get("/api/tasks/next")
    assert blocked.status_code == 403 and "qualification" in blocked.json()["error"]["message"]
    # 8 of 10 right fails (pass mark 90 %), then 9 of 10 passes
    for attempt, wrong in ((1, 2), (2, 1)):
        for i in range(10):
            state = a1.get("/api/qualification").json()
            assert state["next_sample_id"] == f"g{i}"
            assert a1.get(f"/media/g{i}").status_code == 200
            adj = S if i < wrong else F
            state = a1.post("/api/qualification/answers", json={"sample_id": f"g{i}", "adjective_id": adj}).json()
        assert state["attempts"] == attempt
    assert state["passed"] is True and state["last_score"] == 0.9
    assert a1.get("/api/tasks/next").json()["task"]["sample_id"] == world.samples[0]
    assert a1.get("/api/me").json()["qualified"] is True


def test_admin_routes_need_admin(world, client_of):
    admin, member = client_of(world, "admin"), client_of(world, "a1")
    body = {"username": "newbie", "role": "member", "group": "C", "gender": "f", "msceit": 70}
    assert member.post("/api/admin/users", json=body).status_code == 403
    full = admin.post("/api/admin/users", json=body)  # C holds 3 members already: the capacity
    assert full.status_code == 409 and full.json()["error"]["code"] == "move_needs_reason"
    body["reason"] = "a fourth voice for the pilot"
    created = admin.post("/api/admin/users", json=body)
    assert created.status_code == 201 and created.json()["group"] == "C"
    assert admin.post("/api/admin/users", json=body).status_code == 409
    token = admin.post("/api/admin/users/newbie/tokens").json()["token"]
    me = client_of(world).get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == "newbie"
    assert client_of(world).get("/api/me", headers={"Authorization": "Bearer emo_nope"}).status_code == 401
    assert admin.post("/api/admin/memberships", json={"username": "newbie", "group": "A"}).status_code == 409
    assert admin.post("/api/admin/memberships", json={"username": "newbie", "group": "A",
                                                      "reason": "cover for a1"}).status_code == 200
    progress = admin.get("/api/admin/progress").json()
    assert progress["groups"]["A"]["total"] == 2
    with world.session() as session:
        actions = {e.action for e in session.scalars(select(AuditEvent))}
    assert {"user.created", "token.created", "membership.started"} <= actions


def test_adjectives_hide_categories_from_members(world, client_of):
    member = client_of(world, "a1").get("/api/adjectives?lang=en").json()
    assert len(member) == 62 and member[0] == {"id": 1, "label": "happy", "category": None}
    zh = client_of(world, "alead").get("/api/adjectives?lang=zh-Hans").json()
    assert zh[0] == {"id": 1, "label": "开心的", "category": "Excitation"}


def test_browser_gets_html_error_pages(world, client_of):
    client = client_of(world, "a1")
    page = client.get("/no/such/page", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    api = client.get("/api/no/such")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    assert client.get("/docs").status_code == 200



def test_ids_out_of_range_are_not_found_in_the_error_shape(world, client_of):
    lead = client_of(world, "alead")
    for method, path, body in (("POST", "/api/reports/99999999999999999999", {"action": "dismiss"}),
                               ("POST", "/api/reports/0", {"action": "dismiss"}),
                               ("POST", "/api/votes/99999999999999999999/revisions",
                                {"adjective_id": F, "confidence": 0.5, "client_id": "x"}),
                               ("POST", "/api/votes/-1/revisions", {"adjective_id": F, "confidence": 0.5,
                                                                    "client_id": "y"})):
        r = lead.request(method, path, json=body)
        assert r.status_code == 404, (path, r.status_code, r.text)
        assert set(r.json()) == {"error"} and r.json()["error"]["code"] == "not_found"


def test_an_unexpected_error_is_answered_in_the_one_shape(world, client_of, monkeypatch):
    from annotation_app.services import dashboard

    def broken(*_args, **_kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(dashboard, "leader_dashboard", broken)
    lead = client_of(world, "alead")
    lead_raising = type(lead)(lead.app, raise_server_exceptions=False)
    lead_raising.headers.update(lead.headers)
    r = lead_raising.get("/api/leader/dashboard")
    assert r.status_code == 500
    assert r.json() == {"error": {"code": "server_error", "message": "something went wrong on the server",
                                  "remedy": "try again in a moment; if it keeps happening, tell the admin"}}
    page = lead_raising.get("/api/leader/dashboard", headers={"Accept": "text/html"})
    assert page.status_code == 500 and "a bug" not in page.text
